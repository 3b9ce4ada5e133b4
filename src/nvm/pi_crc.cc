// The Guard CRCs of end-to-end protection (nvm/pi.h; NVM Command Set 1.0, 5.2.1.1 and 5.2.1.3).
//
// CRC-16 T10-DIF: ISA-L's crc16_t10dif (libisal, carry-less multiply folding, several bytes per
// cycle). Its argument is the running CRC register (no reflection, no final XOR), so a CRC can be
// continued across buffers, as Guard() does over data then metadata.
// CRC-64/NVMe: slicing-by-8 over compile-time tables (eight bytes per step instead of one; the
// Debian 12 ISA-L, 2.30, has no CRC-64 with the NVMe polynomial: crc64_rocksoft came in 2.31).
#include <isa-l/crc.h>

#include <array>
#include <cstring>

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

uint16_t Crc16T10Dif(uint16_t crc, const uint8_t* p, size_t n) { return crc16_t10dif(crc, p, n); }

uint64_t Crc64Nvme(uint64_t crc, const uint8_t* p, size_t n) {
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

}  // namespace nvemu
