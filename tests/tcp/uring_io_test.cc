// NVMe/TCP end to end with a file-backed namespace on io_uring (io = "uring"): QD > 1 on several
// connections with completions matched by CID whatever their order, the target's slot state
// machine's "in-flight" state, connection teardown (abrupt close, controller reset) with
// commands in flight, and I/O errors that io_uring reports: the status the host gets and the Error
// Information log entry (NVMe Base 2.0, 5.16.1.2) of a command that failed asynchronously.
#include <gtest/gtest.h>
#include <nvme/types.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kOpRead = 0x02;
constexpr uint32_t kBlocks = 8;  // 4 KiB commands (512-byte LBAs)
constexpr uint32_t kQd = 24;

class TcpUringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::err);
    char tmpl[] = "/tmp/nvemu-tcp-uring-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    TargetConfig c = TestConfig();
    NamespaceConfig& ns = c.subsystems[0].namespaces[0];
    ns.size_bytes = 16ull << 20;
    ns.backend = BackendKind::kFile;
    ns.io_uring = true;
    ns.data_path = dir_ + "/ns1.img";
    ns.metadata_path = dir_ + "/ns1.meta";
    target_ = StartTarget(c);
    ASSERT_NE(target_, nullptr);
    auto d = host::TcpDriver::ConnectAndEnable(DriverOptions(*target_));
    ASSERT_TRUE(d.ok()) << d.error().message;
    driver_ = std::move(d.value());
    ASSERT_TRUE(driver_->SetNumberOfQueues(4).ok());
  }
  void TearDown() override {
    driver_.reset();
    target_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Queues `kQd` commands (one sendmsg) on `q`; returns cid -> index.
  std::map<uint16_t, size_t> Batch(host::TcpQueue& q, bool write, uint64_t lba0,
                                   std::vector<std::vector<uint8_t>>& bufs, uint32_t seed) {
    std::map<uint16_t, size_t> cids;
    bufs.assign(kQd, std::vector<uint8_t>(kBlocks * 512));
    std::mt19937 g(seed);
    for (uint32_t i = 0; i < kQd; ++i) {
      if (write) {
        for (auto& b : bufs[i]) b = static_cast<uint8_t>(g());
      }
      Sqe s =
          host::TcpDriver::ReadWriteSqe(write ? kOpWrite : kOpRead, 1, lba0 + i * kBlocks, kBlocks);
      auto cid = write ? q.Submit(s, bufs[i], {}, false) : q.Submit(s, {}, bufs[i], false);
      EXPECT_TRUE(cid.ok()) << (cid.ok() ? "" : cid.error().message);
      if (!cid.ok()) break;
      cids.emplace(*cid, i);
    }
    EXPECT_TRUE(q.Flush().ok());
    return cids;
  }

  // Collects every completion of `cids` (exactly once each); returns them in arrival order.
  std::vector<Cqe> Collect(host::TcpQueue& q, const std::map<uint16_t, size_t>& cids) {
    std::vector<Cqe> got;
    std::set<uint16_t> seen;
    for (int spins = 0; seen.size() < cids.size() && spins < 2000; ++spins) {
      auto p = q.Poll(std::chrono::milliseconds(5));
      if (!p.ok()) {
        ADD_FAILURE() << p.error().message;
        break;
      }
      q.Reap([&](const Cqe& c) {
        EXPECT_TRUE(cids.count(c.cid)) << "unexpected cid " << c.cid;
        EXPECT_TRUE(seen.insert(c.cid).second) << "cid " << c.cid << " twice";
        got.push_back(c);
      });
    }
    EXPECT_EQ(seen.size(), cids.size());
    return got;
  }

  std::string dir_;
  std::unique_ptr<Target> target_;
  std::unique_ptr<host::TcpDriver> driver_;
};

TEST_F(TcpUringTest, QueueDepthOnTwoConnectionsRoundTrips) {
  for (uint16_t qid = 1; qid <= 2; ++qid) ASSERT_TRUE(driver_->ConnectIoQueue(qid, 64).ok());
  for (uint16_t qid = 1; qid <= 2; ++qid) {
    host::TcpQueue& q = *driver_->io_queue(qid);
    const uint64_t lba0 = (qid - 1) * 4096;
    std::vector<std::vector<uint8_t>> wbufs, rbufs;
    auto w = Batch(q, true, lba0, wbufs, qid);
    for (const Cqe& c : Collect(q, w)) EXPECT_TRUE(StatusOf(c).ok()) << StatusOf(c).ToString();
    auto r = Batch(q, false, lba0, rbufs, 0);
    for (const Cqe& c : Collect(q, r)) EXPECT_TRUE(StatusOf(c).ok()) << StatusOf(c).ToString();
    EXPECT_EQ(rbufs, wbufs) << "qid " << qid;
  }
}

TEST_F(TcpUringTest, TeardownWithCommandsInFlight) {
  for (uint16_t qid = 1; qid <= 3; ++qid) ASSERT_TRUE(driver_->ConnectIoQueue(qid, 64).ok());
  std::vector<std::vector<uint8_t>> b1, b2, b3;
  // Abrupt close of a connection with a batch outstanding.
  Batch(*driver_->io_queue(1), true, 0, b1, 7);
  driver_->CloseIoQueue(1);
  // Queue 2: a batch completes in full (its data is read back after the reset below).
  host::TcpQueue& q2 = *driver_->io_queue(2);
  auto w2 = Batch(q2, true, 4096, b2, 8);
  Collect(q2, w2);
  // Controller reset with a batch outstanding on queue 3: DisableQueues waits for the ring.
  Batch(*driver_->io_queue(3), true, 8192, b3, 9);
  ASSERT_TRUE(driver_->Disable().ok());
  // The target still serves new associations afterwards.
  auto d = host::TcpDriver::ConnectAndEnable(DriverOptions(*target_));
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d.value()->SetNumberOfQueues(1).ok());
  auto q = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(q.ok()) << q.error().message;
  std::vector<uint8_t> back(kBlocks * 512);
  auto rd = (*q)->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, 4096, kBlocks), {}, back);
  ASSERT_TRUE(rd.ok()) << rd.error().message;
  EXPECT_TRUE(StatusOf(*rd).ok());
  EXPECT_EQ(back, b2[0]);  // queue 2's batch completed before its responses were sent
}

// Errors that come back through io_uring: the data image is truncated behind the target's back
// (a read past its end is EIO: Unrecovered Read Error), and RLIMIT_FSIZE makes a write past the
// limit fail with EFBIG (no dedicated mapping: Internal Error). Each failed command completes once
// with that status and gets an Error Information log entry with its SQID, CID, status, NSID and
// LBA, as an inline failure does.
TEST_F(TcpUringTest, AsyncIoErrorsReachTheHostAndTheErrorLog) {
  ASSERT_TRUE(driver_->ConnectIoQueue(1, 16).ok());
  host::TcpQueue& q = *driver_->io_queue(1);
  std::vector<uint8_t> data(kBlocks * 512, 0x5a);
  auto w = q.Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 1, 0, kBlocks), data, {});
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(StatusOf(*w).ok());
  // The image now ends after the first 8 blocks; the namespace still claims 16 MiB.
  ASSERT_EQ(::truncate((dir_ + "/ns1.img").c_str(), kBlocks * 512), 0);
  std::vector<uint8_t> back(kBlocks * 512);
  auto ok = q.Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, 0, kBlocks), {}, back);
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_TRUE(StatusOf(*ok).ok());
  EXPECT_EQ(back, data);

  const uint64_t kPastEof = 4 * kBlocks;
  auto rd = q.Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, kPastEof, kBlocks), {}, back);
  ASSERT_TRUE(rd.ok()) << rd.error().message;
  const Status rst = StatusOf(*rd);
  EXPECT_TRUE(rst.same_code(sc::kUnrecoveredReadError)) << rst.ToString();

  auto log = driver_->GetLogPage(0x01, 2 * sizeof(nvme_error_log_page));
  ASSERT_TRUE(log.ok()) << log.error().message;
  nvme_error_log_page e[2];
  std::memcpy(e, log.value().data(), sizeof(e));
  EXPECT_EQ(e[0].error_count, 1u);
  EXPECT_EQ(e[0].sqid, 1u);
  EXPECT_EQ(e[0].cmdid, rd->cid);
  EXPECT_EQ(e[0].status_field, static_cast<uint16_t>(rst.field() << 1));
  EXPECT_EQ(e[0].nsid, 1u);
  EXPECT_EQ(e[0].lba, kPastEof);

  // A write past RLIMIT_FSIZE (process-wide: restored right after).
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ign, &old), 0);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit lim = saved;
  lim.rlim_cur = kBlocks * 512;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  auto wr = q.Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 1, kPastEof, kBlocks), data, {});
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ::sigaction(SIGXFSZ, &old, nullptr);
  ASSERT_TRUE(wr.ok()) << wr.error().message;
  const Status wst = StatusOf(*wr);
  EXPECT_TRUE(wst.same_code(sc::kInternalError)) << wst.ToString();

  log = driver_->GetLogPage(0x01, 2 * sizeof(nvme_error_log_page));
  ASSERT_TRUE(log.ok()) << log.error().message;
  std::memcpy(e, log.value().data(), sizeof(e));
  EXPECT_EQ(e[0].error_count, 2u);  // newest first
  EXPECT_EQ(e[0].sqid, 1u);
  EXPECT_EQ(e[0].cmdid, wr->cid);
  EXPECT_EQ(e[0].status_field, static_cast<uint16_t>(wst.field() << 1));
  EXPECT_EQ(e[0].lba, kPastEof);
  EXPECT_EQ(e[1].error_count, 1u);
  EXPECT_EQ(e[1].cmdid, rd->cid);

  // The queue still works.
  auto again = q.Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, 0, kBlocks), {}, back);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(StatusOf(*again).ok());
}

}  // namespace
}  // namespace nvemu::tcp::testing
