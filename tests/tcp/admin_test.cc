// Admin commands whose behaviour depends on the transport: Asynchronous Event Requests complete
// later (deferred completions travel back to the admin connection), Abort of an outstanding AER,
// the Host Identifier feature on fabrics (the Connect HOSTID), failed commands in the Error
// Information log, the subsystem state a new association starts from (every reset or reconnect of
// an NVMe/TCP host is a new controller), Supported Log Pages (00h) on an I/O controller, and
// FabricsController::QuiesceIo.
#include <gtest/gtest.h>
#include <nvme/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/admin/firmware.h"
#include "core/fabrics/fabrics.h"
#include "core/fabrics/fabrics_controller.h"
#include "core/state_file.h"
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

// NVMe Base 2.0, 5.16.1.2: a command that fails over NVMe/TCP gets an Error Information log entry,
// as on PCIe (the Linux host's `nvme error-log` showed none before).
TEST(TcpAdmin, FailedCommandsAreInTheErrorLog) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  Sqe bad{};
  bad.opc = fabrics::kOpGetLogPage;
  bad.nsid = 0xffffffff;
  bad.cdw10 = 0xc0 | (127u << 16);  // LID C0h (not supported), 512 bytes
  std::vector<uint8_t> buf(512);
  auto r = d.value()->Admin(bad, {}, buf);
  ASSERT_TRUE(r.ok());
  const Status st = StatusOf(r.value());
  ASSERT_TRUE(st.same_code(sc::kInvalidLogPage)) << st.ToString();
  const uint16_t bad_cid = r.value().cid;

  auto log = d.value()->GetLogPage(0x01, sizeof(nvme_error_log_page));
  ASSERT_TRUE(log.ok()) << log.error().message;
  nvme_error_log_page e;
  std::memcpy(&e, log.value().data(), sizeof(e));
  EXPECT_EQ(e.error_count, 1u);
  EXPECT_EQ(e.sqid, 0u);
  EXPECT_EQ(e.cmdid, bad_cid);
  EXPECT_EQ(e.status_field, static_cast<uint16_t>(st.field() << 1));
  EXPECT_EQ(e.nsid, 0xffffffffu);

  // A failed I/O command (LBA out of range) is recorded with its queue and LBA.
  ASSERT_TRUE(d.value()->SetNumberOfQueues(1).ok());
  auto q = d.value()->ConnectIoQueue(1, 8);
  ASSERT_TRUE(q.ok()) << q.error().message;
  const uint64_t past_end = (64ull << 20) / 512;
  Sqe rd = TcpDriver::ReadWriteSqe(0x02, 1, past_end, 1);
  std::vector<uint8_t> data(512);
  auto io = q.value()->Execute(rd, {}, data);
  ASSERT_TRUE(io.ok()) << io.error().message;
  EXPECT_FALSE(StatusOf(io.value()).ok());
  log = d.value()->GetLogPage(0x01, sizeof(nvme_error_log_page));
  ASSERT_TRUE(log.ok());
  std::memcpy(&e, log.value().data(), sizeof(e));
  EXPECT_EQ(e.error_count, 2u);
  EXPECT_EQ(e.sqid, 1u);
  EXPECT_EQ(e.lba, past_end);
}

// NVMe Base 2.0, 5.16.1.1 on an NVMe/TCP I/O controller: the same pages as on PCIe (the core's
// dispatch table), each returned by Get Log Page; the Discovery log (70h) is not one of them.
TEST(TcpAdmin, SupportedLogPagesOfAnIoController) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  std::vector<uint8_t> page, out;
  ASSERT_TRUE(GetLogStatus(*d.value(), 0x00, 1024, &page).ok());
  const std::vector<unsigned> lids = SupportedLids(page);
  EXPECT_EQ(lids, (std::vector<unsigned>{0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06}));
  for (unsigned lid = 0; lid < 256; ++lid) {
    const bool listed = std::find(lids.begin(), lids.end(), lid) != lids.end();
    Status st = GetLogStatus(*d.value(), static_cast<uint8_t>(lid), 64, &out);
    EXPECT_TRUE(listed ? st.ok() : st.same_code(sc::kInvalidLogPage))
        << lid << ": " << st.ToString();
  }
  EXPECT_TRUE(GetLogStatus(*d.value(), 0x00, 64, &out, 0, 1u << 23).same_code(sc::kInvalidField));
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value().lpa & (1u << 1), 1u << 1);  // log 05h, listed above
  EXPECT_EQ(id.value().lpa & (1u << 5), 0u);
}

// A new association (what `nvme reset` and every reconnect of a Linux host make) starts from the
// subsystem's state: saved features, firmware slots and the pending activation, SMART counters.
TEST(TcpAdmin, NewAssociationKeepsSavedFeaturesFirmwareAndSmart) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto o = DriverOptions(*t);
  {
    auto d = TcpDriver::ConnectAndEnable(o);
    ASSERT_TRUE(d.ok());
    Sqe set{};
    set.opc = fabrics::kOpSetFeatures;
    set.cdw10 = 0x04 | (1u << 31);  // Temperature Threshold, SV
    set.cdw11 = 0x160;
    auto r = d.value()->Admin(set);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(StatusOf(r.value()).ok()) << StatusOf(r.value()).ToString();
    std::vector<uint8_t> image = BuildFirmwareImage("TCP-2", std::vector<uint8_t>(4064, 0x5a));
    Sqe dl{};
    dl.opc = 0x11;  // Firmware Image Download
    dl.cdw10 = static_cast<uint32_t>(image.size() / 4 - 1);
    r = d.value()->Admin(dl, image);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(StatusOf(r.value()).ok()) << StatusOf(r.value()).ToString();
    Sqe commit{};
    commit.opc = 0x10;               // Firmware Commit
    commit.cdw10 = 2 | (0x1u << 3);  // slot 2, CA 001b: replace, activate at the next reset
    r = d.value()->Admin(commit);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(StatusOf(r.value()).same_code(Status::CommandSpecific(0x11)))
        << StatusOf(r.value()).ToString();
    ASSERT_TRUE(d.value()->SetNumberOfQueues(1).ok());
    auto q = d.value()->ConnectIoQueue(1, 8);
    ASSERT_TRUE(q.ok());
    std::vector<uint8_t> data(4096, 0x33);
    auto w = q.value()->Execute(TcpDriver::ReadWriteSqe(0x01, 1, 0, 8), data);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(StatusOf(w.value()).ok());
    // The association ends the way `nvme reset` ends it: CC.EN = 0, then the sockets close.
    ASSERT_TRUE(d.value()->Disable().ok());
  }
  auto d = TcpDriver::ConnectAndEnable(o);
  ASSERT_TRUE(d.ok());
  Sqe get{};
  get.opc = fabrics::kOpGetFeatures;
  get.cdw10 = 0x04 | (2u << 8);  // SEL saved
  auto r = d.value()->Admin(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().dw0, 0x160u);
  get.cdw10 = 0x04;  // current: the saved value again
  r = d.value()->Admin(get);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().dw0, 0x160u);
  auto fw = d.value()->GetLogPage(0x03, sizeof(nvme_firmware_slot));
  ASSERT_TRUE(fw.ok());
  nvme_firmware_slot slots;
  std::memcpy(&slots, fw.value().data(), sizeof(slots));
  EXPECT_EQ(slots.afi & 0x7, 2);  // activated by the reset
  EXPECT_EQ(std::string(slots.frs[1], 5), "TCP-2");
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(std::string(id.value().fr, 5), "TCP-2");
  auto smart = d.value()->GetLogPage(0x02, sizeof(nvme_smart_log));
  ASSERT_TRUE(smart.ok());
  nvme_smart_log s;
  std::memcpy(&s, smart.value().data(), sizeof(s));
  EXPECT_EQ(s.host_writes[0], 1);  // the write of the first association
}

// SMART / Health is the NVM subsystem's (core/subsystem.h): two live controllers of one subsystem
// both add to it, each reports the subsystem's totals, and both stores (CC.EN = 0, then power-off)
// keep every count in the state file (before: each controller stored its own counts on top of the
// state it started from, and the last store won).
TEST(TcpAdmin, TwoLiveControllersAddUpTheSubsystemSmartCounters) {
  auto dir =
      std::filesystem::temp_directory_path() / ("nvemu-smart-two-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  TargetConfig cfg = TestConfig();
  cfg.controller.state_file = (dir / "target.state.json").string();
  auto host = [](const Target& t, char id) {
    host::TcpDriverOptions o = DriverOptions(t);
    o.hostnqn = std::string(kHostnqn).substr(0, std::string(kHostnqn).size() - 2) + id + id;
    o.hostid[15] = static_cast<uint8_t>(id);
    return o;
  };
  auto smart = [](TcpDriver& d) {
    nvme_smart_log s{};
    auto log = d.GetLogPage(0x02, sizeof(s));
    EXPECT_TRUE(log.ok());
    if (log.ok()) std::memcpy(&s, log.value().data(), sizeof(s));
    return s;
  };
  auto lo64 = [](const uint8_t(&v)[16]) {
    uint64_t x;
    std::memcpy(&x, v, 8);
    return x;
  };
  {
    auto t = StartTarget(cfg);
    ASSERT_TRUE(t);
    auto a = TcpDriver::ConnectAndEnable(host(*t, 'a'));
    ASSERT_TRUE(a.ok());
    auto b = TcpDriver::ConnectAndEnable(host(*t, 'b'));
    ASSERT_TRUE(b.ok());
    ASSERT_NE(a.value()->cntlid(), b.value()->cntlid());
    std::vector<uint8_t> data(4096, 0x5a);
    for (auto* d : {a.value().get(), b.value().get()}) {
      ASSERT_TRUE(d->SetNumberOfQueues(1).ok());
      auto q = d->ConnectIoQueue(1, 8);
      ASSERT_TRUE(q.ok());
      const int writes = d == a.value().get() ? 3 : 5;
      for (int i = 0; i < writes; ++i) {
        auto w = q.value()->Execute(TcpDriver::ReadWriteSqe(0x01, 1, i * 8, 8), data);
        ASSERT_TRUE(w.ok());
        ASSERT_TRUE(StatusOf(w.value()).ok());
      }
      // One failed command each: an Error Information entry on each controller.
      std::vector<uint8_t> out;
      EXPECT_TRUE(GetLogStatus(*d, 0xc0, 64, &out).same_code(sc::kInvalidLogPage));
    }
    for (auto* d : {a.value().get(), b.value().get()}) {
      nvme_smart_log s = smart(*d);
      EXPECT_EQ(lo64(s.host_writes), 8u) << "controller " << d->cntlid();
      EXPECT_EQ(lo64(s.num_err_log_entries), 2u) << "controller " << d->cntlid();
    }
    // Both associations end (each stores), then the target powers off (stores again).
    ASSERT_TRUE(a.value()->Disable().ok());
    ASSERT_TRUE(b.value()->Disable().ok());
  }
  auto saved = LoadStateFile(cfg.controller.state_file);
  ASSERT_TRUE(saved.ok());
  EXPECT_EQ(saved.value().write_commands, 8u);
  EXPECT_EQ(saved.value().write_bytes, 8u * 4096);
  EXPECT_EQ(saved.value().error_log_entries, 2u);
  EXPECT_GT(saved.value().busy_ns, 0u) << "NVMe/TCP I/O counts as Controller Busy Time";
  auto t = StartTarget(cfg);
  ASSERT_TRUE(t);
  auto a = TcpDriver::ConnectAndEnable(host(*t, 'a'));
  ASSERT_TRUE(a.ok());
  nvme_smart_log s = smart(*a.value());
  EXPECT_EQ(lo64(s.host_writes), 8u);
  EXPECT_EQ(lo64(s.num_err_log_entries), 2u);
  EXPECT_EQ(lo64(s.power_cycles), 2u);
  std::filesystem::remove_all(dir);
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
