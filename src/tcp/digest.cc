#include "tcp/digest.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace nvemu::tcp {
namespace {

constexpr uint32_t kPolyReflected = 0x82f63b78u;  // 0x1EDC6F41 bit-reversed

// Slicing-by-8 tables: kTables[0] is the classic byte table; kTables[k][b] advances kTables[k-1][b]
// by one more zero byte.
constexpr std::array<std::array<uint32_t, 256>, 8> MakeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? kPolyReflected : 0);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}
constexpr auto kTables = MakeTables();

bool DetectSse42() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

}  // namespace

bool HasSse42() {
  static const bool has = DetectSse42();
  return has;
}

uint32_t Crc32cUpdateTable(uint32_t crc, const void* data, size_t len) {
  auto* p = static_cast<const uint8_t*>(data);
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v ^= crc;
    crc = kTables[7][v & 0xff] ^ kTables[6][(v >> 8) & 0xff] ^ kTables[5][(v >> 16) & 0xff] ^
          kTables[4][(v >> 24) & 0xff] ^ kTables[3][(v >> 32) & 0xff] ^
          kTables[2][(v >> 40) & 0xff] ^ kTables[1][(v >> 48) & 0xff] ^ kTables[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) crc = (crc >> 8) ^ kTables[0][(crc ^ *p++) & 0xff];
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Crc32cUpdateSse42(uint32_t crc, const void* data,
                                                             size_t len) {
  auto* p = static_cast<const uint8_t*>(data);
  uint64_t c = crc;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
    p += 8;
    len -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (len--) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
}
#else
uint32_t Crc32cUpdateSse42(uint32_t crc, const void* data, size_t len) {
  return Crc32cUpdateTable(crc, data, len);
}
#endif

uint32_t Crc32cUpdate(uint32_t state, const void* data, size_t len) {
  return HasSse42() ? Crc32cUpdateSse42(state, data, len) : Crc32cUpdateTable(state, data, len);
}

}  // namespace nvemu::tcp
