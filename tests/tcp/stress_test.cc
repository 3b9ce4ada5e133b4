// Lifetime stress: several host threads connect, run I/O on queues spread over reactors, and tear
// down in random ways (close an I/O socket mid-command, close the admin socket first, reset the
// controller under I/O, Disconnect, let a short KATO expire) for a bounded time. The target must
// neither crash nor leak: afterwards no connection or controller is left and it still serves.
// Run it under ASan/TSan builds too.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <random>
#include <thread>

#include "core/fabrics/fabrics.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using std::chrono::milliseconds;

void OneRound(const Target& t, std::mt19937& g, int id) {
  auto o = DriverOptions(t);
  o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:stress-" + std::to_string(id);
  o.timeout = milliseconds(2000);
  const int how = static_cast<int>(g() % 6);
  if (how == 5) o.kato_ms = 200;
  auto d = TcpDriver::ConnectAndEnable(o);
  if (!d.ok()) return;
  if (!d.value()->SetNumberOfQueues(2).ok()) return;
  std::vector<host::TcpQueue*> qs;
  for (uint16_t q = 1; q <= 2; ++q) {
    auto io = d.value()->ConnectIoQueue(q, 16);
    if (io.ok()) qs.push_back(io.value());
  }
  std::vector<std::vector<uint8_t>> bufs(8, std::vector<uint8_t>(16384, static_cast<uint8_t>(id)));
  for (auto* q : qs) {
    for (int i = 0; i < 4; ++i) {
      uint8_t opc = (g() & 1) ? 0x01 : 0x02;
      auto& b = bufs[(g() % 8)];
      if (opc == 0x01) {
        (void)q->Submit(TcpDriver::ReadWriteSqe(opc, 1, (g() % 1000) * 32, 32), b);
      } else {
        (void)q->Submit(TcpDriver::ReadWriteSqe(opc, 1, (g() % 1000) * 32, 32), {}, b);
      }
    }
  }
  switch (how) {
    case 0:  // abrupt close of an I/O socket with commands in flight, then everything
      if (!qs.empty()) ::shutdown(qs[0]->fd(), SHUT_RDWR);
      break;
    case 1:  // the admin socket goes first
      ::shutdown(d.value()->admin().fd(), SHUT_RDWR);
      std::this_thread::sleep_for(milliseconds(g() % 5));
      break;
    case 2:  // controller reset under I/O
      (void)d.value()->Disable();
      break;
    case 3:  // Disconnect an I/O queue
      if (!qs.empty()) {
        Sqe s{};
        s.opc = fabrics::kOpFabrics;
        s.nsid = static_cast<uint8_t>(fabrics::Fctype::kDisconnect);
        (void)qs[0]->Submit(s);
      }
      break;
    case 4:  // orderly: reap, then shutdown
      for (auto* q : qs) {
        (void)q->Poll(milliseconds(200));
        q->Reap([](const Cqe&) {});
      }
      (void)d.value()->Shutdown();
      break;
    case 5:  // keep-alive expiry tears it down while I/O may be in flight
      std::this_thread::sleep_for(milliseconds(300));
      break;
  }
}

TEST(TcpStress, RandomTeardownsLeaveNothingBehind) {
  TargetConfig cfg = TestConfig();
  cfg.reactors = 3;
  auto t = StartTarget(cfg);
  ASSERT_TRUE(t);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  std::atomic<int> rounds{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937 g(1234 + i);
      while (!stop) {
        OneRound(*t, g, i);
        ++rounds;
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(3000));
  stop = true;
  for (auto& th : threads) th.join();
  EXPECT_GT(rounds.load(), 8);
  EXPECT_TRUE(WaitFor([&] { return t->connection_count() == 0; }, 5000))
      << t->connection_count() << " connections left";
  EXPECT_TRUE(WaitFor([&] { return t->controller_count() == 0; }, 5000))
      << t->controller_count() << " controllers left";
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto io = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(io.ok());
  std::vector<uint8_t> buf(4096);
  auto r = io.value()->Execute(TcpDriver::ReadWriteSqe(0x02, 1, 0, 8), {}, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).ok());
}

}  // namespace
}  // namespace nvemu::tcp::testing
