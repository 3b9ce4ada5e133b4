// Notify mode's pre-sleep spin (ReactorOptions::notify_spin_us): after work the reactor keeps
// polling for the window instead of sleeping at once, then sleeps; with 0 it sleeps at once.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "engine/reactor.h"

namespace nvemu::engine {
namespace {

class OneShotPoller : public Poller {
 public:
  uint32_t Poll(uint32_t) override { return pending.exchange(0); }
  std::atomic<uint32_t> pending{0};
};

template <typename Pred>
bool WaitFor(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

ReactorOptions Notify(uint32_t spin_us) {
  ReactorOptions o;
  o.mode = ProcessingMode::kNotify;
  o.notify_spin_us = spin_us;
  return o;
}

TEST(NotifySpin, SpinsAfterWorkInsteadOfSleeping) {
  Reactor r(Notify(60'000'000));  // a minute: the window outlasts the test
  OneShotPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return r.sleeps() == 1; }));  // idle from the start: it sleeps
  p.pending = 1;
  r.Notify();
  ASSERT_TRUE(WaitFor([&] { return r.entries() == 1; }));
  const uint64_t idle = r.idle_polls();
  // Idle passes must keep coming (waited for, not timed: a loaded machine may not run the
  // reactor for a while), and none of them may end in a sleep inside the minute-long window.
  EXPECT_TRUE(WaitFor([&] { return r.idle_polls() > idle + 1000; })) << "not polling";
  EXPECT_EQ(r.sleeps(), 1u) << "went to sleep inside the spin window";
  p.pending = 1;  // seen without Notify(): still polling
  EXPECT_TRUE(WaitFor([&] { return r.entries() == 2; }));
  r.Stop();
}

TEST(NotifySpin, ZeroSleepsAtOnce) {
  Reactor r(Notify(0));
  OneShotPoller p;
  r.AddPoller(&p);
  r.Start();
  ASSERT_TRUE(WaitFor([&] { return r.sleeps() == 1; }));
  p.pending = 1;
  r.Notify();
  EXPECT_TRUE(WaitFor([&] { return r.entries() == 1 && r.sleeps() == 2; }));
  r.Stop();
}

}  // namespace
}  // namespace nvemu::engine
