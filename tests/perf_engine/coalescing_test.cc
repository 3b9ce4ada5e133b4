// Interrupt coalescing (NVMe Base 2.0, 5.27.1.9 Interrupt Coalescing, 5.27.1.10 Interrupt Vector
// Configuration). Unit tests of InterruptAggregator with an explicit clock, then end to end with
// MSI-X and a ManualClock as the device's clock, so aggregation time passes only when the test
// says so (counts are exact; nothing depends on timing).
#include "pcie/coalescing.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "engine_fixture.h"

namespace nvemu::perf_engine {
namespace {

using pcie::CoalescingParams;
using pcie::DecodeCoalescing;
using pcie::InterruptAggregator;

struct Flusher {
  InterruptAggregator agg;
  std::vector<uint16_t> fired;
  uint64_t now = 0;
  std::vector<bool> cd = std::vector<bool>(8, false);
  void Flush(const CoalescingParams& p) {
    agg.Flush(
        p, [&](uint16_t iv) { return static_cast<bool>(cd[iv]); }, [&] { return now; },
        [&](uint16_t iv) { fired.push_back(iv); });
  }
};

TEST(CoalescingUnit, Decode) {
  CoalescingParams p = DecodeCoalescing(0x0a03);  // THR 3, TIME 10
  EXPECT_EQ(p.threshold, 4u);
  EXPECT_EQ(p.time_ns, 1'000'000u);
  EXPECT_TRUE(p.active());
  EXPECT_FALSE(DecodeCoalescing(0x0a00).active());  // THR 0: every entry
  EXPECT_FALSE(DecodeCoalescing(0x0003).active());  // TIME 0: no delay
}

TEST(CoalescingUnit, ThresholdThenTime) {
  Flusher f;
  const uint32_t slot = f.agg.Attach(3);
  const CoalescingParams p = DecodeCoalescing(0x0a03);
  for (int i = 0; i < 3; ++i) f.agg.Posted(slot);
  f.Flush(p);
  EXPECT_TRUE(f.fired.empty());
  EXPECT_TRUE(f.agg.HasPending());
  EXPECT_EQ(f.agg.TimeoutNs(p, f.now), 1'000'000u);
  f.agg.Posted(slot);  // the 4th entry reaches THR + 1
  f.Flush(p);
  EXPECT_EQ(f.fired, (std::vector<uint16_t>{3}));
  EXPECT_FALSE(f.agg.HasPending());
  EXPECT_EQ(f.agg.TimeoutNs(p, f.now), UINT64_MAX);

  f.agg.Posted(slot);
  f.now = 5'000;
  f.Flush(p);  // waiting since t = 5 us
  f.now = 900'000;
  f.Flush(p);
  EXPECT_EQ(f.fired.size(), 1u);
  EXPECT_EQ(f.agg.TimeoutNs(p, f.now), 105'000u);
  f.now = 1'005'000;  // TIME elapsed
  f.Flush(p);
  EXPECT_EQ(f.fired, (std::vector<uint16_t>{3, 3}));
}

TEST(CoalescingUnit, DisabledVectorAndInactiveSettingsFireAtOnce) {
  Flusher f;
  const uint32_t a = f.agg.Attach(1);
  const uint32_t b = f.agg.Attach(2);
  EXPECT_EQ(f.agg.Attach(1), a);  // one slot per vector
  f.cd[2] = true;
  f.agg.Posted(a);
  f.agg.Posted(b);
  f.Flush(DecodeCoalescing(0xff07));
  EXPECT_EQ(f.fired, (std::vector<uint16_t>{2}));  // vector 2: CD
  f.Flush(DecodeCoalescing(0));  // coalescing turned off: the waiting vector fires
  EXPECT_EQ(f.fired, (std::vector<uint16_t>{2, 1}));
}

TEST(CoalescingUnit, DetachDropsPendingAndFreesTheSlot) {
  Flusher f;
  const uint32_t a = f.agg.Attach(1);
  f.agg.Attach(1);
  f.agg.Posted(a);
  f.agg.Detach(a);
  EXPECT_TRUE(f.agg.HasPending());  // one CQ still uses vector 1
  f.agg.Detach(a);
  EXPECT_FALSE(f.agg.HasPending());
  EXPECT_EQ(f.agg.Attach(5), a);  // slot reused
}

// ---- End to end: MSI-X, notify mode, ManualClock ----

class CoalescingE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    host::DriverOptions o = Options(ProcessingMode::kNotify, host::InterruptMode::kMsix);
    o.clock = &clock_;
    d_ = Device::Start(o);
    auto q = d_.driver->CreateIoQueuePair(1, 64);
    ASSERT_TRUE(q.ok()) << q.error().message;
    q_ = *q;
  }
  uint64_t Irqs() { return d_.driver->interrupts().count(q_->vector()); }
  // Submits one Flush and waits for its completion (by phase tag, not by interrupt).
  void OneCommand() {
    auto cid = q_->Submit(FlushCmd(0));
    ASSERT_TRUE(cid.ok());
    size_t n = 0;
    ASSERT_TRUE(WaitUntil([&] {
      n += q_->Reap([](const Cqe& c) { EXPECT_EQ(c.status_field(), 0); });
      return n == 1;
    }));
  }

  ManualClock clock_;
  Device d_;
  host::IoQueue* q_ = nullptr;
};

TEST_F(CoalescingE2e, ThresholdAggregatesAndTimeFlushesTheRest) {
  ApplyFeature(d_, 0x08, 0xff03);  // THR 3 (4 entries), TIME 255 (25.5 ms)
  const uint64_t base = Irqs();
  for (int i = 0; i < 8; ++i) OneCommand();  // one per poll pass
  // Without coalescing: 8 messages. With THR = 3: one per 4 entries (the clock does not move).
  // The reactor signals at the end of the pass that posted the entry the host has just seen, so
  // the second message may still be on its way.
  EXPECT_TRUE(WaitUntil([&] { return Irqs() - base >= 2; })) << Irqs() - base;
  EXPECT_EQ(Irqs() - base, 2u);
  EXPECT_TRUE(WaitUntil([&] { return d_.group().interrupts_signalled() >= 2; }));
  EXPECT_EQ(d_.group().interrupts_signalled(), 2u);
  OneCommand();  // the 9th entry waits for the aggregation time
  // Long enough for a message the reactor would send at the end of that pass to arrive; the
  // ManualClock does not move, so the aggregation time never elapses meanwhile.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Irqs() - base, 2u);
  clock_.Advance(25'500'000);
  // The reactor's sleep ends at the (real-time) timeout it computed; then the vector fires.
  EXPECT_TRUE(WaitUntil([&] { return Irqs() - base == 3; })) << Irqs() - base;
}

TEST_F(CoalescingE2e, CoalescingDisableOnTheVector) {
  ApplyFeature(d_, 0x08, 0xff03);
  ApplyFeature(d_, 0x09, q_->vector() | (1u << 16));  // CD = 1
  const uint64_t base = Irqs();
  for (int i = 0; i < 5; ++i) OneCommand();
  EXPECT_TRUE(WaitUntil([&] { return Irqs() - base == 5; })) << Irqs() - base;
}

TEST_F(CoalescingE2e, OffByDefaultOneMessagePerPass) {
  const uint64_t base = Irqs();
  for (int i = 0; i < 5; ++i) OneCommand();
  EXPECT_TRUE(WaitUntil([&] { return Irqs() - base == 5; })) << Irqs() - base;
}

TEST_F(CoalescingE2e, AdminCompletionsAreNeverCoalesced) {
  ApplyFeature(d_, 0x08, 0xff07);
  const uint64_t base = d_.driver->interrupts().count(0);
  for (int i = 0; i < 3; ++i) {
    Sqe sqe{};
    sqe.opc = 0x0a;  // Get Features, Arbitration
    sqe.cdw10 = 0x01;
    auto c = d_.driver->Admin(sqe);
    ASSERT_TRUE(c.ok());
  }
  // The host may see the last completion before its message arrives.
  EXPECT_TRUE(WaitUntil([&] { return d_.driver->interrupts().count(0) - base >= 3; }));
  EXPECT_EQ(d_.driver->interrupts().count(0) - base, 3u);
}

}  // namespace
}  // namespace nvemu::perf_engine
