// Tests of the sparse RAM backend (src/storage/ram_backend.cc, sparse_table.cc).
#include "storage/ram_backend.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <latch>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "nvemu/backend.h"
#include "storage/sparse_table.h"

namespace nvemu {
namespace {

constexpr uint64_t kChunk = SparseTable::kChunkSize;
constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kTiB = uint64_t{1} << 40;

// Deterministic, position-dependent content: a byte that differs between offsets and seeds.
uint8_t Pattern(uint64_t off, uint32_t seed) {
  uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t{seed} << 32 | seed);
  x ^= x >> 29;
  return static_cast<uint8_t>(x ^ (x >> 17));
}

std::vector<uint8_t> PatternBuffer(uint64_t off, size_t len, uint32_t seed) {
  std::vector<uint8_t> buf(len);
  for (size_t i = 0; i < len; ++i) buf[i] = Pattern(off + i, seed);
  return buf;
}

// Resident set size of this process in bytes (Linux /proc/self/statm), or 0 if unavailable.
uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages_total = 0;
  uint64_t pages_resident = 0;
  if (!(statm >> pages_total >> pages_resident)) return 0;
  return pages_resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::unique_ptr<Backend> MakeOrDie(uint64_t size, uint64_t metadata_size) {
  auto backend = MakeRamBackend(size, metadata_size);
  EXPECT_NE(backend, nullptr);
  return backend;
}

TEST(RamBackendTest, ReportsSizesAndKind) {
  auto b = MakeOrDie(64 * kMiB, 512 * 1024);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->Size(), 64 * kMiB);
  EXPECT_EQ(b->MetadataSize(), 512u * 1024);
  EXPECT_STREQ(b->Kind(), "ram");
  EXPECT_EQ(b->AllocatedBytes(), 0u);
}

TEST(RamBackendTest, UnwrittenRangesReadZeroWithoutAllocating) {
  auto b = MakeOrDie(16 * kMiB, 0);
  ASSERT_NE(b, nullptr);
  std::vector<uint8_t> buf(3 * kChunk + 123, 0xa5);
  ASSERT_TRUE(b->Read(kChunk - 7, buf.data(), buf.size()).ok());
  EXPECT_TRUE(std::all_of(buf.begin(), buf.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(b->AllocatedBytes(), 0u);
}

TEST(RamBackendTest, WriteThenReadRoundTrips) {
  auto b = MakeOrDie(8 * kMiB, 0);
  ASSERT_NE(b, nullptr);
  const auto data = PatternBuffer(4096, 8192, 1);
  ASSERT_TRUE(b->Write(4096, data.data(), data.size()).ok());
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(b->Read(4096, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(b->AllocatedBytes(), kChunk);

  // Bytes around the written range are still zero, even inside the allocated chunk.
  uint8_t before[16];
  ASSERT_TRUE(b->Read(4096 - sizeof(before), before, sizeof(before)).ok());
  EXPECT_TRUE(std::all_of(std::begin(before), std::end(before), [](uint8_t v) { return v == 0; }));
}

TEST(RamBackendTest, RewriteDoesNotAllocateAgain) {
  auto b = MakeOrDie(8 * kMiB, 0);
  ASSERT_NE(b, nullptr);
  const auto first = PatternBuffer(0, 4096, 1);
  const auto second = PatternBuffer(0, 4096, 2);
  ASSERT_TRUE(b->Write(0, first.data(), first.size()).ok());
  const uint64_t allocated = b->AllocatedBytes();
  ASSERT_TRUE(b->Write(0, second.data(), second.size()).ok());
  EXPECT_EQ(b->AllocatedBytes(), allocated);
  std::vector<uint8_t> back(4096);
  ASSERT_TRUE(b->Read(0, back.data(), back.size()).ok());
  EXPECT_EQ(back, second);
}

TEST(RamBackendTest, IoCrossingChunkBoundariesWorks) {
  auto b = MakeOrDie(8 * kMiB, 0);
  ASSERT_NE(b, nullptr);
  // Starts 100 bytes before the end of chunk 1 and spans chunks 1..4.
  const uint64_t off = 2 * kChunk - 100;
  const auto data = PatternBuffer(off, 2 * kChunk + 300, 3);
  ASSERT_TRUE(b->Write(off, data.data(), data.size()).ok());
  EXPECT_EQ(b->AllocatedBytes(), 4 * kChunk);

  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(b->Read(off, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);

  // A read from the last 100 written bytes into unwritten bytes of chunk 4 and on into the never
  // allocated chunk 5: data, then zeroes.
  const uint64_t end = off + data.size();
  std::vector<uint8_t> mixed(kChunk, 0xee);
  ASSERT_TRUE(b->Read(end - 100, mixed.data(), mixed.size()).ok());
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(mixed[i], data[data.size() - 100 + i]) << i;
  for (size_t i = 100; i < mixed.size(); ++i) ASSERT_EQ(mixed[i], 0) << i;
  EXPECT_EQ(b->AllocatedBytes(), 4 * kChunk);
}

TEST(RamBackendTest, SizeNotMultipleOfChunkAllocatesOnlyTheTail) {
  const uint64_t size = 3 * kChunk + 4096;
  auto b = MakeOrDie(size, 0);
  ASSERT_NE(b, nullptr);
  const auto data = PatternBuffer(size - 512, 512, 4);
  ASSERT_TRUE(b->Write(size - 512, data.data(), data.size()).ok());
  EXPECT_EQ(b->AllocatedBytes(), 4096u);
  std::vector<uint8_t> back(512);
  ASSERT_TRUE(b->Read(size - 512, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);
}

TEST(RamBackendTest, OneTebibyteNamespaceCostsOnlyWhatWasWritten) {
  const uint64_t rss_before = ResidentBytes();
  auto b = MakeOrDie(kTiB, kTiB / 512 * 8);
  ASSERT_NE(b, nullptr);
  const uint64_t offsets[] = {0, kTiB / 2 + 12345, kTiB - 4096};
  for (uint64_t off : offsets) {
    const auto data = PatternBuffer(off, 4096, 5);
    ASSERT_TRUE(b->Write(off, data.data(), data.size()).ok()) << off;
  }
  for (uint64_t off : offsets) {
    std::vector<uint8_t> back(4096);
    ASSERT_TRUE(b->Read(off, back.data(), back.size()).ok()) << off;
    EXPECT_EQ(back, PatternBuffer(off, 4096, 5)) << off;
  }
  // kTiB / 2 + 12345 + 4096 stays in one chunk; the others are one chunk each.
  EXPECT_EQ(b->AllocatedBytes(), 3 * kChunk);

  // Reading an unwritten gigabyte region allocates nothing.
  std::vector<uint8_t> zeros(kMiB);
  ASSERT_TRUE(b->Read(kTiB / 4, zeros.data(), zeros.size()).ok());
  EXPECT_EQ(b->AllocatedBytes(), 3 * kChunk);

  // Tables + 3 chunks + 3 leaves are well under a few MiB; 64 MiB leaves slack for the allocator
  // and the test harness, and is still 1/16384 of the namespace.
  const uint64_t rss_after = ResidentBytes();
  if (rss_before != 0 && rss_after != 0) {
    EXPECT_LT(rss_after, rss_before + 64 * kMiB) << "RSS grew by " << (rss_after - rss_before);
  }
}

TEST(RamBackendTest, MetadataRoundTripsSeparatelyFromData) {
  auto b = MakeOrDie(16 * kMiB, 16 * kMiB / 512 * 8);
  ASSERT_NE(b, nullptr);
  const uint64_t off = kChunk - 8;  // crosses a chunk boundary of the metadata table
  const auto meta = PatternBuffer(off, 64, 6);
  ASSERT_TRUE(b->WriteMetadata(off, meta.data(), meta.size()).ok());
  std::vector<uint8_t> back(meta.size());
  ASSERT_TRUE(b->ReadMetadata(off, back.data(), back.size()).ok());
  EXPECT_EQ(back, meta);

  // The data image at the same offset is untouched, and data accounting excludes metadata.
  std::vector<uint8_t> data(meta.size(), 0xff);
  ASSERT_TRUE(b->Read(off, data.data(), data.size()).ok());
  EXPECT_TRUE(std::all_of(data.begin(), data.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(b->AllocatedBytes(), 0u);
}

TEST(RamBackendTest, OutOfBoundsAndOverflowingRangesAreErange) {
  auto b = MakeOrDie(kMiB, 4096);
  ASSERT_NE(b, nullptr);
  uint8_t buf[16] = {};
  EXPECT_EQ(b->Read(kMiB - 8, buf, 16).err, ERANGE);
  EXPECT_EQ(b->Write(kMiB, buf, 1).err, ERANGE);
  EXPECT_EQ(b->Write(UINT64_MAX - 4, buf, 16).err, ERANGE);  // off + len overflows
  EXPECT_EQ(b->Read(8, buf, SIZE_MAX).err, ERANGE);
  EXPECT_EQ(b->ReadMetadata(4090, buf, 16).err, ERANGE);
  EXPECT_EQ(b->WriteMetadata(UINT64_MAX, buf, 1).err, ERANGE);
  EXPECT_TRUE(b->Read(kMiB, buf, 0).ok());  // empty range at the end is fine
  EXPECT_EQ(b->AllocatedBytes(), 0u);
}

TEST(RamBackendTest, FactoryValidatesSizes) {
  EXPECT_FALSE(CreateRamBackend(0, 0).ok());
  EXPECT_EQ(MakeRamBackend(0, 0), nullptr);
  EXPECT_FALSE(CreateRamBackend(kRamBackendMaxSize + 1, 0).ok());
  EXPECT_FALSE(CreateRamBackend(kMiB, kRamBackendMaxSize + 1).ok());
  auto ok = CreateRamBackend(kMiB, 0);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok.value()->MetadataSize(), 0u);
  uint8_t byte = 0;
  EXPECT_EQ(ok.value()->WriteMetadata(0, &byte, 1).err, ERANGE);
}

TEST(RamBackendTest, FlushIsOk) {
  auto b = MakeOrDie(kMiB, 0);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->Flush().ok());
}

constexpr int kThreads = 4;
// Fresh backends per test: each round races on installing leaves and chunks again.
constexpr int kRounds = 20;

// Each thread owns a disjoint region; writes of odd sizes cross chunk boundaries, and all threads
// start together so they race to install the shared leaf and the boundary chunks.
void RunDisjointWriters() {
  const uint64_t region = 5 * kChunk + 777;  // regions share boundary chunks
  auto b = MakeOrDie(kThreads * region, 0);
  ASSERT_NE(b, nullptr);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      const uint64_t base = t * region;
      for (uint64_t done = 0; done < region;) {
        const uint64_t len = std::min<uint64_t>(region - done, 1000 + 4099 * (done % 7));
        const auto data = PatternBuffer(base + done, len, 7);
        if (!b->Write(base + done, data.data(), len).ok()) ++failures[t];
        done += len;
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << t;

  std::vector<uint8_t> back(b->Size());
  ASSERT_TRUE(b->Read(0, back.data(), back.size()).ok());
  EXPECT_EQ(back, PatternBuffer(0, back.size(), 7));
  // Every chunk was installed exactly once, however the races went.
  EXPECT_EQ(b->AllocatedBytes(), b->Size());
}

TEST(RamBackendConcurrencyTest, DisjointWritersAllLand) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    RunDisjointWriters();
    if (::testing::Test::HasFailure()) return;
  }
}

// All threads hammer the same range with their own fill byte. Afterwards every byte holds one of
// the fill bytes (the contract promises per-byte, not per-block, atomicity), and allocation
// accounting counts each chunk once.
void RunOverlappingWriters() {
  const uint64_t range = 6 * kChunk;
  auto b = MakeOrDie(range + kChunk, 0);
  ASSERT_NE(b, nullptr);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::vector<uint8_t> fill(range, static_cast<uint8_t>(t + 1));
      std::mt19937_64 rng(t);
      start.arrive_and_wait();
      // Cover the whole range once, then random overlapping pieces.
      EXPECT_TRUE(b->Write(0, fill.data(), range).ok());
      for (int i = 0; i < 200; ++i) {
        const uint64_t off = rng() % range;
        const uint64_t len = 1 + rng() % (range - off);
        EXPECT_TRUE(b->Write(off, fill.data(), len).ok());
      }
    });
  }
  for (auto& th : threads) th.join();

  std::vector<uint8_t> back(range + kChunk);
  ASSERT_TRUE(b->Read(0, back.data(), back.size()).ok());
  for (uint64_t i = 0; i < range; ++i) {
    ASSERT_TRUE(back[i] >= 1 && back[i] <= kThreads) << "byte " << i << " = " << int{back[i]};
  }
  for (uint64_t i = range; i < back.size(); ++i) ASSERT_EQ(back[i], 0) << "byte " << i;
  EXPECT_EQ(b->AllocatedBytes(), range);
}

TEST(RamBackendConcurrencyTest, OverlappingWritersLeaveOneWritersBytes) {
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE(round);
    RunOverlappingWriters();
    if (::testing::Test::HasFailure()) return;
  }
}

// Readers running concurrently with writers see either zeroes or the written pattern, never
// garbage, and never crash on a chunk being installed.
TEST(RamBackendConcurrencyTest, ReadersDuringFirstWritesSeeZeroOrData) {
  const uint64_t size = 32 * kChunk;
  auto b = MakeOrDie(size, 0);
  ASSERT_NE(b, nullptr);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  std::vector<int> bad(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      if (t < 2) {  // writers: each fills alternate 4 KiB blocks with 0x5a
        const std::vector<uint8_t> fill(4096, 0x5a);
        for (uint64_t off = t * 4096; off < size; off += 8192) {
          if (!b->Write(off, fill.data(), fill.size()).ok()) ++bad[t];
        }
      } else {  // readers
        std::vector<uint8_t> buf(3 * 4096);
        for (uint64_t off = 0; off + buf.size() <= size; off += 4096 + 512) {
          if (!b->Read(off, buf.data(), buf.size()).ok()) ++bad[t];
          for (uint8_t v : buf) {
            if (v != 0 && v != 0x5a) ++bad[t];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(bad[t], 0) << t;
  EXPECT_EQ(b->AllocatedBytes(), size);
}

}  // namespace
}  // namespace nvemu
