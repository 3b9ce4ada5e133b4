// The Guard CRCs of end-to-end protection (nvm/pi.h; NVM Command Set 1.0, 5.2.1.1 and 5.2.1.3).
//
// CRC-16 T10-DIF: ISA-L's crc16_t10dif (libisal, carry-less multiply folding, several bytes per
// cycle). Its argument is the running CRC register (no reflection, no final XOR), so a CRC can be
// continued across buffers, as Guard() does over data then metadata.
// CRC-64/NVMe: the Debian 12 ISA-L (2.30) has no CRC-64 with the NVMe polynomial (crc64_rocksoft
// came in 2.31), so it is done here. Buffers of 64 bytes or more: carry-less multiply folding
// (PCLMULQDQ, checked at run time) in four independent 16-byte lanes; the rest, and CPUs without
// PCLMULQDQ: slicing-by-8 over compile-time tables (eight bytes per step).
//
// Folding, in the reflected domain of the CRC register (bit i holds the coefficient of x^(63-i)):
// a 16-byte block B = (lo, hi) that is followed by d more bytes of message contributes
// B * x^(8d) = lo * x^(8d+64) + hi * x^(8d), and modulo P that equals
// lo * (x^(8d+64) mod P) + hi * (x^(8d) mod P): two 64x64 carry-less products, whose 127-bit sum
// replaces B d bytes further on. A reflected product comes out shifted by one bit, hence the
// constants x^(8d+63) and x^(8d-1). The folded 16 bytes have the message's residue, so the table
// CRC of them (initial register 0) then continues over the tail. Checked against the
// bit-at-a-time definition in tests/nvm/pi_test.cc.
#include <isa-l/crc.h>

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "nvm/pi.h"

namespace nvemu {
namespace {

constexpr uint64_t kCrc64PolyReflected = 0x9a6c9329ac4bc9b5ull;

// kCrc64Tables[0] is the byte-at-a-time table; kCrc64Tables[k][b] is kCrc64Tables[k - 1][b]
// advanced over one more zero byte, so eight table lookups advance the register over 8 bytes.
constexpr std::array<std::array<uint64_t, 256>, 8> MakeCrc64Tables() {
  std::array<std::array<uint64_t, 256>, 8> t{};
  for (unsigned b = 0; b < 256; ++b) {
    uint64_t c = b;
    for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kCrc64PolyReflected : c >> 1;
    t[0][b] = c;
  }
  for (unsigned b = 0; b < 256; ++b) {
    for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
  return t;
}
constexpr auto kCrc64Tables = MakeCrc64Tables();

}  // namespace

uint64_t Crc64NvmeSliced(uint64_t crc, const uint8_t* p, size_t n) {
  const auto& t = kCrc64Tables;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian: byte 0 meets the register's low byte
    crc ^= v;
    crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
          t[4][(crc >> 24) & 0xff] ^ t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^
          t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
  }
  for (; n > 0; ++p, --n) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xff];
  return crc;
}

namespace {

#if defined(__x86_64__)
// x^e mod P, reflected: the reflected 1 is bit 63, and a multiplication by x a right shift.
constexpr uint64_t XPowMod(unsigned e) {
  uint64_t r = uint64_t{1} << 63;
  for (unsigned i = 0; i < e; ++i) r = (r & 1) ? (r >> 1) ^ kCrc64PolyReflected : r >> 1;
  return r;
}

// Constants (low lane, high lane) that move a 16-byte block `bytes` further along the message.
struct FoldConstants {
  long long lo, hi;
};
constexpr FoldConstants FoldBy(unsigned bytes) {
  return {static_cast<long long>(XPowMod(8 * bytes + 63)),
          static_cast<long long>(XPowMod(8 * bytes - 1))};
}
constexpr FoldConstants kFold16 = FoldBy(16), kFold32 = FoldBy(32), kFold48 = FoldBy(48),
                        kFold64 = FoldBy(64);

__attribute__((target("pclmul"))) inline __m128i Fold(__m128i x, __m128i k) {
  return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11));
}
__attribute__((target("pclmul"))) inline __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
__attribute__((target("pclmul"))) inline __m128i K(const FoldConstants& c) {
  return _mm_set_epi64x(c.hi, c.lo);
}

// REQUIRES: n >= 64.
__attribute__((target("pclmul"))) uint64_t Crc64Folded(uint64_t crc, const uint8_t* p, size_t n) {
  __m128i x0 = _mm_xor_si128(Load(p), _mm_cvtsi64_si128(static_cast<long long>(crc)));
  __m128i x1 = Load(p + 16), x2 = Load(p + 32), x3 = Load(p + 48);
  p += 64;
  n -= 64;
  const __m128i k64 = K(kFold64);
  for (; n >= 64; p += 64, n -= 64) {
    x0 = _mm_xor_si128(Fold(x0, k64), Load(p));
    x1 = _mm_xor_si128(Fold(x1, k64), Load(p + 16));
    x2 = _mm_xor_si128(Fold(x2, k64), Load(p + 32));
    x3 = _mm_xor_si128(Fold(x3, k64), Load(p + 48));
  }
  // The four lanes into one: each moves to where the last one ends.
  __m128i x = _mm_xor_si128(_mm_xor_si128(Fold(x0, K(kFold48)), Fold(x1, K(kFold32))),
                            _mm_xor_si128(Fold(x2, K(kFold16)), x3));
  const __m128i k16 = K(kFold16);
  for (; n >= 16; p += 16, n -= 16) x = _mm_xor_si128(Fold(x, k16), Load(p));
  uint8_t folded[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(folded), x);
  return Crc64NvmeSliced(Crc64NvmeSliced(0, folded, 16), p, n);
}

// Asked on first use (a function-local static), so no static initialiser depends on the order.
bool HavePclmul() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") != 0;
  }();
  return have;
}
#endif

}  // namespace

uint16_t Crc16T10Dif(uint16_t crc, const uint8_t* p, size_t n) { return crc16_t10dif(crc, p, n); }

uint64_t Crc64Nvme(uint64_t crc, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  if (n >= 64 && HavePclmul()) return Crc64Folded(crc, p, n);
#endif
  return Crc64NvmeSliced(crc, p, n);
}

}  // namespace nvemu
