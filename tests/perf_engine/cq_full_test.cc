// CQ full (NVMe Base 2.0, 3.3.1.3 and 3.3.3.2.1): a host that stops consuming completions. The
// engine must stop fetching the CQ's SQs (nothing lost, nothing overwritten), must not spin while
// stalled (notify mode: the reactor sleeps), and must resume as soon as the CQ head doorbell moves;
// every command then completes exactly once.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "engine_fixture.h"

namespace nvemu::perf_engine {
namespace {

// Drains the CQ, ringing its head after each batch; returns the CIDs (per SQ: cid | sqid << 16).
std::vector<uint32_t> DrainAll(RawCq& cq, size_t expected) {
  std::vector<uint32_t> got;
  Cqe cqe;
  EXPECT_TRUE(WaitUntil([&] {
    bool any = false;
    while (cq.Peek(&cqe)) {
      EXPECT_EQ(cqe.status_field(), 0);
      got.push_back(cqe.cid | (uint32_t{cqe.sqid} << 16));
      cq.Pop();
      any = true;
    }
    if (any) cq.RingHead();
    return got.size() >= expected;
  })) << got.size()
      << " of " << expected;
  return got;
}

size_t Visible(RawCq& cq) {
  // Counts the entries with the current phase without consuming them.
  RawCq copy = cq;
  size_t n = 0;
  Cqe cqe;
  while (n < 4096 && copy.Peek(&cqe)) {
    copy.Pop();
    ++n;
  }
  return n;
}

TEST(CqFull, StallsWithoutSpinningAndResumesWithEveryCompletionOnce) {
  Device d = Device::Start(Options(ProcessingMode::kNotify, host::InterruptMode::kNone));
  RawCq cq(d, 1, 16);  // holds 15 completions
  RawSq sq(d, 1, 128, 1);
  constexpr uint16_t kCommands = 100;
  for (uint16_t i = 0; i < kCommands; ++i) sq.Place(FlushCmd(i));
  ASSERT_TRUE(WaitUntil([&] { return d.reactor().sleeps() > 0; }));
  const uint64_t sleeps_before = d.reactor().sleeps();
  sq.Ring();  // wakes the reactor

  // The engine fills the CQ (15 entries), then stalls and goes back to sleep.
  ASSERT_TRUE(WaitUntil([&] { return d.group().cq_full_stalls() >= 1; }));
  ASSERT_TRUE(WaitUntil([&] { return d.reactor().sleeps() > sleeps_before; }));
  EXPECT_EQ(Visible(cq), 15u);
  EXPECT_EQ(d.group().commands(), 15u);

  // Stalled: no busy loop. Counters only move on wake-ups (there are none).
  const uint64_t idle = d.reactor().idle_polls();
  const uint64_t sleeps = d.reactor().sleeps();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LE(d.reactor().idle_polls() - idle, 1u);
  EXPECT_LE(d.reactor().sleeps() - sleeps, 1u);
  EXPECT_EQ(Visible(cq), 15u) << "nothing posted into a full CQ";
  EXPECT_EQ(d.group().commands(), 15u);

  // Resume: consume; every CID arrives exactly once, in order.
  std::vector<uint32_t> got = DrainAll(cq, kCommands);
  ASSERT_EQ(got.size(), kCommands);
  for (uint16_t i = 0; i < kCommands; ++i) EXPECT_EQ(got[i], i | (1u << 16));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Visible(cq), 0u) << "no extra completion";
  EXPECT_GE(d.group().cq_full_stalls(), 1u);
}

TEST(CqFull, SeveralSqsOnOneSmallCqLoseNothing) {
  for (ProcessingMode mode :
       {ProcessingMode::kNotify, ProcessingMode::kPoll, ProcessingMode::kTimer}) {
    Device d = Device::Start(Options(mode, host::InterruptMode::kNone));
    RawCq cq(d, 1, 8);
    RawSq a(d, 1, 256, 1), b(d, 2, 256, 1), c(d, 3, 256, 1);
    constexpr uint16_t kEach = 200;
    for (uint16_t i = 0; i < kEach; ++i) {
      a.Place(FlushCmd(i));
      b.Place(FlushCmd(i));
      c.Place(FlushCmd(i));
    }
    a.Ring();
    b.Ring();
    c.Ring();
    std::vector<uint32_t> got = DrainAll(cq, 3 * kEach);
    std::set<uint32_t> unique(got.begin(), got.end());
    EXPECT_EQ(got.size(), 3u * kEach);
    EXPECT_EQ(unique.size(), 3u * kEach) << "a completion arrived twice";
    for (uint32_t sq = 1; sq <= 3; ++sq) {
      for (uint16_t i = 0; i < kEach; ++i) EXPECT_TRUE(unique.count(i | (sq << 16)));
    }
  }
}

// The host consumes one completion at a time, only after the engine has found the CQ full: the
// engine stalls on every entry, resumes on each CQ head doorbell and sleeps in between (notify
// mode), never losing an entry. Waiting for the stall makes the count deterministic.
TEST(CqFull, ResumesOnEveryHeadDoorbell) {
  Device d = Device::Start(Options(ProcessingMode::kNotify, host::InterruptMode::kNone));
  RawCq cq(d, 1, 4);  // holds 3 completions
  RawSq sq(d, 1, 64, 1);
  constexpr uint16_t kCommands = 40;
  for (uint16_t i = 0; i < kCommands; ++i) sq.Place(FlushCmd(i));
  sq.Ring();
  std::vector<uint16_t> cids;
  uint64_t stalls_seen = 0;
  Cqe cqe;
  while (cids.size() < kCommands) {
    const size_t remaining = kCommands - cids.size();
    ASSERT_TRUE(WaitUntil([&] { return Visible(cq) >= std::min<size_t>(remaining, 3); }));
    if (remaining > 3) {
      // The engine holds the fourth command back and counts one stall for this full CQ.
      ASSERT_TRUE(WaitUntil([&] { return d.group().cq_full_stalls() > stalls_seen; }))
          << "no stall with " << cids.size() << " consumed";
      stalls_seen = d.group().cq_full_stalls();
      EXPECT_EQ(Visible(cq), 3u) << "nothing posted into a full CQ";
    }
    ASSERT_TRUE(cq.Peek(&cqe));
    cids.push_back(cqe.cid);
    cq.Pop();
    cq.RingHead();
  }
  for (uint16_t i = 0; i < kCommands; ++i) EXPECT_EQ(cids[i], i);
  EXPECT_EQ(d.group().cq_full_stalls(), kCommands - 3u);
}

}  // namespace
}  // namespace nvemu::perf_engine
