// Target lifecycle: Stop() with connections and commands in flight closes everything within its
// bound and leaves no controller; a stopped target can be destroyed; config validation; the event
// loop sleeps when idle in notify mode (no busy loop).
#include <gtest/gtest.h>

#include <thread>

#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using std::chrono::milliseconds;

TEST(TcpTarget, StopClosesConnectionsAndEndsControllers) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto io = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(io.ok());
  // Commands in flight: reads completed and queued, plus a write waiting for its R2T data that
  // never comes (the initiator is not polled while Stop runs).
  std::vector<std::vector<uint8_t>> bufs(8, std::vector<uint8_t>(4096));
  for (auto& b : bufs) {
    ASSERT_TRUE(io.value()->Submit(TcpDriver::ReadWriteSqe(0x02, 1, 0, 8), {}, b).ok());
  }
  std::vector<uint8_t> big(64 * 1024);
  ASSERT_TRUE(io.value()->Submit(TcpDriver::ReadWriteSqe(0x01, 1, 0, 128), big).ok());
  auto start = std::chrono::steady_clock::now();
  t->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(5000));
  EXPECT_EQ(t->connection_count(), 0u);
  EXPECT_EQ(t->controller_count(), 0u);
  EXPECT_TRUE(io.value()->WaitClosed(milliseconds(2000)));
  EXPECT_TRUE(d.value()->admin().WaitClosed(milliseconds(2000)));
  t->Stop();  // idempotent
}

TEST(TcpTarget, StopWithoutConnectionsAndDestroyWithoutStop) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  t->Stop();
  auto t2 = StartTarget();
  ASSERT_TRUE(t2);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t2));
  ASSERT_TRUE(d.ok());
  t2.reset();  // the destructor stops it
  EXPECT_TRUE(d.value()->admin().WaitClosed(milliseconds(2000)));
}

TEST(TcpTarget, ConfigValidation) {
  TargetConfig c = TestConfig();
  c.maxh2cdata = 1000;
  EXPECT_FALSE(Target::Create(c).ok());
  c = TestConfig();
  c.subsystems.push_back(c.subsystems[0]);  // duplicate NQN
  EXPECT_FALSE(Target::Create(c).ok());
  c = TestConfig();
  c.subsystems[0].nqn = "nqn.2014-08.org.nvmexpress.discovery";
  EXPECT_FALSE(Target::Create(c).ok());
  c = TestConfig();
  c.address = "not-an-address";
  auto t = Target::Create(c);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t.value()->Start().ok());
  c = TestConfig();
  c.reactors = 0;
  EXPECT_FALSE(Target::Create(c).ok());
}

TEST(TcpTarget, PortInUseFailsToStart) {
  auto a = StartTarget();
  ASSERT_TRUE(a);
  TargetConfig c = TestConfig();
  c.port = a->port();
  auto b = Target::Create(c);
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b.value()->Start().ok());
}

// Notify mode: an idle target sleeps in epoll_wait; it does not spin.
TEST(TcpTarget, IdleNotifyModeSleeps) {
  TargetConfig c = TestConfig();
  c.mode = ProcessingMode::kNotify;
  c.reactors = 1;
  auto t = StartTarget(c);
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));  // one idle admin connection
  ASSERT_TRUE(d.ok());
  std::this_thread::sleep_for(milliseconds(100));
  uint64_t before = t->pollers()[0]->passes();
  std::this_thread::sleep_for(milliseconds(500));
  uint64_t passes = t->pollers()[0]->passes() - before;
  EXPECT_LT(passes, 40u) << "the event loop is spinning";
  // And it still wakes up at once for work.
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(d.value()->IdentifyController().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(50));
}

TEST(TcpTarget, PollAndTimerModesServeToo) {
  for (ProcessingMode m : {ProcessingMode::kPoll, ProcessingMode::kTimer}) {
    TargetConfig c = TestConfig();
    c.mode = m;
    c.reactors = 1;
    auto t = StartTarget(c);
    ASSERT_TRUE(t);
    auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
    ASSERT_TRUE(d.ok()) << d.error().message;
    auto io = d.value()->ConnectIoQueue(1, 32);
    ASSERT_TRUE(io.ok());
    std::vector<uint8_t> data(65536, 0x77), back(65536);
    ASSERT_TRUE(io.value()->Execute(TcpDriver::ReadWriteSqe(0x01, 1, 0, 128), data).ok());
    ASSERT_TRUE(io.value()->Execute(TcpDriver::ReadWriteSqe(0x02, 1, 0, 128), {}, back).ok());
    EXPECT_EQ(back, data);
  }
}

}  // namespace
}  // namespace nvemu::tcp::testing
