// Tests of the Reactor (src/engine/reactor.cc): messages (Post/RunSync), pollers, and the three
// processing modes (poll, notify, timer) described in docs/architecture.md.
#include "engine/reactor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace nvemu::engine {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Spins (yielding) until `pred` holds or `timeout` passes; returns pred().
template <typename Pred>
bool WaitFor(Pred pred, milliseconds timeout = milliseconds(10000)) {
  auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

// A poller over a counter of published work items. Producers add to `pending` and then call
// Reactor::Notify(); Poll() consumes up to `budget` items. All operations are seq_cst, as the
// notify-mode handshake requires of the work a producer publishes.
class CountingPoller : public Poller {
 public:
  // `greedy`: always has work (an endless queue); `cap`: at most this many items per Poll (0 =
  // budget).
  explicit CountingPoller(bool greedy = false, uint32_t cap = 0) : greedy_(greedy), cap_(cap) {}

  uint32_t Poll(uint32_t budget) override {
    calls.fetch_add(1);
    thread_id.store(std::this_thread::get_id());
    uint32_t seen = max_budget.load();
    while (budget > seen && !max_budget.compare_exchange_weak(seen, budget)) {
    }
    if (budget < min_budget.load()) min_budget.store(budget);
    budgets_seen_mask.fetch_or(budget < 64 ? (1ull << budget) : (1ull << 63));
    uint32_t want = cap_ != 0 ? std::min(cap_, budget) : budget;
    uint32_t n;
    if (greedy_) {
      n = want;
    } else {
      uint64_t avail = pending.load();
      do {
        n = static_cast<uint32_t>(std::min<uint64_t>(avail, want));
        if (n == 0) return 0;
      } while (!pending.compare_exchange_weak(avail, avail - n));
    }
    processed.fetch_add(n);
    return n;
  }

  std::atomic<uint64_t> pending{0};
  std::atomic<uint64_t> processed{0};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint32_t> max_budget{0};
  std::atomic<uint32_t> min_budget{UINT32_MAX};
  std::atomic<uint64_t> budgets_seen_mask{0};  // bit b set: Poll was called with budget b
  std::atomic<std::thread::id> thread_id{};

 private:
  const bool greedy_;
  const uint32_t cap_;
};

ReactorOptions Options(ProcessingMode mode) {
  ReactorOptions o;
  o.name = "test";
  o.mode = mode;
  o.timer_period_us = 50;
  o.entries_per_tick = 4;
  o.poll_budget = 16;
  return o;
}

std::string ModeName(const ::testing::TestParamInfo<ProcessingMode>& info) {
  switch (info.param) {
    case ProcessingMode::kPoll:
      return "Poll";
    case ProcessingMode::kNotify:
      return "Notify";
    case ProcessingMode::kTimer:
      return "Timer";
  }
  return "Unknown";
}

// ---------------------------------------------------------------------------------------------
// Behaviour common to every processing mode.

class ReactorModeTest : public ::testing::TestWithParam<ProcessingMode> {
 protected:
  ReactorOptions options() const { return Options(GetParam()); }
};

TEST_P(ReactorModeTest, StartStopRunningAndIdempotentStop) {
  Reactor r(options());
  EXPECT_FALSE(r.Running());
  EXPECT_EQ(r.mode(), GetParam());
  EXPECT_EQ(r.name(), "test");
  r.Stop();  // not started: a no-op
  r.Start();
  EXPECT_TRUE(r.Running());
  EXPECT_FALSE(r.OnThread());
  r.Stop();
  EXPECT_FALSE(r.Running());
  EXPECT_FALSE(r.OnThread());
  r.Stop();  // idempotent
  EXPECT_FALSE(r.Running());
}

TEST_P(ReactorModeTest, StopJoinsTheThread) {
  auto r = std::make_unique<Reactor>(options());
  std::atomic<bool> in_fn{false};
  std::atomic<bool> fn_done{false};
  r->Start();
  r->Post([&] {
    in_fn = true;
    std::this_thread::sleep_for(milliseconds(50));
    fn_done = true;
  });
  ASSERT_TRUE(WaitFor([&] { return in_fn.load(); }));
  r->Stop();
  // Stop returned after the reactor thread finished what it was running.
  EXPECT_TRUE(fn_done.load());
  r.reset();  // destructor after Stop
}

TEST_P(ReactorModeTest, DestructorStopsARunningReactor) {
  std::atomic<uint64_t> ran{0};
  {
    Reactor r(options());
    r.Start();
    r.RunSync([&] { ran++; });
  }
  EXPECT_EQ(ran.load(), 1u);
}

TEST_P(ReactorModeTest, RestartAfterStop) {
  Reactor r(options());
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  r.Stop();
  r.Start();
  EXPECT_TRUE(r.Running());
  std::thread::id id;
  r.RunSync([&] { id = std::this_thread::get_id(); });
  EXPECT_NE(id, std::this_thread::get_id());
  p.pending += 10;
  r.Notify();
  EXPECT_TRUE(WaitFor([&] { return p.processed.load() == 10; }));
  r.Stop();
}

TEST_P(ReactorModeTest, PollerRunsOnTheReactorThread) {
  Reactor r(options());
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return p.calls.load() > 0; }));
  std::thread::id reactor_id;
  r.RunSync([&] { reactor_id = std::this_thread::get_id(); });
  EXPECT_EQ(p.thread_id.load(), reactor_id);
  EXPECT_NE(reactor_id, std::this_thread::get_id());
  r.Stop();
}

TEST_P(ReactorModeTest, PostRunsOnTheReactorThread) {
  Reactor r(options());
  r.Start();
  std::promise<std::pair<std::thread::id, bool>> p;
  auto f = p.get_future();
  r.Post([&] { p.set_value({std::this_thread::get_id(), r.OnThread()}); });
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto [id, on_thread] = f.get();
  EXPECT_NE(id, std::this_thread::get_id());
  EXPECT_TRUE(on_thread);
  r.Stop();
}

TEST_P(ReactorModeTest, PostsRunInOrder) {
  Reactor r(options());
  r.Start();
  std::vector<int> order;  // reactor thread only
  for (int i = 0; i < 100; ++i) r.Post([&order, i] { order.push_back(i); });
  r.RunSync([] {});
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  r.Stop();
}

TEST_P(ReactorModeTest, RunSyncFromAnotherThreadWaitsAndRunsOnTheReactor) {
  Reactor r(options());
  r.Start();
  bool done = false;  // written on the reactor, read here after RunSync: RunSync must synchronize
  std::thread::id id;
  bool on_thread = false;
  r.RunSync([&] {
    std::this_thread::sleep_for(milliseconds(30));
    id = std::this_thread::get_id();
    on_thread = r.OnThread();
    done = true;
  });
  EXPECT_TRUE(done);
  EXPECT_TRUE(on_thread);
  EXPECT_NE(id, std::this_thread::get_id());
  r.Stop();
}

TEST_P(ReactorModeTest, RunSyncFromTheReactorThreadRunsInline) {
  Reactor r(options());
  r.Start();
  std::promise<bool> p;
  auto f = p.get_future();
  r.Post([&] {
    bool inner_on_thread = false;
    bool inner_ran = false;
    r.RunSync([&] {  // would deadlock if it queued and waited
      inner_ran = true;
      inner_on_thread = r.OnThread();
    });
    p.set_value(inner_ran && inner_on_thread);
  });
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready)
      << "RunSync on the reactor thread deadlocked";
  EXPECT_TRUE(f.get());
  r.Stop();
}

TEST_P(ReactorModeTest, NestedRunSyncInsideRunSync) {
  Reactor r(options());
  r.Start();
  int depth = 0;
  auto fut = std::async(std::launch::async, [&] {
    r.RunSync([&] {
      depth = 1;
      r.RunSync([&] { depth = 2; });
    });
  });
  ASSERT_EQ(fut.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(depth, 2);
  r.Stop();
}

TEST_P(ReactorModeTest, PostAndRunSyncRunInlineWhenNotRunning) {
  Reactor r(options());
  const auto me = std::this_thread::get_id();
  std::thread::id post_id, sync_id;
  r.Post([&] { post_id = std::this_thread::get_id(); });
  EXPECT_EQ(post_id, me);  // already ran, before Post returned
  r.RunSync([&] { sync_id = std::this_thread::get_id(); });
  EXPECT_EQ(sync_id, me);
  // Also after Stop.
  r.Start();
  r.Stop();
  post_id = sync_id = std::thread::id();
  r.Post([&] { post_id = std::this_thread::get_id(); });
  r.RunSync([&] { sync_id = std::this_thread::get_id(); });
  EXPECT_EQ(post_id, me);
  EXPECT_EQ(sync_id, me);
}

TEST_P(ReactorModeTest, StopRunsMessagesPostedBeforeIt) {
  Reactor r(options());
  r.Start();
  std::atomic<int> ran{0};
  for (int i = 0; i < 1000; ++i) r.Post([&] { ran++; });
  r.Stop();
  EXPECT_EQ(ran.load(), 1000);
}

TEST_P(ReactorModeTest, PublishedWorkIsConsumed) {
  Reactor r(options());
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  for (int i = 0; i < 1000; ++i) {
    p.pending += 3;
    r.Notify();
  }
  EXPECT_TRUE(WaitFor([&] { return p.processed.load() == 3000; }))
      << "processed " << p.processed.load();
  EXPECT_EQ(p.pending.load(), 0u);
  // entries() counts what the pollers reported.
  EXPECT_TRUE(WaitFor([&] { return r.entries() == 3000; })) << r.entries();
  r.Stop();
  EXPECT_EQ(r.entries(), 3000u);
}

TEST_P(ReactorModeTest, PollerBudgetIsHonoured) {
  ReactorOptions o = options();
  Reactor r(o);
  CountingPoller p;
  r.AddPoller(&p);
  p.pending = 20000;
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return p.processed.load() == 20000; }));
  r.Stop();
  uint32_t limit = GetParam() == ProcessingMode::kTimer ? o.entries_per_tick : o.poll_budget;
  EXPECT_LE(p.max_budget.load(), limit);
  EXPECT_GE(p.min_budget.load(), 1u);
}

TEST_P(ReactorModeTest, AddAndRemovePollerWhileRunning) {
  Reactor r(options());
  CountingPoller a, b;
  r.AddPoller(&a);
  r.Start();
  r.RunSync([&] { r.AddPoller(&b); });
  b.pending += 5;
  r.Notify();
  ASSERT_TRUE(WaitFor([&] { return b.processed.load() == 5; }));
  r.RunSync([&] { r.RemovePoller(&b); });
  const uint64_t calls_after_removal = b.calls.load();
  b.pending += 5;
  r.Notify();
  a.pending += 5;  // a is still served
  r.Notify();
  ASSERT_TRUE(WaitFor([&] { return a.processed.load() == 5; }));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(b.calls.load(), calls_after_removal);
  EXPECT_EQ(b.processed.load(), 5u);
  // Removing a poller that is not registered is harmless.
  r.RunSync([&] { r.RemovePoller(&b); });
  r.RunSync([&] { r.RemovePoller(&a); });
  const uint64_t a_calls = a.calls.load();
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(a.calls.load(), a_calls);
  r.Stop();
}

TEST_P(ReactorModeTest, AddPollerWhileStopped) {
  Reactor r(options());
  CountingPoller a;
  r.AddPoller(&a);
  r.RemovePoller(&a);
  r.Start();
  std::this_thread::sleep_for(milliseconds(20));
  r.Stop();
  EXPECT_EQ(a.calls.load(), 0u);
}

TEST_P(ReactorModeTest, TwoBusyPollersBothMakeProgress) {
  Reactor r(options());
  CountingPoller a(/*greedy=*/true), b(/*greedy=*/true);
  r.AddPoller(&a);
  r.AddPoller(&b);
  r.Start();
  EXPECT_TRUE(WaitFor([&] { return a.processed.load() >= 40 && b.processed.load() >= 40; }))
      << "a=" << a.processed.load() << " b=" << b.processed.load();
  r.Stop();
}

// Post() racing with Stop(): every posted function must run exactly once (on the reactor, or inline
// once the reactor has stopped). A message queued after Stop() drained the mailbox would be lost
// and a RunSync() caller would wait forever.
TEST_P(ReactorModeTest, PostRacingWithStopIsNeverLost) {
  for (int round = 0; round < 200; ++round) {
    Reactor r(options());
    std::atomic<uint64_t> posted{0}, ran{0};
    std::atomic<bool> quit{false};
    r.Start();
    std::thread poster([&] {
      while (!quit.load()) {
        posted++;
        r.Post([&] { ran++; });
      }
    });
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    r.Stop();
    quit = true;
    poster.join();
    ASSERT_EQ(ran.load(), posted.load()) << "round " << round << ": a message posted during Stop()"
                                         << " never ran";
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, ReactorModeTest,
                         ::testing::Values(ProcessingMode::kPoll, ProcessingMode::kNotify,
                                           ProcessingMode::kTimer),
                         ModeName);

// ---------------------------------------------------------------------------------------------
// Notify mode: sleeping when idle, and the Notify() handshake.

TEST(ReactorNotifyTest, SleepsWhenIdle) {
  Reactor r(Options(ProcessingMode::kNotify));
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return r.sleeps() > 0; }));
  // Asleep, it does not spin: idle polls stop growing while nothing happens.
  std::this_thread::sleep_for(milliseconds(20));
  const uint64_t idle = r.idle_polls();
  const uint64_t calls = p.calls.load();
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_LE(r.idle_polls() - idle, 2u);
  EXPECT_LE(p.calls.load() - calls, 4u);
  // Each wake-up by a message is followed by another sleep.
  const uint64_t sleeps = r.sleeps();
  for (int i = 0; i < 5; ++i) {
    r.RunSync([] {});
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(WaitFor([&] { return r.sleeps() >= sleeps + 5; })) << r.sleeps() - sleeps;
  r.Stop();
}

TEST(ReactorNotifyTest, NotifyWakesTheSleepingReactor) {
  Reactor r(Options(ProcessingMode::kNotify));
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return r.sleeps() > 0; }));
  std::this_thread::sleep_for(milliseconds(10));
  p.pending += 1;
  r.Notify();
  EXPECT_TRUE(WaitFor([&] { return p.processed.load() == 1; }, milliseconds(2000)));
  r.Stop();
}

TEST(ReactorNotifyTest, WorkWithoutNotifyIsNotSeenWhileAsleep) {
  // The converse of the handshake: a sleeping reactor waits for Notify() (it does not spin).
  Reactor r(Options(ProcessingMode::kNotify));
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return r.sleeps() > 0; }));
  std::this_thread::sleep_for(milliseconds(20));
  p.pending += 1;
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(p.processed.load(), 0u);
  r.Notify();
  EXPECT_TRUE(WaitFor([&] { return p.processed.load() == 1; }));
  r.Stop();
}

// A producer publishes one item at a time and calls Notify(); it waits for the item to be consumed
// before publishing the next, so every round exercises the reactor's go-to-sleep path. A lost
// wake-up leaves an item unconsumed and the round times out.
TEST(ReactorNotifyTest, NoLostWakeupsPingPong) {
  Reactor r(Options(ProcessingMode::kNotify));
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  constexpr uint64_t kRounds = 100000;
  const auto start = Clock::now();
  const auto total_deadline = start + std::chrono::seconds(120);
  uint64_t round = 0;
  for (; round < kRounds; ++round) {
    p.pending.fetch_add(1);
    r.Notify();
    const auto round_deadline = Clock::now() + std::chrono::seconds(5);
    while (p.processed.load() != round + 1) {
      if (Clock::now() > round_deadline) break;
      if ((round & 7) == 0) std::this_thread::yield();  // vary the interleavings
    }
    if (p.processed.load() != round + 1) break;
    if (Clock::now() > total_deadline) break;
  }
  EXPECT_EQ(round, kRounds) << "wake-up lost in round " << round << " (processed "
                            << p.processed.load() << ", sleeps " << r.sleeps() << ")";
  EXPECT_EQ(p.processed.load(), round);
  EXPECT_GT(r.sleeps(), 0u);
  r.Stop();
  RecordProperty(
      "elapsed_ms",
      static_cast<int>(std::chrono::duration_cast<milliseconds>(Clock::now() - start).count()));
}

// Several producers publish without waiting; every item is consumed within a bounded time.
TEST(ReactorNotifyTest, NoLostWakeupsManyProducers) {
  Reactor r(Options(ProcessingMode::kNotify));
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  constexpr int kProducers = 3;
  constexpr uint64_t kPerProducer = 50000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kProducers; ++t) {
    producers.emplace_back([&, t] {
      for (uint64_t i = 0; i < kPerProducer; ++i) {
        p.pending.fetch_add(1);
        r.Notify();
        if (((i + t) % 64) == 0) std::this_thread::sleep_for(std::chrono::microseconds(1));
      }
    });
  }
  for (auto& t : producers) t.join();
  EXPECT_TRUE(
      WaitFor([&] { return p.processed.load() == kProducers * kPerProducer; }, milliseconds(10000)))
      << "processed " << p.processed.load();
  r.Stop();
}

TEST(ReactorPollTest, NeverSleeps) {
  Reactor r(Options(ProcessingMode::kPoll));
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return r.idle_polls() > 1000; }));
  r.Notify();      // harmless in poll mode
  p.pending += 7;  // seen without Notify(): it keeps polling
  EXPECT_TRUE(WaitFor([&] { return p.processed.load() == 7; }));
  std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(r.sleeps(), 0u);
  r.Stop();
  EXPECT_EQ(r.sleeps(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Timer mode: a periodic tick shares `entries_per_tick` across all pollers.

// Two pollers that always have work: per tick at most entries_per_tick entries are processed in
// total, and both pollers get some (no starvation).
TEST(ReactorTimerTest, BudgetPerTickIsSharedAcrossPollers) {
  ReactorOptions o = Options(ProcessingMode::kTimer);
  o.timer_period_us = 2000;
  o.entries_per_tick = 4;
  Reactor r(o);
  CountingPoller a(/*greedy=*/true), b(/*greedy=*/true);
  r.AddPoller(&a);
  r.AddPoller(&b);
  const auto start = Clock::now();
  r.Start();
  std::this_thread::sleep_for(milliseconds(100));
  r.Stop();
  const auto elapsed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  const uint64_t max_ticks = elapsed_us / o.timer_period_us + 2;
  const uint64_t total = a.processed.load() + b.processed.load();
  EXPECT_LE(total, max_ticks * o.entries_per_tick)
      << "a=" << a.processed.load() << " b=" << b.processed.load() << " ticks<=" << max_ticks;
  EXPECT_GT(a.processed.load(), 0u);
  EXPECT_GT(b.processed.load(), 0u);
  EXPECT_LE(a.max_budget.load(), o.entries_per_tick);
  EXPECT_LE(b.max_budget.load(), o.entries_per_tick);
  // The reactor's own counters agree: every tick was used in full, never more.
  EXPECT_GT(r.ticks(), 0u);
  EXPECT_LE(r.ticks(), max_ticks);
  EXPECT_EQ(r.max_tick_entries(), o.entries_per_tick);
  EXPECT_EQ(r.entries(), total);
  EXPECT_EQ(total, r.ticks() * o.entries_per_tick);
  // Greedy pollers use a whole tick each, so they alternate evenly.
  uint64_t lo = std::min(a.processed.load(), b.processed.load());
  uint64_t hi = std::max(a.processed.load(), b.processed.load());
  EXPECT_LE(hi - lo, 2u * o.entries_per_tick);
}

// The second poller gets what the first left of the same tick's budget.
TEST(ReactorTimerTest, LaterPollersGetTheRemainingBudgetOfTheTick) {
  ReactorOptions o = Options(ProcessingMode::kTimer);
  o.timer_period_us = 500;
  o.entries_per_tick = 4;
  Reactor r(o);
  CountingPoller a(/*greedy=*/true, /*cap=*/1), b(/*greedy=*/true);
  r.AddPoller(&a);
  r.AddPoller(&b);
  r.Start();
  EXPECT_TRUE(WaitFor([&] { return b.calls.load() >= 20; }));
  r.Stop();
  // Ticks that start at `a`: a takes 1 of 4, b is offered the remaining 3.
  EXPECT_TRUE(b.budgets_seen_mask.load() & (1ull << 3)) << std::hex << b.budgets_seen_mask.load();
  // Ticks that start at `b`: b takes all 4 and `a` is not polled in that tick.
  EXPECT_TRUE(b.budgets_seen_mask.load() & (1ull << 4));
  EXPECT_EQ(a.budgets_seen_mask.load(), 1ull << 4);
  EXPECT_EQ(b.budgets_seen_mask.load() & ~((1ull << 3) | (1ull << 4)), 0u);
}

TEST(ReactorTimerTest, ThreePollersNoStarvation) {
  ReactorOptions o = Options(ProcessingMode::kTimer);
  o.timer_period_us = 200;
  o.entries_per_tick = 2;
  Reactor r(o);
  CountingPoller a(true), b(true), c(true);
  r.AddPoller(&a);
  r.AddPoller(&b);
  r.AddPoller(&c);
  r.Start();
  EXPECT_TRUE(WaitFor([&] {
    return a.processed.load() >= 20 && b.processed.load() >= 20 && c.processed.load() >= 20;
  }));
  r.Stop();
}

TEST(ReactorTimerTest, WorkWaitsForTheTick) {
  ReactorOptions o = Options(ProcessingMode::kTimer);
  o.timer_period_us = 20000;  // 20 ms
  o.entries_per_tick = 4;
  Reactor r(o);
  CountingPoller p;
  r.AddPoller(&p);
  r.Start();
  std::this_thread::sleep_for(milliseconds(50));
  const uint64_t calls = p.calls.load();
  // About 3 ticks happened in 50 ms; a busy loop would have polled thousands of times.
  EXPECT_LE(calls, 10u);
  EXPECT_GE(calls, 1u);
  p.pending += 10;
  r.Notify();  // does nothing in timer mode
  EXPECT_TRUE(WaitFor([&] { return p.processed.load() == 10; }));
  // 10 entries at 4 per tick need at least 3 ticks.
  EXPECT_GE(p.calls.load() - calls, 3u);
  r.Stop();
  EXPECT_EQ(r.sleeps(), 0u);  // sleeps() counts notify-mode sleeps only
}

// Timer mode serves messages between ticks: with a long period, RunSync() and Stop() must not wait
// for the next tick (regression: the timer loop once slept with sleep_until, which Wake() cannot
// interrupt).
TEST(ReactorTimerTest, MessagesDoNotWaitForTheTick) {
  ReactorOptions o = Options(ProcessingMode::kTimer);
  o.timer_period_us = 2'000'000;  // 2 s
  Reactor r(o);
  r.Start();
  std::this_thread::sleep_for(milliseconds(50));  // the reactor is now sleeping towards the tick
  auto t0 = Clock::now();
  r.RunSync([] {});
  auto sync_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  EXPECT_LT(sync_ms, 500) << "RunSync waited for the timer tick";
  std::this_thread::sleep_for(milliseconds(50));
  t0 = Clock::now();
  r.Stop();
  auto stop_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - t0).count();
  EXPECT_LT(stop_ms, 500) << "Stop waited for the timer tick";
}

TEST(ReactorTimerTest, TicksFollowThePeriod) {
  ReactorOptions o = Options(ProcessingMode::kTimer);
  o.timer_period_us = 1000;
  Reactor r(o);
  CountingPoller p;
  r.AddPoller(&p);
  const auto start = Clock::now();
  r.Start();
  std::this_thread::sleep_for(milliseconds(200));
  r.Stop();
  const auto elapsed_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  const uint64_t expected = elapsed_us / o.timer_period_us;
  // Never ahead of the absolute schedule. No lower bound: a loaded machine may lose any number of
  // ticks (late ticks restart the schedule), and tests make no timing assertions.
  EXPECT_LE(r.ticks(), expected + 2) << "late_ticks " << r.late_ticks();
  EXPECT_GT(r.ticks(), 0u);
  EXPECT_EQ(r.max_tick_entries(), 0u);  // no work
  EXPECT_EQ(r.entries(), 0u);
  EXPECT_EQ(r.idle_polls(), 0u);  // idle_polls() counts poll/notify loop iterations only
}

// ---------------------------------------------------------------------------------------------
// Notify mode with poller timeouts (Poller::TimeoutNs bounds the sleep).

// A poller with one deferred item that becomes due at a fixed time, with no Notify() (like an
// interrupt coalescing deadline).
class DeferredPoller : public Poller {
 public:
  explicit DeferredPoller(Clock::time_point due) : due_(due) {}
  uint32_t Poll(uint32_t) override {
    calls.fetch_add(1);
    if (done.load() || Clock::now() < due_) return 0;
    done_at = Clock::now();
    done.store(true);
    return 1;
  }
  uint64_t TimeoutNs() override {
    if (done.load()) return kWaitForever;
    auto now = Clock::now();
    if (now >= due_) return 0;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(due_ - now).count();
  }
  std::atomic<uint64_t> calls{0};
  std::atomic<bool> done{false};
  Clock::time_point done_at;  // written before `done`

 private:
  const Clock::time_point due_;
};

TEST(ReactorNotifyTest, PollerTimeoutWakesTheReactorWithoutNotify) {
  Reactor r(Options(ProcessingMode::kNotify));
  const auto due = Clock::now() + milliseconds(40);
  DeferredPoller p(due);
  CountingPoller idle;  // no timeout of its own
  r.AddPoller(&idle);
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return p.done.load(); }, milliseconds(5000)))
      << "the deferred item was never polled again";
  EXPECT_GE(p.done_at, due);
  EXPECT_LT(p.done_at - due, milliseconds(1000));
  // It slept meanwhile (it did not spin for 40 ms).
  EXPECT_GT(r.sleeps(), 0u);
  EXPECT_LT(p.calls.load(), 5000u);
  // Afterwards the timeout is kWaitForever again: asleep, nothing polls.
  std::this_thread::sleep_for(milliseconds(20));
  const uint64_t calls = p.calls.load();
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_LE(p.calls.load() - calls, 2u);
  r.Stop();
}

TEST(ReactorNotifyTest, ShortestPollerTimeoutWins) {
  Reactor r(Options(ProcessingMode::kNotify));
  DeferredPoller late(Clock::now() + std::chrono::seconds(30));
  DeferredPoller soon(Clock::now() + milliseconds(20));
  r.AddPoller(&late);
  r.AddPoller(&soon);
  r.Start();
  EXPECT_TRUE(WaitFor([&] { return soon.done.load(); }, milliseconds(5000)));
  EXPECT_FALSE(late.done.load());
  r.Stop();
}

}  // namespace
}  // namespace nvemu::engine
