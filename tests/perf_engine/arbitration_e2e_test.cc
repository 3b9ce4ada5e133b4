// Arbitration through a running device (NVMe Base 2.0, 3.4.4): several SQs of one reactor share
// one CQ, so the order of the completions is the order in which the arbiter launched commands.
// Every SQ is filled and its doorbell rung while Bus Master Enable is off (the engine fetches
// nothing), then BME is turned on: the arbiter starts with every SQ saturated.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "engine_fixture.h"

namespace nvemu::perf_engine {
namespace {

constexpr uint16_t kPciCommand = 0x04;
constexpr uint16_t kBusMaster = 1u << 2;

struct Order {
  std::vector<uint16_t> sqids;
  std::map<uint16_t, uint32_t> Counts(size_t first, size_t n) const {
    std::map<uint16_t, uint32_t> c;
    for (size_t i = first; i < first + n && i < sqids.size(); ++i) ++c[sqids[i]];
    return c;
  }
};

// Runs `per_sq[i]` Flush commands on SQ i+1 (QPRIO prio[i]) over one 1024-entry CQ and returns the
// completion order by SQ id.
Order RunSaturated(bool wrr, uint32_t arbitration, const std::vector<uint8_t>& prio,
                   const std::vector<uint32_t>& per_sq) {
  host::DriverOptions o = Options(ProcessingMode::kPoll, host::InterruptMode::kNone);
  o.ams = wrr ? 1 : 0;
  Device d = Device::Start(o);
  ApplyFeature(d, 0x01, arbitration);
  RawCq cq(d, 1, 1024);
  std::vector<std::unique_ptr<RawSq>> sqs;
  for (size_t i = 0; i < prio.size(); ++i) {
    sqs.push_back(std::make_unique<RawSq>(d, static_cast<uint16_t>(i + 1), 1024, 1, prio[i]));
  }
  const uint32_t cmd = d.driver->device().ConfigRead(kPciCommand, 2);
  d.driver->device().ConfigWrite(kPciCommand, 2, cmd & ~kBusMaster);
  uint32_t total = 0;
  for (size_t i = 0; i < sqs.size(); ++i) {
    for (uint32_t k = 0; k < per_sq[i]; ++k) sqs[i]->Place(FlushCmd(static_cast<uint16_t>(k)));
    sqs[i]->Ring();
    total += per_sq[i];
  }
  d.driver->device().ConfigWrite(kPciCommand, 2, cmd);
  Order order;
  Cqe cqe;
  EXPECT_TRUE(WaitUntil([&] {
    while (cq.Peek(&cqe)) {
      EXPECT_EQ(cqe.status_field(), 0);
      order.sqids.push_back(cqe.sqid);
      cq.Pop();
      cq.RingHead();  // the CQ holds 1023: the engine stalls and resumes as we consume
    }
    return order.sqids.size() == total;
  }));
  return order;
}

// Arbitration feature value: AB (log2 burst, 7 = none), weights 1-based.
uint32_t Arb(uint32_t ab, uint32_t high, uint32_t medium, uint32_t low) {
  return ab | ((low - 1) << 8) | ((medium - 1) << 16) | ((high - 1) << 24);
}

bool Within(uint32_t got, double want, double tolerance) {
  return got >= want * (1 - tolerance) && got <= want * (1 + tolerance);
}

TEST(ArbitrationE2e, WeightedRoundRobinFollowsWeightsUnderSaturation) {
  // Weights 8/4/2, burst 1; 700 commands each: the first 60 rounds (840 commands) keep every SQ
  // non-empty (high needs 480).
  Order order = RunSaturated(true, Arb(0, 8, 4, 2), {1, 2, 3}, {700, 700, 700});
  auto c = order.Counts(0, 840);
  EXPECT_TRUE(Within(c[1], 480, 0.05)) << c[1];
  EXPECT_TRUE(Within(c[2], 240, 0.05)) << c[2];
  EXPECT_TRUE(Within(c[3], 120, 0.05)) << c[3];
}

TEST(ArbitrationE2e, UrgentQueueIsServedFirst) {
  Order order = RunSaturated(true, Arb(0, 4, 2, 1), {1, 0, 3}, {300, 100, 300});
  auto first = order.Counts(0, 100);
  EXPECT_EQ(first[2], 100u) << "urgent SQ 2 must complete its 100 commands before the others";
  auto next = order.Counts(100, 250);  // high:low = 4:1 while both have work
  EXPECT_TRUE(Within(next[1], 200, 0.05)) << next[1];
  EXPECT_TRUE(Within(next[3], 50, 0.05)) << next[3];
}

TEST(ArbitrationE2e, RoundRobinIgnoresPriority) {
  Order order = RunSaturated(false, Arb(0, 8, 4, 2), {1, 2, 3}, {400, 400, 400});
  auto c = order.Counts(0, 900);
  EXPECT_EQ(c[1], 300u);
  EXPECT_EQ(c[2], 300u);
  EXPECT_EQ(c[3], 300u);
}

TEST(ArbitrationE2e, RoundRobinBurst) {
  // AB = 2: four commands per turn.
  Order order = RunSaturated(false, Arb(2, 1, 1, 1), {0, 0}, {100, 100});
  ASSERT_GE(order.sqids.size(), 16u);
  EXPECT_EQ(order.Counts(0, 4), (std::map<uint16_t, uint32_t>{{1, 4}}));
  EXPECT_EQ(order.Counts(4, 4), (std::map<uint16_t, uint32_t>{{2, 4}}));
  EXPECT_EQ(order.Counts(8, 4), (std::map<uint16_t, uint32_t>{{1, 4}}));
}

}  // namespace
}  // namespace nvemu::perf_engine
