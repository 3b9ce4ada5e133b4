// SMART Controller Busy Time (NVMe Base 2.0, 5.16.1.3, Figure 207): the time at least one I/O
// command is outstanding. BusyClock / BusyTracker (core/busy_time.h) with explicit times, then the
// PCIe queue engine with a clock that moves one minute at every read, so that each busy interval
// lasts at least a minute whatever the machine's speed (no timing assertion).
#include "core/busy_time.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

constexpr uint64_t kMin = 60'000'000'000ull;

uint64_t Lo64(const uint8_t (&v)[16]) {
  uint64_t x;
  std::memcpy(&x, v, 8);
  return x;
}

TEST(BusyClock, CountsTheUnionOfTheSourcesBusyIntervals) {
  BusyClock c;
  EXPECT_EQ(c.BusyNs(100), 0u);
  c.Enter(1000);  // A busy
  EXPECT_EQ(c.BusyNs(4000), 3000u) << "the open interval up to now";
  c.Enter(2000);  // B busy too: no new interval
  c.Leave(5000);  // A idle, B still busy
  EXPECT_EQ(c.BusyNs(6000), 5000u);
  c.Leave(7000);  // B idle: [1000, 7000]
  EXPECT_EQ(c.BusyNs(7000), 6000u);
  EXPECT_EQ(c.BusyNs(90000), 6000u) << "idle time is not busy";
  c.Enter(10000);
  c.Leave(10000);  // zero length
  c.Enter(20000);
  c.Leave(23000);
  EXPECT_EQ(c.BusyNs(30000), 9000u);
}

TEST(BusyTracker, ReadsTheClockOnlyWhenItsSourceTurnsBusyOrIdle) {
  // A clock that counts its reads.
  class CountingClock final : public Clock {
   public:
    uint64_t NowNs() const override { return 1000 * ++reads_; }
    mutable std::atomic<uint64_t> reads_{0};
  } clock;
  BusyClock busy;
  BusyTracker t;
  for (int i = 0; i < 10; ++i) t.Begin(busy, clock);
  EXPECT_EQ(clock.reads_, 1u);
  EXPECT_EQ(t.outstanding(), 10u);
  for (int i = 0; i < 9; ++i) t.End();
  EXPECT_EQ(clock.reads_, 1u);
  t.End();
  EXPECT_EQ(clock.reads_, 2u);
  EXPECT_EQ(busy.BusyNs(2000), 1000u);
}

// Every read advances the clock by one minute.
class TickingClock final : public Clock {
 public:
  uint64_t NowNs() const override { return now_.fetch_add(kMin) + kMin; }

 private:
  mutable std::atomic<uint64_t> now_{0};
};

class PcieBusyTimeTest : public AdminTest {
 protected:
  PcieBusyTimeTest() { options().clock = &ticking_; }
  // The device reads its clock until it is powered off: before ticking_ goes.
  ~PcieBusyTimeTest() override { Stop(); }
  uint64_t BusyMinutes() { return Lo64(Log<nvme_smart_log>(0x02).ctrl_busy_time); }
  TickingClock ticking_;
};

// The PCIe front end reports busy time (before: always 0 on PCIe): admin commands do not count,
// each I/O command at queue depth 1 is outstanding across at least one clock read.
TEST_F(PcieBusyTimeTest, IoCommandsMakeTheControllerBusyAdminCommandsDoNot) {
  Start();
  for (int i = 0; i < 5; ++i) IdCtrl();
  EXPECT_EQ(BusyMinutes(), 0u) << "no I/O command was ever outstanding";
  DmaBuffer b = Alloc(4096);
  constexpr int kWrites = 4;
  for (int i = 0; i < kWrites; ++i) ASSERT_EQ(Io(op::kWrite, 1, i, 8, &b, 4096), st::kSuccess);
  const uint64_t after_writes = BusyMinutes();
  EXPECT_GE(after_writes, uint64_t{kWrites}) << "each command: >= 1 minute of this clock";
  for (int i = 0; i < 3; ++i) IdCtrl();
  EXPECT_EQ(BusyMinutes(), after_writes) << "idle while only admin commands run";
  ASSERT_EQ(Io(op::kRead, 1, 0, 8, &b, 4096), st::kSuccess);
  EXPECT_GE(BusyMinutes(), after_writes + 1);
}

// Under load the host queues more commands than one poll pass takes (64 per pass): every pass
// but the last leaves entries behind the ones it served, which are outstanding too, so the
// controller stays busy across the passes: one busy interval (two clock reads), not one per pass.
TEST_F(PcieBusyTimeTest, PassesBackToBackUnderLoadAreOneBusyInterval) {
  Start();
  auto q = drv().CreateIoQueuePair(2, 256);
  ASSERT_TRUE(q.ok()) << q.error().message;
  const uint64_t before = BusyMinutes();
  constexpr int kCommands = 200;  // four passes of at most 64
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_TRUE((*q)->Submit(Cmd(conformance::io::kFlush, 1), nullptr, 0, 0, /*ring=*/false).ok());
  }
  (*q)->Ring();
  int reaped = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reaped < kCommands && std::chrono::steady_clock::now() < deadline) {
    reaped += static_cast<int>((*q)->Reap([](const Cqe& c) { EXPECT_EQ(Code(c), st::kSuccess); }));
    if (reaped < kCommands) std::this_thread::yield();
  }
  ASSERT_EQ(reaped, kCommands);
  const uint64_t busy = BusyMinutes() - before;
  EXPECT_GE(busy, 1u);
  EXPECT_LT(busy, 4u) << "one interval per poll pass: the passes ended the busy time in between";
}

}  // namespace
}  // namespace nvemu::admin_test
