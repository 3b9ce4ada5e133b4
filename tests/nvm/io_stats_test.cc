// IoStats (nvm/io_stats.h): the SMART counters (NVMe Base 2.0, 5.16.1.3) stay exact with
// single-writer shards: concurrent writers, more writers than slots (the overflow shard), and
// slots handed from exited threads to new ones.
#include "nvm/io_stats.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace nvemu {
namespace {

// Each thread counts `n` reads of `bytes` and `n` writes of 2 * `bytes`.
void CountFrom(IoStats& stats, uint64_t n, uint64_t bytes) {
  for (uint64_t i = 0; i < n; ++i) {
    stats.CountRead(bytes);
    stats.CountWrite(2 * bytes);
  }
}

void ExpectTotals(const IoStats& stats, uint64_t commands, uint64_t bytes) {
  const IoTotals t = stats.Sum();
  EXPECT_EQ(t.read_commands, commands);
  EXPECT_EQ(t.write_commands, commands);
  EXPECT_EQ(t.read_bytes, commands * bytes);
  EXPECT_EQ(t.write_bytes, commands * 2 * bytes);
}

TEST(IoStats, StartsAtZeroAndCountsOneThread) {
  IoStats stats;
  ExpectTotals(stats, 0, 512);
  CountFrom(stats, 1000, 512);
  ExpectTotals(stats, 1000, 512);
}

TEST(IoStats, ConcurrentWritersLoseNothing) {
  IoStats stats;
  constexpr int kThreads = 4;
  constexpr uint64_t kPerThread = 200'000;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] { CountFrom(stats, kPerThread, 4096); });
  for (auto& t : threads) t.join();
  ExpectTotals(stats, kThreads * kPerThread, 4096);
}

// More threads alive at once than writer slots: the extra ones share the overflow shard (atomic
// adds). Every thread first waits until all have started, so all are alive together.
TEST(IoStats, MoreConcurrentWritersThanSlots) {
  IoStats stats;
  constexpr unsigned kThreads = 2 * IoStats::kWriterSlots + 3;
  constexpr uint64_t kPerThread = 20'000;
  std::atomic<unsigned> started{0};
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      stats.CountRead(0);  // claims a slot (or the overflow shard) while all threads are alive
      started.fetch_add(1);
      while (started.load() < kThreads) std::this_thread::yield();
      CountFrom(stats, kPerThread, 8);
    });
  }
  for (auto& t : threads) t.join();
  const IoTotals t = stats.Sum();
  EXPECT_EQ(t.read_commands, kThreads * (kPerThread + 1));
  EXPECT_EQ(t.read_bytes, kThreads * kPerThread * 8);
  EXPECT_EQ(t.write_commands, kThreads * kPerThread);
  EXPECT_EQ(t.write_bytes, kThreads * kPerThread * 16);
}

// Threads that exit hand their slot to later threads; the counts of both stay.
TEST(IoStats, SlotsOfExitedThreadsKeepTheirCounts) {
  IoStats a;
  IoStats b;
  constexpr unsigned kRounds = 3 * IoStats::kWriterSlots;
  for (unsigned i = 0; i < kRounds; ++i) {
    std::thread([&] {
      CountFrom(a, 100, 1);
      CountFrom(b, 10, 3);
    }).join();
  }
  ExpectTotals(a, kRounds * 100, 1);
  ExpectTotals(b, kRounds * 10, 3);
}

}  // namespace
}  // namespace nvemu
