// Constants the Identify Controller data structure advertises (NVMe Base 2.0, 5.17.2.1, Figure
// 275) and that the command handlers enforce, kept in one place so they cannot disagree.
#pragma once

#include <cstdint>

namespace nvemu {

inline constexpr uint8_t kAcl = 3;             // Abort Command Limit (0's based): 4 outstanding
inline constexpr uint8_t kAerl = 3;            // Async Event Request Limit (0's based): 4
inline constexpr uint8_t kElpe = 63;           // Error Log Page Entries (0's based): 64
inline constexpr uint8_t kNpss = 1;            // Number of Power States Support (0's based): 2
inline constexpr uint16_t kKas = 1;            // Keep Alive Support: granularity 100 ms
inline constexpr uint16_t kEdsttMinutes = 10;  // Extended Device Self-test Time
inline constexpr uint64_t kShortSelfTestNs = 60'000'000'000ull;  // a short test takes 1 minute
inline constexpr uint16_t kMtfa = 10;     // Maximum Time for Firmware Activation (100 ms units)
inline constexpr uint16_t kWctemp = 343;  // Warning Composite Temperature Threshold (K)
inline constexpr uint16_t kCctemp = 358;  // Critical Composite Temperature Threshold (K)
inline constexpr uint64_t kMaxFirmwareImage = 16ull << 20;  // largest image accepted

}  // namespace nvemu
