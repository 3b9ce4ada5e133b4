// Arbiter unit tests (NVMe Base 2.0, 3.4.4): round robin with burst, weighted round robin with
// urgent priority class, work conservation, rounds carried across budget-limited calls. The serve
// callback stands in for the queue group: each fake SQ holds a number of commands.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "pcie/arbitration.h"
#include "pcie/queues.h"

namespace nvemu::pcie {
namespace {

class FakeQueues {
 public:
  PcieSq* Add(uint16_t qid, QueuePriority prio, uint32_t commands) {
    auto sq = std::make_unique<PcieSq>();
    sq->qid = qid;
    sq->qprio = static_cast<uint8_t>(prio);
    left_[sq.get()] = commands;
    arbiter_.Add(sq.get());
    sqs_.push_back(std::move(sq));
    return sqs_.back().get();
  }
  uint32_t RoundRobin(const ArbitrationParams& p, uint32_t budget) {
    return arbiter_.RoundRobin(p, budget,
                               [this](PcieSq& sq, uint32_t max) { return Take(sq, max); });
  }
  uint32_t Weighted(const ArbitrationParams& p, uint32_t budget) {
    return arbiter_.WeightedRoundRobin(p, budget,
                                       [this](PcieSq& sq, uint32_t max) { return Take(sq, max); });
  }
  std::map<uint16_t, uint32_t> Counts(size_t first, size_t n) const {
    std::map<uint16_t, uint32_t> c;
    for (size_t i = first; i < first + n && i < order_.size(); ++i) ++c[order_[i]];
    return c;
  }
  const std::vector<uint16_t>& order() const { return order_; }
  Arbiter& arbiter() { return arbiter_; }

 private:
  uint32_t Take(PcieSq& sq, uint32_t max) {
    uint32_t k = std::min(max, left_[&sq]);
    left_[&sq] -= k;
    for (uint32_t i = 0; i < k; ++i) order_.push_back(sq.qid);
    return k;
  }
  std::vector<std::unique_ptr<PcieSq>> sqs_;
  std::map<PcieSq*, uint32_t> left_;
  std::vector<uint16_t> order_;
  Arbiter arbiter_;
};

ArbitrationParams Params(uint32_t burst, uint32_t high, uint32_t medium, uint32_t low) {
  ArbitrationParams p;
  p.burst = burst;
  p.weight = {high, medium, low};
  return p;
}

TEST(ArbitrationDecode, FeatureFields) {
  // AB = 2 (4 commands), LPW = 1, MPW = 3, HPW = 7 (0's based).
  ArbitrationParams p = DecodeArbitration(0x07030102);
  EXPECT_EQ(p.burst, 4u);
  EXPECT_EQ(p.weight[0], 8u);
  EXPECT_EQ(p.weight[1], 4u);
  EXPECT_EQ(p.weight[2], 2u);
  EXPECT_EQ(DecodeArbitration(0x7).burst, kNoBurstLimit);  // 111b: no limit
  EXPECT_EQ(DecodeArbitration(0x0).burst, 1u);
  EXPECT_EQ(DecodeArbitration(0xffffff06).weight[0], 256u);
}

TEST(RoundRobin, BurstPerTurn) {
  FakeQueues f;
  f.Add(1, QueuePriority::kUrgent, 100);
  f.Add(2, QueuePriority::kUrgent, 100);
  f.Add(3, QueuePriority::kUrgent, 100);
  EXPECT_EQ(f.RoundRobin(Params(2, 1, 1, 1), 12), 12u);
  EXPECT_EQ(f.order(), (std::vector<uint16_t>{1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3}));
}

TEST(RoundRobin, IgnoresPriorityAndSkipsEmptyQueues) {
  FakeQueues f;
  f.Add(1, QueuePriority::kLow, 3);
  f.Add(2, QueuePriority::kHigh, 0);
  f.Add(3, QueuePriority::kUrgent, 100);
  EXPECT_EQ(f.RoundRobin(Params(1, 1, 1, 1), 8), 8u);
  EXPECT_EQ(f.order(), (std::vector<uint16_t>{1, 3, 1, 3, 1, 3, 3, 3}));
  // Everything drained: returns what was left (103 - 8).
  EXPECT_EQ(f.RoundRobin(Params(1, 1, 1, 1), 1000), 95u);
}

TEST(RoundRobin, ContinuesWhereTheBudgetStopped) {
  FakeQueues a, b;
  for (FakeQueues* f : {&a, &b}) {
    f->Add(1, QueuePriority::kUrgent, 50);
    f->Add(2, QueuePriority::kUrgent, 50);
    f->Add(3, QueuePriority::kUrgent, 50);
  }
  a.RoundRobin(Params(1, 1, 1, 1), 90);
  for (int i = 0; i < 30; ++i) b.RoundRobin(Params(1, 1, 1, 1), 3);
  EXPECT_EQ(a.order(), b.order());
  EXPECT_EQ(a.Counts(0, 90), (std::map<uint16_t, uint32_t>{{1, 30}, {2, 30}, {3, 30}}));
}

// 3.4.4.2: weights 8/4/2 with burst 1: each round launches 8 high, 4 medium, 2 low commands.
TEST(WeightedRoundRobin, SaturatedCountsFollowTheWeights) {
  FakeQueues f;
  f.Add(1, QueuePriority::kHigh, 10000);
  f.Add(2, QueuePriority::kMedium, 10000);
  f.Add(3, QueuePriority::kLow, 10000);
  EXPECT_EQ(f.Weighted(Params(1, 8, 4, 2), 1400), 1400u);
  EXPECT_EQ(f.Counts(0, 1400), (std::map<uint16_t, uint32_t>{{1, 800}, {2, 400}, {3, 200}}));
}

TEST(WeightedRoundRobin, BudgetCutsDoNotResetTheRound) {
  FakeQueues a, b;
  for (FakeQueues* f : {&a, &b}) {
    f->Add(1, QueuePriority::kHigh, 10000);
    f->Add(2, QueuePriority::kMedium, 10000);
    f->Add(3, QueuePriority::kLow, 10000);
  }
  a.Weighted(Params(1, 8, 4, 2), 1400);
  for (int i = 0; i < 280; ++i) b.Weighted(Params(1, 8, 4, 2), 5);
  EXPECT_EQ(a.order(), b.order());
}

TEST(WeightedRoundRobin, BurstMultipliesTheGrant) {
  FakeQueues f;
  f.Add(1, QueuePriority::kHigh, 10000);
  f.Add(2, QueuePriority::kMedium, 10000);
  f.Add(3, QueuePriority::kLow, 10000);
  // Burst 4: a grant launches 4 commands; weights 2/1/1 grants -> 8/4/4 commands per round.
  f.Weighted(Params(4, 2, 1, 1), 1600);
  EXPECT_EQ(f.Counts(0, 1600), (std::map<uint16_t, uint32_t>{{1, 800}, {2, 400}, {3, 400}}));
}

TEST(WeightedRoundRobin, UrgentIsServedFirstAndStrictly) {
  FakeQueues f;
  f.Add(1, QueuePriority::kHigh, 1000);
  f.Add(2, QueuePriority::kUrgent, 40);
  f.Add(3, QueuePriority::kLow, 1000);
  f.Add(4, QueuePriority::kUrgent, 40);
  f.Weighted(Params(1, 4, 2, 1), 200);
  // The 80 urgent commands come first (round robin between the two urgent SQs).
  EXPECT_EQ(f.Counts(0, 80), (std::map<uint16_t, uint32_t>{{2, 40}, {4, 40}}));
  EXPECT_EQ(f.order()[0], 2);
  EXPECT_EQ(f.order()[1], 4);
  // Then high and low share 4:1 (medium is empty: its grants are forfeited).
  EXPECT_EQ(f.Counts(80, 120), (std::map<uint16_t, uint32_t>{{1, 96}, {3, 24}}));
}

TEST(WeightedRoundRobin, RoundRobinWithinAClass) {
  FakeQueues f;
  f.Add(1, QueuePriority::kMedium, 1000);
  f.Add(2, QueuePriority::kMedium, 1000);
  f.Add(3, QueuePriority::kLow, 1000);
  f.Weighted(Params(1, 1, 4, 1), 500);
  // Medium gets 4 grants per round, alternating between its SQs; low gets 1.
  EXPECT_EQ(f.Counts(0, 500), (std::map<uint16_t, uint32_t>{{1, 200}, {2, 200}, {3, 100}}));
}

TEST(WeightedRoundRobin, WorkConservingWhenOnlyLowHasWork) {
  FakeQueues f;
  f.Add(1, QueuePriority::kHigh, 0);
  f.Add(3, QueuePriority::kLow, 500);
  EXPECT_EQ(f.Weighted(Params(1, 8, 4, 2), 1000), 500u);
}

TEST(Arbiter, RemoveAndClear) {
  FakeQueues f;
  PcieSq* a = f.Add(1, QueuePriority::kHigh, 100);
  f.Add(2, QueuePriority::kHigh, 100);
  f.arbiter().Remove(a);
  EXPECT_EQ(f.Weighted(Params(1, 1, 1, 1), 10), 10u);
  EXPECT_EQ(f.Counts(0, 10), (std::map<uint16_t, uint32_t>{{2, 10}}));
  f.arbiter().Clear();
  EXPECT_TRUE(f.arbiter().Empty());
  EXPECT_EQ(f.RoundRobin(Params(1, 1, 1, 1), 10), 0u);
}

}  // namespace
}  // namespace nvemu::pcie
