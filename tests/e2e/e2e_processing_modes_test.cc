// End to end: reads and writes in each processing mode (poll, notify, timer), with several queues
// and several commands in flight, so that every mode's wake-up and arbitration path is exercised.
#include <gtest/gtest.h>

#include "conformance/fixture.h"

namespace nvemu::conformance {
namespace {

struct ModeParam {
  const char* name;
  ProcessingMode mode;
};

class ProcessingModeTest : public ConformanceTest, public ::testing::WithParamInterface<ModeParam> {
 protected:
  DriverOptions Options() {
    DriverOptions o = SmallOptions();
    o.controller.mode = GetParam().mode;
    o.controller.timer_period_us = 50;
    o.controller.entries_per_tick = 4;
    o.controller.io_reactors = 2;
    o.controller.max_io_queues = 4;
    return o;
  }
};

TEST_P(ProcessingModeTest, ReadWrite) {
  ASSERT_TRUE(Start(Options()));
  std::vector<IoQueue*> qs;
  for (uint16_t qid = 1; qid <= 3; ++qid) {
    qs.push_back(MakeQueue(qid, 16));
    ASSERT_NE(qs.back(), nullptr);
  }
  // Sequential round trips on each queue.
  for (size_t i = 0; i < qs.size(); ++i) {
    for (int k = 0; k < 8; ++k) {
      ASSERT_EQ(RoundTrip(qs[i], 1, 1000 * i + 16 * k, 1 + k, 512, 10 * i + k), "")
          << "queue " << i + 1 << " k " << k;
    }
  }
  // A burst on every queue at once: more entries than one timer tick takes.
  constexpr int kBurst = 12;
  std::vector<std::vector<DmaBuffer>> bufs(qs.size());
  for (size_t i = 0; i < qs.size(); ++i) {
    for (int k = 0; k < kBurst; ++k) {
      DmaBuffer b = Alloc(4096);
      FillPattern(b.ptr, 4096, 77, (64 * (kBurst * i + k)) * 512);
      bufs[i].push_back(b);
      ASSERT_OK(qs[i]->Submit(WriteCmd(1, 64 * (kBurst * i + k), 8), &b, 4096, 0, false));
    }
    qs[i]->Ring();
  }
  for (size_t i = 0; i < qs.size(); ++i) {
    int done = 0;
    ASSERT_TRUE(WaitUntil([&] {
      done += static_cast<int>(qs[i]->Reap(
          [&](const Cqe& c) { EXPECT_TRUE(StatusOf(c).ok()) << StatusOf(c).ToString(); }));
      return done == kBurst;
    })) << "queue "
        << i + 1 << " completed " << done << " of " << kBurst;
  }
  for (size_t i = 0; i < qs.size(); ++i) {
    for (int k = 0; k < kBurst; ++k) {
      std::memset(bufs[i][k].ptr, 0, 4096);
      uint64_t lba = 64 * (kBurst * i + k);
      ASSERT_SUCCESS(Exec(qs[(i + 1) % qs.size()], ReadCmd(1, lba, 8), &bufs[i][k], 4096));
      EXPECT_EQ(CheckPattern(bufs[i][k].ptr, 4096, 77, lba * 512), -1) << "lba " << lba;
    }
  }
  EXPECT_OK(drv().IdentifyController());

  // Controller reset and shutdown work in every mode (the reactors are quiesced by message).
  ASSERT_OK(drv().Disable());
  ASSERT_OK(drv().Enable());
  IoQueue* q = MakeQueue(2, 16);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 5000, 8, 512, 99), "");
  ASSERT_OK(drv().Shutdown());
  EXPECT_EQ(drv().csts() & kCstsShstMask, kCstsShstComplete);
}

INSTANTIATE_TEST_SUITE_P(Modes, ProcessingModeTest,
                         ::testing::Values(ModeParam{"Poll", ProcessingMode::kPoll},
                                           ModeParam{"Notify", ProcessingMode::kNotify},
                                           ModeParam{"Timer", ProcessingMode::kTimer}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace nvemu::conformance
