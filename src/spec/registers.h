// Controller register offsets and field accessors (NVMe Base 2.0, 3.1.3 Controller Registers).
#pragma once

#include <cstdint>

namespace nvemu::reg {

// NVMe Base 2.0, Figure 35: Controller Registers.
inline constexpr uint32_t kCap = 0x00;    // Controller Capabilities (64-bit)
inline constexpr uint32_t kVs = 0x08;     // Version
inline constexpr uint32_t kIntms = 0x0c;  // Interrupt Mask Set
inline constexpr uint32_t kIntmc = 0x10;  // Interrupt Mask Clear
inline constexpr uint32_t kCc = 0x14;     // Controller Configuration
inline constexpr uint32_t kCsts = 0x1c;   // Controller Status
inline constexpr uint32_t kNssr = 0x20;   // NVM Subsystem Reset
inline constexpr uint32_t kAqa = 0x24;    // Admin Queue Attributes
inline constexpr uint32_t kAsq = 0x28;    // Admin Submission Queue Base Address (64-bit)
inline constexpr uint32_t kAcq = 0x30;    // Admin Completion Queue Base Address (64-bit)
inline constexpr uint32_t kRegisterWindow = 0x1000;  // registers end, doorbells begin

inline constexpr uint32_t kNssrReset = 0x4E564D65;  // "NVMe"
inline constexpr uint32_t kVersion20 = 0x00020000;  // VS 2.0.0

// 3.1.3.1 CAP.
struct Cap {
  uint64_t v = 0;
  uint16_t mqes() const { return v & 0xffff; }
  bool cqr() const { return (v >> 16) & 1; }
  uint8_t ams() const { return (v >> 17) & 0x3; }
  uint8_t to() const { return (v >> 24) & 0xff; }
  uint8_t dstrd() const { return (v >> 32) & 0xf; }
  bool nssrs() const { return (v >> 36) & 1; }
  uint8_t css() const { return (v >> 37) & 0xff; }
  uint8_t mpsmin() const { return (v >> 48) & 0xf; }
  uint8_t mpsmax() const { return (v >> 52) & 0xf; }
};

// 3.1.3.5 CC.
struct Cc {
  uint32_t v = 0;
  bool en() const { return v & 1; }
  uint8_t css() const { return (v >> 4) & 0x7; }
  uint8_t mps() const { return (v >> 7) & 0xf; }
  uint8_t ams() const { return (v >> 11) & 0x7; }
  uint8_t shn() const { return (v >> 14) & 0x3; }
  uint8_t iosqes() const { return (v >> 16) & 0xf; }
  uint8_t iocqes() const { return (v >> 20) & 0xf; }
};
inline constexpr uint32_t kCcWritableMask = 0x00fffff1;  // EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES
inline constexpr uint32_t kCcFrozenWhileEnabled = 0x00003ff0;  // CSS, MPS, AMS

// 3.1.3.6 CSTS.
inline constexpr uint32_t kCstsRdy = 1u << 0;
inline constexpr uint32_t kCstsCfs = 1u << 1;
inline constexpr uint32_t kCstsShstShift = 2;
inline constexpr uint32_t kCstsShstMask = 0x3u << kCstsShstShift;
inline constexpr uint32_t kCstsNssro = 1u << 4;
inline constexpr uint32_t kShstNormal = 0;      // normal operation
inline constexpr uint32_t kShstOccurring = 1;   // shutdown processing occurring
inline constexpr uint32_t kShstComplete = 2;    // shutdown processing complete

// CC.SHN values.
inline constexpr uint8_t kShnNone = 0;
inline constexpr uint8_t kShnNormal = 1;
inline constexpr uint8_t kShnAbrupt = 2;

// CC.AMS / CAP.AMS.
inline constexpr uint8_t kAmsRoundRobin = 0;
inline constexpr uint8_t kAmsWrrUrgent = 1;
inline constexpr uint8_t kCapAmsWrrUrgent = 1u << 0;  // CAP.AMS bit 17

// 3.1.3.8 AQA.
inline constexpr uint32_t kAqaMask = 0x0fff0fff;
inline uint32_t AqaAsqs(uint32_t aqa) { return aqa & 0xfff; }
inline uint32_t AqaAcqs(uint32_t aqa) { return (aqa >> 16) & 0xfff; }
inline constexpr uint64_t kAdminQueueBaseMask = ~0xfffull;

}  // namespace nvemu::reg
