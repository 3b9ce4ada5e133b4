// End to end through the PCIe host library: file-backed namespaces with io = "uring" (asynchronous
// completion through each I/O reactor's io_uring).
//
// - QD 32 on several queues: every CID completes exactly once with the right data.
// - Completions out of order, deterministically: an asynchronous Read and an invalid command are
//   placed in the SQ behind one doorbell write; the invalid command completes synchronously while
//   the Read's I/O is still queued for the ring, so its CQE comes first.
// - Teardown with commands in flight: Delete I/O SQ, controller reset (CC.EN = 0) and a normal
//   shutdown with 32 commands outstanding: no lost, duplicated or late completion, no crash (the
//   ASan build checks the use-after-free part).
// - Abort (NVMe Base 2.0, 5.1) of commands that may be anywhere: still in the SQ, in flight on the
//   ring, or done. Only an unfetched one is aborted; for one already being processed the Abort
//   completes with "not aborted" (Dword 0 bit 0 = 1) and the command completes once, normally.
// - Fused Compare and Write on one queue against io_uring Writes of the same range on the other
//   (same reactor, or another one): serializable outcomes only (NVMe Base 2.0, 3.4.2).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "conformance/fixture.h"
#include "nvm/nvm_status.h"

namespace nvemu::conformance {
namespace {

constexpr uint64_t kNsBytes = 16ull << 20;
constexpr uint32_t kLba = 4096;
constexpr uint32_t kQd = 32;
constexpr uint16_t kQueues = 2;

class UringE2eTest : public ::testing::TestWithParam<ProcessingMode> {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::err);
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/nvemu-uring-e2e-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ASSERT_TRUE(Start());
  }
  void TearDown() override {
    drv_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // `reactors` 1: both queues on one reactor (one ring, many in flight); 2: a reactor each.
  bool Start(uint32_t reactors = 1) {
    DriverOptions o;
    o.dma_bytes = 32ull << 20;
    o.controller.max_io_queues = kQueues;
    o.controller.io_reactors = reactors;
    o.controller.mode = GetParam();
    o.controller.namespaces.clear();
    NamespaceConfig ns;
    ns.size_bytes = kNsBytes;
    ns.lba_size = kLba;
    ns.backend = BackendKind::kFile;
    ns.io_uring = true;
    ns.data_path = dir_ + "/ns1.img";
    ns.metadata_path = dir_ + "/ns1.meta";
    o.controller.namespaces.push_back(ns);
    auto d = PcieDriver::Create(o);
    if (!d.ok()) {
      ADD_FAILURE() << d.error().message;
      return false;
    }
    drv_ = std::move(d.value());
    if (auto r = drv_->Enable(); !r.ok()) {
      ADD_FAILURE() << r.error().message;
      return false;
    }
    for (uint16_t q = 1; q <= kQueues; ++q) {
      if (auto r = drv_->CreateIoQueuePair(q, 64); !r.ok()) {
        ADD_FAILURE() << r.error().message;
        return false;
      }
    }
    return true;
  }

  // Submits `n` commands (writes or reads of 2 blocks each, at `lba0 + 2 * i`) behind one doorbell
  // write and returns cid -> buffer index.
  std::map<uint16_t, size_t> SubmitBatch(IoQueue* q, bool write, uint64_t lba0, uint32_t n,
                                         std::vector<DmaBuffer>& bufs) {
    std::map<uint16_t, size_t> cids;
    for (uint32_t i = 0; i < n; ++i) {
      auto b = drv_->dma().Alloc(2 * kLba);
      EXPECT_TRUE(b.ok());
      if (!b.ok()) break;
      if (write) FillPattern(b->ptr, 2 * kLba, q->qid(), (lba0 + 2 * i) * kLba);
      bufs.push_back(*b);
      Sqe s = write ? WriteCmd(1, lba0 + 2 * i, 2) : ReadCmd(1, lba0 + 2 * i, 2);
      auto cid = q->Submit(s, &bufs.back(), 2 * kLba, 0, /*ring=*/false);
      EXPECT_TRUE(cid.ok());
      if (!cid.ok()) break;
      EXPECT_TRUE(cids.emplace(*cid, bufs.size() - 1).second);
    }
    q->Ring();
    return cids;
  }

  // Reaps until every CID in `cids` completed once; fails on unknown or repeated CIDs.
  std::vector<Cqe> ReapAll(IoQueue* q, const std::map<uint16_t, size_t>& cids) {
    std::vector<Cqe> got;
    std::set<uint16_t> seen;
    WaitUntil(
        [&] {
          q->Reap([&](const Cqe& c) {
            EXPECT_TRUE(cids.count(c.cid)) << "unexpected cid " << c.cid;
            EXPECT_TRUE(seen.insert(c.cid).second) << "cid " << c.cid << " completed twice";
            got.push_back(c);
          });
          return seen.size() == cids.size();
        },
        kTimeout);
    EXPECT_EQ(seen.size(), cids.size());
    return got;
  }

  void FreeAll(std::vector<DmaBuffer>& bufs) {
    for (auto& b : bufs) drv_->dma().Free(b);
    bufs.clear();
  }

  std::string dir_;
  std::unique_ptr<PcieDriver> drv_;
};

TEST_P(UringE2eTest, QueueDepth32OnTwoQueuesRoundTrips) {
  for (uint16_t qid = 1; qid <= kQueues; ++qid) {
    IoQueue* q = drv_->io_queue(qid);
    const uint64_t lba0 = (qid - 1) * 1024;
    std::vector<DmaBuffer> bufs;
    auto w = SubmitBatch(q, true, lba0, kQd, bufs);
    for (const Cqe& c : ReapAll(q, w)) EXPECT_EQ(StatusOf(c), sc::kSuccess) << "cid " << c.cid;
    FreeAll(bufs);
    auto r = SubmitBatch(q, false, lba0, kQd, bufs);
    for (const Cqe& c : ReapAll(q, r)) {
      ASSERT_EQ(StatusOf(c), sc::kSuccess);
      const size_t i = r.at(c.cid);
      EXPECT_EQ(CheckPattern(bufs[i].ptr, 2 * kLba, qid, (lba0 + 2 * i) * kLba), -1)
          << "cid " << c.cid;
    }
    FreeAll(bufs);
  }
  // FUA writes and a Flush go through the ring too.
  IoQueue* q = drv_->io_queue(1);
  auto b = drv_->dma().Alloc(kLba);
  ASSERT_TRUE(b.ok());
  Sqe fua = WriteCmd(1, 3000, 1);
  fua.cdw12 |= 1u << 30;
  EXPECT_TRUE(HasStatus(q->Execute(fua, kTimeout, &*b, kLba), sc::kSuccess));
  EXPECT_TRUE(HasStatus(q->Execute(Cmd(io::kFlush, 1), kTimeout), sc::kSuccess));
  drv_->dma().Free(*b);
}

TEST_P(UringE2eTest, SynchronousErrorOvertakesAsynchronousRead) {
  IoQueue* q = drv_->io_queue(1);
  auto b = drv_->dma().Alloc(kLba);
  ASSERT_TRUE(b.ok());
  for (int round = 0; round < 20; ++round) {
    auto read = q->Submit(ReadCmd(1, 10, 1), &*b, kLba, 0, /*ring=*/false);
    auto bad = q->Submit(ReadCmd(/*nsid=*/9, 10, 1), &*b, kLba, 0, /*ring=*/false);
    ASSERT_TRUE(read.ok() && bad.ok());
    q->Ring();
    std::vector<Cqe> got = ReapAll(q, {{*read, 0}, {*bad, 1}});
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].cid, *bad) << "round " << round << ": the async read completed first";
    EXPECT_EQ(StatusOf(got[0]), sc::kInvalidNamespaceOrFormat);
    EXPECT_EQ(StatusOf(got[1]), sc::kSuccess);
  }
  drv_->dma().Free(*b);
}

TEST_P(UringE2eTest, DeleteSqWithCommandsInFlightCompletesThemFirst) {
  IoQueue* q = drv_->io_queue(2);
  std::vector<DmaBuffer> bufs;
  auto w = SubmitBatch(q, true, 0, kQd, bufs);
  // Delete the SQ at once: the commands already fetched complete before Delete I/O SQ does;
  // those not fetched yet are discarded. Either way, no CID completes twice.
  auto del = drv_->Admin(DeleteSqCmd(2));
  ASSERT_TRUE(HasStatus(del, sc::kSuccess));
  std::set<uint16_t> seen;
  q->Reap([&](const Cqe& c) {
    EXPECT_TRUE(w.count(c.cid));
    EXPECT_TRUE(seen.insert(c.cid).second) << "cid " << c.cid << " twice";
    EXPECT_EQ(StatusOf(c), sc::kSuccess);
  });
  // Nothing arrives after the deletion completed.
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(q->Reap([](const Cqe&) {}), 0u);
  ASSERT_TRUE(HasStatus(drv_->Admin(DeleteCqCmd(2)), sc::kSuccess));
  FreeAll(bufs);
}

TEST_P(UringE2eTest, ResetAndShutdownWithCommandsInFlight) {
  std::vector<DmaBuffer> bufs;
  for (uint16_t qid = 1; qid <= kQueues; ++qid) {
    SubmitBatch(drv_->io_queue(qid), true, (qid - 1) * 1024, kQd, bufs);
  }
  // CC.EN = 0 while they run: DisableQueues waits for the ring; then start again and shut down
  // normally with another batch in flight.
  ASSERT_TRUE(drv_->Disable().ok());
  FreeAll(bufs);
  ASSERT_TRUE(drv_->Enable().ok());
  for (uint16_t qid = 1; qid <= kQueues; ++qid) {
    ASSERT_TRUE(drv_->CreateIoQueuePair(qid, 64).ok());
  }
  auto w = SubmitBatch(drv_->io_queue(1), true, 0, kQd, bufs);
  auto sd = drv_->Shutdown(/*abrupt=*/false);
  ASSERT_TRUE(sd.ok()) << sd.error().message;
  EXPECT_EQ(drv_->csts() & kCstsShstMask, kCstsShstComplete);
  drv_.reset();  // the device and its reactors go away; in-flight I/O had to finish first
  bufs.clear();
}

// Every command of a QD 32 batch of asynchronous Reads gets an Abort right after the batch is
// rung, one after the other. Whatever each target's state when its Abort looks for it (in the SQ,
// submitted to the ring, done), the outcomes must agree: Abort succeeds; IANP = 0 (aborted) means
// the target completed with Abort Requested, IANP = 1 (not aborted: it was being processed or
// done) means it completed normally with its data. Every target completes exactly once. Nothing
// is left behind: later Aborts of CIDs no longer outstanding are not aborted (no stale marker
// counting against ACL), and Delete I/O SQ, which waits for the queue's in-flight commands,
// completes.
TEST_P(UringE2eTest, AbortOfCommandsInFlightOnTheRing) {
  IoQueue* q = drv_->io_queue(1);
  std::vector<DmaBuffer> bufs;
  auto w = SubmitBatch(q, true, 0, kQd, bufs);
  for (const Cqe& c : ReapAll(q, w)) ASSERT_EQ(StatusOf(c), sc::kSuccess);
  FreeAll(bufs);
  int not_aborted = 0, aborted = 0;
  for (int round = 0; round < 8; ++round) {
    auto r = SubmitBatch(q, false, 0, kQd, bufs);
    std::map<uint16_t, uint32_t> ianp;  // target cid -> the Abort's Dword 0 bit 0
    for (const auto& [cid, i] : r) {
      Sqe abort = Cmd(admin::kAbort);
      abort.cdw10 = 1u | (uint32_t{cid} << 16);  // SQID 1, CID
      auto a = drv_->Admin(abort);
      ASSERT_TRUE(HasStatus(a, sc::kSuccess));
      ianp[cid] = a->dw0 & 1;
    }
    for (const Cqe& c : ReapAll(q, r)) {
      const size_t i = r.at(c.cid);
      if (ianp.at(c.cid) == 0) {
        ++aborted;
        EXPECT_EQ(StatusOf(c), sc::kAbortRequested) << "cid " << c.cid;
      } else {
        ++not_aborted;
        ASSERT_EQ(StatusOf(c), sc::kSuccess) << "cid " << c.cid;
        EXPECT_EQ(CheckPattern(bufs[i].ptr, 2 * kLba, 1, 2 * i * kLba), -1) << "cid " << c.cid;
      }
    }
    FreeAll(bufs);
  }
  std::printf("aborts: %d aborted (unfetched), %d not aborted (in flight or done)\n", aborted,
              not_aborted);
  // No marker left: more Aborts than ACL + 1 of CIDs that are not outstanding, all not aborted.
  for (uint16_t cid = 0; cid < 8; ++cid) {
    Sqe abort = Cmd(admin::kAbort);
    abort.cdw10 = 1u | (uint32_t{cid} << 16);
    auto a = drv_->Admin(abort);
    ASSERT_TRUE(HasStatus(a, sc::kSuccess));
    EXPECT_EQ(a->dw0 & 1, 1u);
  }
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(q->Reap([](const Cqe&) {}), 0u);  // no late or duplicate completion
  ASSERT_TRUE(HasStatus(drv_->Admin(DeleteSqCmd(1)), sc::kSuccess));
  ASSERT_TRUE(HasStatus(drv_->Admin(DeleteCqCmd(1)), sc::kSuccess));
}

// Each round: 16 Writes of one 8-block range (each a unique uniform tag) on queue 1 and a fused
// Compare (with the range's tag before the round) + Write (a new tag) on queue 2, rung together.
// Writes complete through io_uring. Afterwards, with nothing in flight, the range must hold one
// uniform tag, and the outcome must be serializable: if the pair succeeded, every Write of the
// round that succeeded must come after it (one before it would have failed the Compare), so the
// range cannot end with the pair's tag. A Write still in flight when the pair compared, landing
// between its Compare and its Write, breaks exactly that. Statuses are checked, not counts.
TEST_P(UringE2eTest, FusedPairsAgainstAsyncWritesFromAnotherQueue) {
  for (uint32_t reactors : {1u, 2u}) {
    drv_.reset();
    ASSERT_TRUE(Start(reactors));
    IoQueue* wq = drv_->io_queue(1);
    IoQueue* pq = drv_->io_queue(2);
    constexpr uint64_t kSlba = 2048;
    constexpr uint32_t kNlb = 8;
    constexpr size_t kBytes = size_t{kNlb} * kLba;
    constexpr uint32_t kWrites = 16;
    auto uniform = [](DmaBuffer& b, uint64_t tag) {
      for (size_t i = 0; i < kBytes; i += 8) std::memcpy(b.ptr + i, &tag, 8);
    };
    std::vector<DmaBuffer> wbufs;
    for (uint32_t i = 0; i < kWrites + 3; ++i) {
      auto b = drv_->dma().Alloc(kBytes);
      ASSERT_TRUE(b.ok());
      wbufs.push_back(*b);
    }
    DmaBuffer& cmp = wbufs[kWrites];
    DmaBuffer& pw = wbufs[kWrites + 1];
    DmaBuffer& rd = wbufs[kWrites + 2];
    uint64_t prev = 1;
    uniform(cmp, prev);
    ASSERT_TRUE(
        HasStatus(wq->Execute(WriteCmd(1, kSlba, kNlb), kTimeout, &cmp, kBytes), sc::kSuccess));
    int pairs_ok = 0;
    for (uint64_t round = 1; round <= 40; ++round) {
      std::map<uint16_t, uint64_t> wtag;
      for (uint32_t i = 0; i < kWrites; ++i) {
        const uint64_t tag = (round << 16) | (i + 2);
        uniform(wbufs[i], tag);
        auto cid = wq->Submit(WriteCmd(1, kSlba, kNlb), &wbufs[i], kBytes, 0, /*ring=*/false);
        ASSERT_TRUE(cid.ok());
        wtag[*cid] = tag;
      }
      const uint64_t pair_tag = (round << 16) | 1;
      uniform(cmp, prev);
      uniform(pw, pair_tag);
      Sqe c = RwCmd(0x05, 1, kSlba, kNlb);
      c.flags = 1;
      Sqe w = WriteCmd(1, kSlba, kNlb);
      w.flags = 2;
      auto ccid = pq->Submit(c, &cmp, kBytes, 0, false);
      auto wcid = pq->Submit(w, &pw, kBytes, 0, false);
      ASSERT_TRUE(ccid.ok() && wcid.ok());
      pq->Ring();
      wq->Ring();
      std::map<uint16_t, Status> wst, pst;
      WaitUntil(
          [&] {
            wq->Reap([&](const Cqe& e) { EXPECT_TRUE(wst.emplace(e.cid, StatusOf(e)).second); });
            pq->Reap([&](const Cqe& e) { EXPECT_TRUE(pst.emplace(e.cid, StatusOf(e)).second); });
            return wst.size() == kWrites && pst.size() == 2;
          },
          kTimeout);
      ASSERT_EQ(wst.size(), kWrites);
      ASSERT_EQ(pst.size(), 2u);
      std::set<uint64_t> landed;  // tags of Writes that succeeded
      for (const auto& [cid, st] : wst) {
        if (st == sc::kSuccess) {
          landed.insert(wtag.at(cid));
        } else {
          EXPECT_EQ(st, nvm_sc::kCommandInterrupted) << st.ToString();
        }
      }
      const Status cs = pst.at(*ccid), ws = pst.at(*wcid);
      const bool pair_ok = cs == sc::kSuccess;
      if (pair_ok) {
        ++pairs_ok;
        EXPECT_EQ(ws, sc::kSuccess);
      } else {
        EXPECT_TRUE(cs == nvm_sc::kCompareFailure || cs == nvm_sc::kCommandInterrupted)
            << cs.ToString();
        EXPECT_EQ(ws, sc::kAbortFailedFused) << ws.ToString();
      }
      ASSERT_TRUE(
          HasStatus(wq->Execute(ReadCmd(1, kSlba, kNlb), kTimeout, &rd, kBytes), sc::kSuccess));
      uint64_t now;
      std::memcpy(&now, rd.ptr, 8);
      for (size_t i = 0; i < kBytes; i += 8) {
        ASSERT_EQ(std::memcmp(rd.ptr + i, &now, 8), 0) << "torn range in round " << round;
      }
      if (pair_ok && !landed.empty()) {
        EXPECT_NE(now, pair_tag) << "round " << round
                                 << ": a Write landed between the pair's Compare and Write";
      }
      const bool expected = landed.count(now) || (pair_ok && now == pair_tag) ||
                            (landed.empty() && !pair_ok && now == prev);
      EXPECT_TRUE(expected) << "round " << round << ": unexpected tag " << now;
      prev = now;
    }
    std::printf("%u reactor(s): %d of 40 fused pairs succeeded\n", reactors, pairs_ok);
    for (auto& b : wbufs) drv_->dma().Free(b);
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, UringE2eTest,
                         ::testing::Values(ProcessingMode::kNotify, ProcessingMode::kPoll,
                                           ProcessingMode::kTimer),
                         [](const auto& info) {
                           switch (info.param) {
                             case ProcessingMode::kPoll:
                               return "Poll";
                             case ProcessingMode::kTimer:
                               return "Timer";
                             default:
                               return "Notify";
                           }
                         });

}  // namespace
}  // namespace nvemu::conformance
