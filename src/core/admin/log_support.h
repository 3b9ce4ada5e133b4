// NVMe Base 2.0, 5.16.1.1 Supported Log Pages (Log Identifier 00h): 256 LID Supported and Effects
// data structures, one dword per Log Page Identifier (byte offset LID * 4):
//   bit 0      LSUPP  the controller supports the log page;
//   bit 1      IOS    the controller supports index offsets (Get Log Page CDW14 OT = 1) for it;
//   bits 31:16 LIDSP  LID Specific Parameter (e.g. the LSP values of the Discovery log, 70h).
//
// Each controller kind builds this page from the same table its Get Log Page dispatches by
// (core/admin/log_page.cc for I/O controllers, core/fabrics/discovery.cc for the Discovery
// controller), so the page lists exactly the log pages that the command returns.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

namespace nvemu {

inline constexpr uint8_t kLogSupportedLogPages = 0x00;
inline constexpr uint32_t kLidSupported = 1u << 0;    // LSUPP
inline constexpr uint32_t kLidIndexOffset = 1u << 1;  // IOS

// What a dispatch table says about one Log Page Identifier.
struct LogSupport {
  bool supported = false;
  bool index_offset = false;  // OT = 1 accepted
  uint16_t lid_specific = 0;  // LIDSP
};

inline constexpr uint32_t LidSupportedAndEffects(const LogSupport& s) {
  if (!s.supported) return 0;
  return kLidSupported | (s.index_offset ? kLidIndexOffset : 0u) | uint32_t{s.lid_specific} << 16;
}

// The 1024-byte log page; `support_of(lid)` returns the LogSupport of each LID.
template <typename F>
std::vector<uint8_t> BuildSupportedLogPages(F&& support_of) {
  std::array<uint32_t, 256> entries{};
  for (unsigned lid = 0; lid < entries.size(); ++lid) {
    entries[lid] = LidSupportedAndEffects(support_of(static_cast<uint8_t>(lid)));
  }
  std::vector<uint8_t> page(sizeof(entries));
  std::memcpy(page.data(), entries.data(), page.size());  // little-endian host (x86-64)
  return page;
}

}  // namespace nvemu
