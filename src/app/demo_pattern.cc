#include "app/demo_pattern.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace nvemu::app {

void FillDemoBlock(uint8_t* block, size_t len, uint32_t nsid, uint16_t qid, uint64_t lba) {
  // xorshift64 seeded by (nsid, lba): deterministic, different for every block.
  uint64_t x = (uint64_t{nsid} << 48) ^ lba ^ 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < len; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    block[i] = static_cast<uint8_t>(x);
  }
  std::string header = fmt::format("nvemu demo nsid={} qid={} lba={:#x}\n", nsid, qid, lba);
  std::memcpy(block, header.data(), std::min(len, header.size()));
}

std::optional<size_t> FirstMismatch(const uint8_t* got, const uint8_t* want, size_t len) {
  if (std::memcmp(got, want, len) == 0) return std::nullopt;
  return static_cast<size_t>(std::mismatch(got, got + len, want).first - got);
}

}  // namespace nvemu::app
