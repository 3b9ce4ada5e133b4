#include "app/demo_pattern.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace nvemu::app {
namespace {

TEST(DemoPattern, BlockStartsWithAReadableHeader) {
  std::vector<uint8_t> block(512);
  FillDemoBlock(block.data(), block.size(), 3, 2, 0x10);
  const char kHeader[] = "nvemu demo nsid=3 qid=2 lba=0x10\n";
  EXPECT_EQ(0, std::memcmp(block.data(), kHeader, sizeof(kHeader) - 1));
}

TEST(DemoPattern, DeterministicAndDifferentPerBlockAndNamespace) {
  std::vector<uint8_t> a(4096), b(4096), c(4096), d(4096);
  FillDemoBlock(a.data(), a.size(), 1, 1, 7);
  FillDemoBlock(b.data(), b.size(), 1, 1, 7);
  FillDemoBlock(c.data(), c.size(), 1, 1, 8);
  FillDemoBlock(d.data(), d.size(), 2, 1, 7);
  EXPECT_EQ(a, b);
  EXPECT_NE(0, std::memcmp(a.data() + 64, c.data() + 64, 4096 - 64)) << "tail depends on the LBA";
  EXPECT_NE(0, std::memcmp(a.data() + 64, d.data() + 64, 4096 - 64)) << "tail depends on NSID";
}

TEST(DemoPattern, ShortBlocksAreFilledWithoutOverflow) {
  std::vector<uint8_t> block(8 + 1, 0xee);
  FillDemoBlock(block.data(), 8, 1, 1, 0);
  EXPECT_EQ(0, std::memcmp(block.data(), "nvemu de", 8));
  EXPECT_EQ(block[8], 0xee);
}

TEST(DemoPattern, FirstMismatch) {
  std::vector<uint8_t> a(512), b(512);
  FillDemoBlock(a.data(), a.size(), 1, 1, 5);
  b = a;
  EXPECT_FALSE(FirstMismatch(a.data(), b.data(), a.size()).has_value());
  b[300] ^= 1;
  auto at = FirstMismatch(a.data(), b.data(), a.size());
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(*at, 300u);
}

}  // namespace
}  // namespace nvemu::app
