// What one cache line costs when it moves between two cores: the cost under every doorbell,
// SQ entry and CQ entry that the host thread and a reactor thread hand each other (issue #6,
// docs/performance.md). The single-thread queue_bench cannot show it.
//
// - BM_LinePingPong: two threads take turns writing one line (each waits for the other's
//   value): the round trip of a line between the two cores (one transfer each way).
// - BM_CompletionRing/B: a producer writes 16-byte entries with a phase tag into a ring of 64
//   (four per line) in bursts of B and waits for the consumer's head, which the consumer (polling
//   by phase tag, as the host polls a CQ) publishes after every entry: the cost per entry of a
//   CQ-like hand-off, by burst length.
//
// Each thread is pinned to its own CPU; needs two idle CPUs (skipped with fewer).
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <thread>

namespace {

bool Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

bool HaveTwoCpus() {
  cpu_set_t set;
  return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2 &&
         CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

// Pins the benchmark thread to CPU 0 for one run and restores its affinity afterwards (the
// library calls a benchmark function several times).
class PinnedToCpu0 {
 public:
  PinnedToCpu0() {
    saved_ok_ = sched_getaffinity(0, sizeof(saved_), &saved_) == 0;
    Pin(0);
  }
  ~PinnedToCpu0() {
    if (saved_ok_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }

 private:
  cpu_set_t saved_;
  bool saved_ok_ = false;
};

struct alignas(64) Line {
  std::atomic<uint64_t> v{0};
};

void BM_LinePingPong(benchmark::State& state) {
  if (!HaveTwoCpus()) return state.SkipWithError("needs CPUs 0 and 1");
  Line ping, pong;
  std::atomic<bool> stop{false};
  std::thread partner([&] {
    Pin(1);
    uint64_t seen = 0;
    while (true) {
      uint64_t v;
      while ((v = ping.v.load(std::memory_order_acquire)) == seen) {
        if (stop.load(std::memory_order_relaxed)) return;
      }
      seen = v;
      pong.v.store(v, std::memory_order_release);
    }
  });
  PinnedToCpu0 pinned;
  uint64_t n = 0;
  for (auto _ : state) {
    ping.v.store(++n, std::memory_order_release);
    while (pong.v.load(std::memory_order_acquire) != n) {
    }
  }
  stop.store(true);
  partner.join();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_LinePingPong)->UseRealTime();

struct alignas(64) Entry16x4 {
  std::atomic<uint64_t> w[8];  // four 16-byte entries: payload word, then tag word
};

void BM_CompletionRing(benchmark::State& state) {
  if (!HaveTwoCpus()) return state.SkipWithError("needs CPUs 0 and 1");
  constexpr uint32_t kEntries = 64;
  const uint32_t burst = static_cast<uint32_t>(state.range(0));
  if (burst == 0 || burst >= kEntries) return state.SkipWithError("burst must be 1..63");
  Entry16x4 ring[kEntries / 4];
  for (auto& l : ring) {
    for (auto& w : l.w) w.store(0);
  }
  Line head;  // consumer -> producer: entries consumed
  std::atomic<bool> stop{false};
  auto slot = [&](uint64_t i) -> std::atomic<uint64_t>* {
    return &ring[(i % kEntries) / 4].w[(i % 4) * 2];
  };
  std::thread consumer([&] {
    Pin(1);
    uint64_t next = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t phase = (next / kEntries) + 1;
      std::atomic<uint64_t>* e = slot(next);
      if (e[1].load(std::memory_order_acquire) != phase) continue;
      benchmark::DoNotOptimize(e[0].load(std::memory_order_relaxed));
      head.v.store(++next, std::memory_order_release);
    }
  });
  PinnedToCpu0 pinned;
  uint64_t tail = 0;
  for (auto _ : state) {
    // Room for a burst: the consumer must have taken entries up to tail + burst - kEntries.
    while (tail + burst - head.v.load(std::memory_order_acquire) > kEntries - 1) {
    }
    for (uint32_t k = 0; k < burst; ++k, ++tail) {
      std::atomic<uint64_t>* e = slot(tail);
      e[0].store(tail, std::memory_order_relaxed);
      e[1].store(tail / kEntries + 1, std::memory_order_release);  // the phase tag last
    }
  }
  while (head.v.load(std::memory_order_acquire) != tail) {
  }
  stop.store(true);
  consumer.join();
  state.SetItemsProcessed(static_cast<int64_t>(tail));
}
BENCHMARK(BM_CompletionRing)->Arg(1)->Arg(4)->Arg(8)->Arg(32)->UseRealTime();

}  // namespace
