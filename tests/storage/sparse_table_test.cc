// SparseTable (storage/sparse_table.h): chunk states (empty / filling / live) over one mapping per
// GiB region: deallocation, the fill pattern of never-written and deallocated bytes, racing first
// writers of a pattern-filled chunk, the look-ahead Prefetch hint and the zero-copy MapRead.
#include "storage/sparse_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

namespace nvemu {
namespace {

constexpr uint64_t kChunk = SparseTable::kChunkSize;
constexpr uint64_t kGiB = uint64_t{1} << 30;

MetadataFill Fill(uint8_t a, uint8_t b) {
  MetadataFill f;
  f.period = 2;
  f.bytes[0] = a;
  f.bytes[1] = b;
  return f;
}

TEST(SparseTable, DeallocatedWholeChunksReadZeroAndAreNotCounted) {
  SparseTable t(4 * kChunk);
  std::vector<uint8_t> data(2 * kChunk, 0xab);
  ASSERT_TRUE(t.Write(kChunk, data.data(), data.size()).ok());
  EXPECT_EQ(t.AllocatedBytes(), 2 * kChunk);

  t.Deallocate(kChunk, kChunk);  // the first of the two chunks, whole
  EXPECT_EQ(t.AllocatedBytes(), kChunk);
  std::vector<uint8_t> out(2 * kChunk, 0x11);
  t.Read(kChunk, out.data(), out.size());
  for (uint64_t i = 0; i < kChunk; ++i) ASSERT_EQ(out[i], 0) << i;
  for (uint64_t i = kChunk; i < 2 * kChunk; ++i) ASSERT_EQ(out[i], 0xab) << i;

  // Written again: counted again, and the new bytes read back (the rest of the chunk is zero).
  const uint8_t one = 0x5c;
  ASSERT_TRUE(t.Write(kChunk + 100, &one, 1).ok());
  EXPECT_EQ(t.AllocatedBytes(), 2 * kChunk);
  t.Read(kChunk, out.data(), kChunk);
  for (uint64_t i = 0; i < kChunk; ++i) ASSERT_EQ(out[i], i == 100 ? one : 0) << i;
}

TEST(SparseTable, PartialDeallocateZeroesOnlyItsRange) {
  SparseTable t(2 * kChunk);
  std::vector<uint8_t> data(kChunk, 0x77);
  ASSERT_TRUE(t.Write(0, data.data(), data.size()).ok());
  t.Deallocate(512, 1024);
  EXPECT_EQ(t.AllocatedBytes(), kChunk);  // a partial chunk stays allocated
  std::vector<uint8_t> out(kChunk);
  t.Read(0, out.data(), out.size());
  for (uint64_t i = 0; i < kChunk; ++i) ASSERT_EQ(out[i], i >= 512 && i < 1536 ? 0 : 0x77) << i;
  t.Deallocate(kChunk, kChunk);  // never written: nothing to do
  EXPECT_EQ(t.AllocatedBytes(), kChunk);
}

TEST(SparseTable, PatternFillReadsBackAroundWrittenBytes) {
  SparseTable t(3 * kChunk + 100, Fill(0x12, 0x34));  // the last chunk is short
  std::vector<uint8_t> out(3 * kChunk + 100);
  t.Read(0, out.data(), out.size());
  for (uint64_t i = 0; i < out.size(); ++i) ASSERT_EQ(out[i], i % 2 ? 0x34 : 0x12) << i;
  EXPECT_EQ(t.AllocatedBytes(), 0u);

  const uint8_t v[3] = {1, 2, 3};
  ASSERT_TRUE(t.Write(3 * kChunk + 50, v, 3).ok());
  EXPECT_EQ(t.AllocatedBytes(), 100u);
  t.Read(0, out.data(), out.size());
  for (uint64_t i = 0; i < out.size(); ++i) {
    const uint64_t k = i - (3 * kChunk + 50);
    const uint8_t want = k < 3 ? v[k] : (i % 2 ? 0x34 : 0x12);
    ASSERT_EQ(out[i], want) << i;
  }
  // Deallocating a pattern-filled chunk rewrites the pattern (it stays allocated).
  t.Deallocate(3 * kChunk, 100);
  t.Read(3 * kChunk, out.data(), 100);
  for (uint64_t i = 0; i < 100; ++i) ASSERT_EQ(out[i], i % 2 ? 0x34 : 0x12) << i;
}

// Many threads make the first write of the same pattern-filled chunk at once, each to its own
// bytes: the one that fills the pattern must not overwrite another's data.
TEST(SparseTable, RacingFirstWritersOfAPatternChunkKeepTheirBytes) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    SparseTable t(kChunk, Fill(0xee, 0xdd));
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&t, &ready, i] {
        std::vector<uint8_t> mine(256, static_cast<uint8_t>(i + 1));
        ready.fetch_add(1);
        while (ready.load() < kThreads) std::this_thread::yield();
        ASSERT_TRUE(t.Write(uint64_t(i) * 1024, mine.data(), mine.size()).ok());
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(t.AllocatedBytes(), kChunk);
    std::vector<uint8_t> out(kChunk);
    t.Read(0, out.data(), out.size());
    for (uint64_t b = 0; b < kChunk; ++b) {
      const uint64_t writer = b / 1024;
      const bool written = writer < kThreads && b % 1024 < 256;
      const uint8_t want = written ? static_cast<uint8_t>(writer + 1) : (b % 2 ? 0xdd : 0xee);
      ASSERT_EQ(out[b], want) << "round " << round << " byte " << b;
    }
  }
}

// Prefetch is a hint: anywhere in (or past) the table, written or not, it neither faults nor
// allocates. Regions of a multi-GiB table get their own mapping when first written.
TEST(SparseTable, PrefetchNeverAllocatesAndRegionsAreIndependent) {
  SparseTable t(3 * kGiB);
  for (uint64_t off : {uint64_t{0}, kGiB + 12345, 3 * kGiB - 64, 3 * kGiB, 4 * kGiB}) {
    t.Prefetch(off, 4096, false);
    t.Prefetch(off, 4096, true);
  }
  EXPECT_EQ(t.AllocatedBytes(), 0u);
  const uint64_t a = 1;
  const uint64_t b = 2;
  ASSERT_TRUE(t.Write(kGiB - 4, &a, sizeof(a)).ok());  // straddles the first two regions
  ASSERT_TRUE(t.Write(2 * kGiB + 8, &b, sizeof(b)).ok());
  EXPECT_EQ(t.AllocatedBytes(), 3 * kChunk);
  for (uint64_t off : {uint64_t{0}, kGiB - 4, kGiB + 12345, 2 * kGiB + 8}) {
    t.Prefetch(off, 4096, false);
  }
  uint64_t x = 0;
  t.Read(kGiB - 4, &x, sizeof(x));
  EXPECT_EQ(x, a);
  t.Read(2 * kGiB + 8, &x, sizeof(x));
  EXPECT_EQ(x, b);
  t.Read(2 * kGiB + 4096, &x, sizeof(x));  // same chunk, never written
  EXPECT_EQ(x, 0u);
  EXPECT_EQ(t.AllocatedBytes(), 3 * kChunk);
}

// MapRead (the zero-copy read path of the RAM backend): only ranges of live chunks within one GiB
// mapping map; everything else returns nullptr so that Read() supplies the fill pattern.
TEST(SparseTable, MapReadMapsOnlyLiveRangesWithinOneRegion) {
  SparseTable t(3 * kGiB);
  EXPECT_EQ(t.MapRead(0, 4096), nullptr);  // never written: no leaf
  std::vector<uint8_t> data(2 * kChunk);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  ASSERT_TRUE(t.Write(kChunk, data.data(), data.size()).ok());  // chunks 1 and 2 live
  const std::byte* p = t.MapRead(kChunk + 100, 4096);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, data.data() + 100, 4096), 0);
  // Spanning both live chunks maps too (one contiguous mapping).
  p = t.MapRead(kChunk + kChunk - 8, 16);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, data.data() + kChunk - 8, 16), 0);
  EXPECT_EQ(t.MapRead(kChunk - 8, 16), nullptr);        // chunk 0 was never written
  EXPECT_EQ(t.MapRead(3 * kChunk - 8, 16), nullptr);    // chunk 3 was never written
  EXPECT_EQ(t.MapRead(kChunk, 0), nullptr);             // empty range
  EXPECT_EQ(t.MapRead(3 * kGiB - 8, 16), nullptr);      // beyond the end
  EXPECT_EQ(t.MapRead(~uint64_t{0} - 4, 16), nullptr);  // offset + length wraps
  // Across the boundary of two GiB regions: two mappings, never one pointer.
  std::vector<uint8_t> edge(8192, 0x3c);
  ASSERT_TRUE(t.Write(kGiB - 4096, edge.data(), edge.size()).ok());
  EXPECT_NE(t.MapRead(kGiB - 4096, 4096), nullptr);
  EXPECT_NE(t.MapRead(kGiB, 4096), nullptr);
  EXPECT_EQ(t.MapRead(kGiB - 4096, 8192), nullptr);
  // Deallocated: no longer live, so no mapping (Read returns zeros).
  t.Deallocate(kChunk, kChunk);
  EXPECT_EQ(t.MapRead(kChunk + 100, 16), nullptr);
  EXPECT_NE(t.MapRead(2 * kChunk, 16), nullptr);
  EXPECT_EQ(t.AllocatedBytes(), 3 * kChunk);  // chunk 2 and the two region-edge chunks
}

}  // namespace
}  // namespace nvemu
