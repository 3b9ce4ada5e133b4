// The self-describing block content of the crash test: every byte of a 512-byte block is derived
// from (lba, tag), and the first 16 bytes hold them in clear, so a checker can tell which write a
// block came from and whether it is intact (not a mix of two writes).
#pragma once

#include <cstdint>
#include <cstring>

namespace nvemu::crash {

inline constexpr uint64_t kBlocks = 1024;

inline void Fill(uint8_t* b, uint64_t lba, uint64_t tag) {
  std::memcpy(b, &lba, 8);
  std::memcpy(b + 8, &tag, 8);
  uint64_t x = lba * 0x9e3779b97f4a7c15ull ^ tag;
  for (int i = 16; i < 512; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b[i] = static_cast<uint8_t>(x);
  }
}

// 0: never written (all zero); the tag when intact; UINT64_MAX when corrupt.
inline uint64_t Decode(const uint8_t* b, uint64_t lba) {
  bool zero = true;
  for (int i = 0; i < 512 && zero; ++i) zero = b[i] == 0;
  if (zero) return 0;
  uint64_t l, tag;
  std::memcpy(&l, b, 8);
  std::memcpy(&tag, b + 8, 8);
  if (l != lba || tag == 0) return UINT64_MAX;
  uint8_t want[512];
  Fill(want, lba, tag);
  return std::memcmp(want, b, 512) == 0 ? tag : UINT64_MAX;
}

}  // namespace nvemu::crash
