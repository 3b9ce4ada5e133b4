// Admin commands whose behaviour depends on the transport: Asynchronous Event Requests complete
// later (deferred completions travel back to the admin connection), Abort of an outstanding AER,
// the Host Identifier feature on fabrics (the Connect HOSTID), and FabricsController::QuiesceIo.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "core/fabrics/fabrics.h"
#include "core/fabrics/fabrics_controller.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using std::chrono::milliseconds;

constexpr uint8_t kOpAbort = 0x08;

TEST(TcpAdmin, AsyncEventRequestWaitsUntilAborted) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  host::TcpQueue& admin = d.value()->admin();
  Sqe aer{};
  aer.opc = fabrics::kOpAsyncEventRequest;
  auto cid = admin.Submit(aer);
  ASSERT_TRUE(cid.ok());
  // Outstanding: no completion, while other admin commands complete normally.
  auto polled = admin.Poll(milliseconds(200));
  ASSERT_TRUE(polled.ok());
  EXPECT_EQ(polled.value(), 0u);
  EXPECT_TRUE(d.value()->IdentifyController().ok());
  Sqe abort{};
  abort.opc = kOpAbort;
  abort.cdw10 = static_cast<uint32_t>(cid.value()) << 16;  // SQID 0
  auto a = d.value()->Admin(abort);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(StatusOf(a.value()).ok());
  EXPECT_EQ(a.value().dw0 & 1, 0u);  // IANP 0: aborted
  auto done = admin.Wait(cid.value());
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_TRUE(StatusOf(done.value()).same_code(sc::kAbortRequested));
  // The slot is free again: the queue keeps working.
  EXPECT_TRUE(d.value()->IdentifyController().ok());
}

TEST(TcpAdmin, AsyncEventRequestLimit) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  const int limit = id.value().aerl + 1;
  host::TcpQueue& admin = d.value()->admin();
  Sqe aer{};
  aer.opc = fabrics::kOpAsyncEventRequest;
  for (int i = 0; i < limit; ++i) ASSERT_TRUE(admin.Submit(aer).ok());
  auto extra = admin.Execute(aer);
  ASSERT_TRUE(extra.ok()) << extra.error().message;
  EXPECT_TRUE(StatusOf(extra.value()).same_code(sc::kAsyncEventRequestLimitExceeded));
  EXPECT_EQ(admin.outstanding(), static_cast<uint32_t>(limit));
}

TEST(TcpAdmin, HostIdentifierIsTheConnectHostId) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto o = DriverOptions(*t);
  auto d = TcpDriver::ConnectAndEnable(o);
  ASSERT_TRUE(d.ok());
  Sqe get{};
  get.opc = fabrics::kOpGetFeatures;
  get.cdw10 = fabrics::kFidHostIdentifier;
  get.cdw11 = 1;  // EXHID: 128-bit
  uint8_t id[16] = {};
  auto r = d.value()->Admin(get, {}, id);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(StatusOf(r.value()).ok()) << StatusOf(r.value()).ToString();
  EXPECT_EQ(std::memcmp(id, o.hostid.data(), 16), 0);
  get.cdw11 = 0;
  r = d.value()->Admin(get, {}, id);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidField));
  Sqe set{};
  set.opc = fabrics::kOpSetFeatures;
  set.cdw10 = fabrics::kFidHostIdentifier;
  set.cdw11 = 1;
  r = d.value()->Admin(set, id);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kCommandSequenceError));
}

class FakeLink final : public fabrics::QueueLink {
 public:
  void RequestClose(const char*) override {}
  void DeliverDeferred(uint16_t, Status, uint32_t) override {}
};

TEST(FabricsController, QuiesceIoWaitsForExecutingCommands) {
  SystemClock clock;
  auto core = fabrics::TargetCore::Create(TestConfig(), clock);
  ASSERT_TRUE(core.ok());
  fabrics::SubsystemEntry* entry = core.value()->FindSubsystem(kSubnqn);
  ASSERT_NE(entry, nullptr);
  auto ctrl = core.value()->CreateController(*entry, kHostnqn, {}, 0);
  ASSERT_TRUE(ctrl);
  FakeLink idle, busy;
  ASSERT_TRUE(ctrl->AddIoQueue(1, &idle).ok());
  ASSERT_TRUE(ctrl->AddIoQueue(2, &busy).ok());
  busy.io_epoch = 1;  // executing a command
  std::atomic<bool> returned{false};
  std::thread q([&] {
    ctrl->QuiesceIo();
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_FALSE(returned.load());
  busy.io_epoch = 2;  // that command finished
  q.join();
  EXPECT_TRUE(returned.load());
  ctrl->QuiesceIo();  // nothing executing: returns at once
  ctrl->EndAssociation("test");
}

}  // namespace
}  // namespace nvemu::tcp::testing
