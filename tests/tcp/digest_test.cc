// CRC32C (Castagnoli) against published vectors (RFC 3720 B.4, the "123456789" check value), the
// SSE4.2 and table implementations against each other, and incremental use.
#include "tcp/digest.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace nvemu::tcp {
namespace {

uint32_t Table(const void* p, size_t n) {
  return Crc32cFinish(Crc32cUpdateTable(kCrc32cInit, p, n));
}

TEST(Crc32c, CheckValue) {
  const std::string s = "123456789";
  EXPECT_EQ(Crc32c(s.data(), s.size()), 0xe3069283u);
  EXPECT_EQ(Table(s.data(), s.size()), 0xe3069283u);
}

TEST(Crc32c, Rfc3720Vectors) {
  std::vector<uint8_t> zeros(32, 0), ones(32, 0xff), inc(32), dec(32);
  std::iota(inc.begin(), inc.end(), 0);
  for (int i = 0; i < 32; ++i) dec[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(Crc32c(ones.data(), 32), 0x62a8ab43u);
  EXPECT_EQ(Crc32c(inc.data(), 32), 0x46dd794eu);
  EXPECT_EQ(Crc32c(dec.data(), 32), 0x113fdb5cu);
  EXPECT_EQ(Table(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(Table(dec.data(), 32), 0x113fdb5cu);
}

TEST(Crc32c, EmptyIsZero) { EXPECT_EQ(Crc32c(nullptr, 0), 0u); }

TEST(Crc32c, Sse42MatchesTableOnEveryLengthAndAlignment) {
  if (!HasSse42()) GTEST_SKIP() << "no SSE4.2 on this CPU";
  std::vector<uint8_t> buf(4096 + 16);
  std::mt19937 g(7);
  for (auto& b : buf) b = static_cast<uint8_t>(g());
  for (size_t align = 0; align < 8; ++align) {
    for (size_t len : {0, 1, 3, 7, 8, 9, 15, 16, 63, 64, 65, 1000, 4096}) {
      const uint8_t* p = buf.data() + align;
      EXPECT_EQ(Crc32cUpdateSse42(kCrc32cInit, p, len), Crc32cUpdateTable(kCrc32cInit, p, len))
          << "len " << len << " align " << align;
    }
  }
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  std::vector<uint8_t> buf(10000);
  std::mt19937 g(3);
  for (auto& b : buf) b = static_cast<uint8_t>(g());
  uint32_t s = kCrc32cInit;
  size_t off = 0;
  for (size_t step : {1, 7, 100, 4096, 5000}) {
    size_t n = std::min(step, buf.size() - off);
    s = Crc32cUpdate(s, buf.data() + off, n);
    off += n;
  }
  s = Crc32cUpdate(s, buf.data() + off, buf.size() - off);
  EXPECT_EQ(Crc32cFinish(s), Crc32c(buf.data(), buf.size()));
}

}  // namespace
}  // namespace nvemu::tcp
