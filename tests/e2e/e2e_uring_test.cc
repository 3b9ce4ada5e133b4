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
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "conformance/fixture.h"

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
  bool Start() {
    DriverOptions o;
    o.dma_bytes = 32ull << 20;
    o.controller.max_io_queues = kQueues;
    o.controller.io_reactors = 1;  // both queues on one reactor: one ring, many in flight
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
