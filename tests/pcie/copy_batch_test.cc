// CopyBatch (pcie/copy_batch.h) on its own: copies run in the order queued, RunUpTo performs only
// the pieces before its bound that have not run yet, Truncate drops pieces not yet performed,
// and Run performs the rest and empties the batch.
#include "pcie/copy_batch.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace nvemu::pcie {
namespace {

TEST(CopyBatch, RunUpToPerformsOnlyWhatIsDueAndRunTheRest) {
  std::array<uint8_t, 4> src = {1, 2, 3, 4};
  std::array<uint8_t, 4> dst = {};
  CopyBatch b;
  ASSERT_TRUE(b.Add(&dst[0], &src[0], 1));
  ASSERT_TRUE(b.Add(&dst[1], &src[1], 1));
  ASSERT_TRUE(b.Add(&dst[2], &src[2], 1));
  b.RunUpTo(1);
  EXPECT_EQ(b.done(), 1u);
  EXPECT_EQ(dst, (std::array<uint8_t, 4>{1, 0, 0, 0}));
  b.RunUpTo(1);  // nothing new is due
  EXPECT_EQ(b.copies_run(), 1u);
  b.Truncate(1);  // the two not yet performed go
  EXPECT_EQ(b.size(), 1u);
  ASSERT_TRUE(b.Add(&dst[3], &src[3], 1));
  b.RunUpTo(99);  // bounded by what is queued
  EXPECT_EQ(b.done(), 2u);
  EXPECT_EQ(dst, (std::array<uint8_t, 4>{1, 0, 0, 4}));
  b.Run();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.done(), 0u);
  EXPECT_EQ(b.copies_run(), 2u);
  // Queued one after another into the same byte: the later copy wins.
  ASSERT_TRUE(b.Add(&dst[0], &src[1], 1));
  ASSERT_TRUE(b.Add(&dst[0], &src[2], 1));
  b.Run();
  EXPECT_EQ(dst[0], 3);
  EXPECT_EQ(b.copies_run(), 4u);
}

TEST(CopyBatch, FullBatchRefusesMore) {
  uint8_t src = 7, dst = 0;
  CopyBatch b;
  for (uint32_t i = 0; i < CopyBatch::kCapacity; ++i) ASSERT_TRUE(b.Add(&dst, &src, 1));
  EXPECT_EQ(b.room(), 0u);
  EXPECT_FALSE(b.Add(&dst, &src, 1));
  b.RunUpTo(CopyBatch::kCapacity / 2);
  EXPECT_FALSE(b.Add(&dst, &src, 1)) << "performed pieces hold their slots until Run";
  b.Run();
  EXPECT_EQ(b.room(), CopyBatch::kCapacity);
  EXPECT_EQ(dst, 7);
}

}  // namespace
}  // namespace nvemu::pcie
