// Keep Alive (NVMe Base 2.0, 3.9, 5.25, Feature 0Fh): a controller whose host stops talking for
// KATO is torn down (admin and I/O connections closed, CNTLID released); keep-alives keep it;
// before the first Keep Alive any admin command counts as activity.
#include <gtest/gtest.h>

#include <thread>

#include "core/fabrics/fabrics.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using std::chrono::milliseconds;

constexpr uint32_t kKatoMs = 300;

host::TcpDriverOptions WithKato(const Target& t, uint32_t kato = kKatoMs) {
  auto o = DriverOptions(t);
  o.kato_ms = kato;
  return o;
}

TEST(TcpKeepAlive, ExpiryTearsTheControllerDown) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(WithKato(*t));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto io = d.value()->ConnectIoQueue(1, 16);
  ASSERT_TRUE(io.ok());
  EXPECT_EQ(t->controller_count(), 1u);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(d.value()->admin().WaitClosed(milliseconds(3000)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(kKatoMs - 50));
  EXPECT_TRUE(io.value()->WaitClosed(milliseconds(2000)));
  EXPECT_TRUE(WaitFor([&] { return t->controller_count() == 0; }));
  EXPECT_TRUE(WaitFor([&] { return t->connection_count() == 0; }));
}

TEST(TcpKeepAlive, KeepAlivesKeepItAlive) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(WithKato(*t));
  ASSERT_TRUE(d.ok());
  for (int i = 0; i < 12; ++i) {
    std::this_thread::sleep_for(milliseconds(kKatoMs / 3));
    auto ka = d.value()->KeepAlive();
    ASSERT_TRUE(ka.ok()) << "iteration " << i << ": " << ka.error().message;
    ASSERT_TRUE(StatusOf(ka.value()).ok());
  }
  EXPECT_EQ(t->controller_count(), 1u);
  EXPECT_TRUE(d.value()->IdentifyController().ok());
}

TEST(TcpKeepAlive, AdminCommandsCountUntilTheFirstKeepAlive) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(WithKato(*t));
  ASSERT_TRUE(d.ok());
  // Identify every KATO/3 for 4 KATO: alive (no Keep Alive was ever sent).
  for (int i = 0; i < 12; ++i) {
    std::this_thread::sleep_for(milliseconds(kKatoMs / 3));
    ASSERT_TRUE(d.value()->IdentifyController().ok()) << "iteration " << i;
  }
  // After one Keep Alive only Keep Alive counts: Identify alone lets it expire.
  ASSERT_TRUE(d.value()->KeepAlive().ok());
  bool closed = false;
  for (int i = 0; i < 20 && !closed; ++i) {
    std::this_thread::sleep_for(milliseconds(kKatoMs / 3));
    closed = !d.value()->IdentifyController().ok();
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitFor([&] { return t->controller_count() == 0; }));
}

TEST(TcpKeepAlive, KatoZeroNeverExpires) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(WithKato(*t, 0));
  ASSERT_TRUE(d.ok());
  std::this_thread::sleep_for(milliseconds(600));
  EXPECT_TRUE(d.value()->IdentifyController().ok());
}

TEST(TcpKeepAlive, KeepAliveTimerFeature) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(WithKato(*t, 5000));
  ASSERT_TRUE(d.ok());
  Sqe get{};
  get.opc = fabrics::kOpGetFeatures;
  get.cdw10 = fabrics::kFidKeepAliveTimer;
  auto r = d.value()->Admin(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().dw0, 5000u);
  Sqe set{};
  set.opc = fabrics::kOpSetFeatures;
  set.cdw10 = fabrics::kFidKeepAliveTimer;
  set.cdw11 = 250;  // rounded up to the 100 ms granularity (KAS)
  r = d.value()->Admin(set);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).ok());
  r = d.value()->Admin(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().dw0, 300u);
  // Now the short timer applies (the Get above was the last activity before any Keep Alive).
  ASSERT_TRUE(d.value()->KeepAlive().ok());
  EXPECT_TRUE(d.value()->admin().WaitClosed(milliseconds(3000)));
}

}  // namespace
}  // namespace nvemu::tcp::testing
