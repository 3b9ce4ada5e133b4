// NVMe/TCP end to end with a file-backed namespace on io_uring (io = "uring"): QD > 1 on several
// connections with completions matched by CID whatever their order, the target's slot state
// machine's "in-flight" state, and connection teardown (abrupt close, controller reset) with
// commands in flight.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

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

}  // namespace
}  // namespace nvemu::tcp::testing
