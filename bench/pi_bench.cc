// The Guard CRCs of end-to-end protection (nvm/pi.h, nvm/pi_crc.cc) over one logical block of
// 512 or 4096 bytes, against the byte-at-a-time table loop they replaced (session 7,
// docs/performance.md): bytes per second of each.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <vector>

#include "nvm/pi.h"

namespace nvemu {
namespace {

std::vector<uint8_t> Block(size_t n) {
  std::vector<uint8_t> b(n);
  uint32_t x = 12345;
  for (uint8_t& v : b) v = static_cast<uint8_t>(x = x * 1103515245u + 12345u);
  return b;
}

// The previous implementation: one table lookup per byte.
constexpr std::array<uint16_t, 256> MakeCrc16Table() {
  std::array<uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    uint16_t c = static_cast<uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b)
      c = static_cast<uint16_t>((c & 0x8000) ? (c << 1) ^ 0x8bb7 : c << 1);
    t[i] = c;
  }
  return t;
}
constexpr auto kCrc16 = MakeCrc16Table();
uint16_t Crc16Bytewise(uint16_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    crc = static_cast<uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ p[i]) & 0xff]);
  }
  return crc;
}

void BM_Crc16T10Dif(benchmark::State& state) {
  const auto b = Block(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Crc16T10Dif(0, b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
void BM_Crc16Bytewise(benchmark::State& state) {
  const auto b = Block(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Crc16Bytewise(0, b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
void BM_Crc64Nvme(benchmark::State& state) {
  const auto b = Block(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(Crc64Nvme(kCrc64Init, b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc16T10Dif)->Arg(512)->Arg(4096);
BENCHMARK(BM_Crc16Bytewise)->Arg(512)->Arg(4096);
BENCHMARK(BM_Crc64Nvme)->Arg(512)->Arg(4096);

}  // namespace
}  // namespace nvemu
