// Fabrics bring-up through the initiator: Connect (admin and I/O, every refusal with its status and
// IATTR/IPO), the Identify fields the Linux host checks, Property Get/Set enable/disable/shutdown
// through the register model, commands before Connect, Disconnect, controller reset.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <cstring>

#include "core/fabrics/fabrics.h"
#include "spec/registers.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using host::TcpQueue;

constexpr Status kConnectInvalidParameters = Status::CommandSpecific(0x82);
constexpr Status kConnectInvalidHost = Status::CommandSpecific(0x84);
constexpr Status kIncompatibleFormat = Status::CommandSpecific(0x80);

host::TcpQueueOptions QueueOptions() {
  host::TcpQueueOptions o;
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

std::unique_ptr<TcpQueue> OpenQueue(const Target& t) {
  auto q = TcpQueue::Open("127.0.0.1", t.port(), QueueOptions());
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
  return q.ok() ? std::move(q.value()) : nullptr;
}

Cqe ConnectRaw(TcpQueue& q, const host::TcpDriverOptions& o, uint16_t qid, uint16_t sqsize,
               uint16_t cntlid, uint16_t recfmt = 0) {
  Sqe s = TcpDriver::ConnectSqe(qid, sqsize, 0, o.kato_ms);
  s.cdw10 |= recfmt;
  auto data = TcpDriver::ConnectData(o, cntlid);
  auto r = q.Execute(s, data);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : Cqe{};
}

TEST(TcpConnect, AdminConnectGivesDynamicCntlid) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto a = TcpDriver::Connect(DriverOptions(*t));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = TcpDriver::Connect(DriverOptions(*t));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_NE(a.value()->cntlid(), 0);
  EXPECT_LT(a.value()->cntlid(), 0xfff0);
  EXPECT_NE(a.value()->cntlid(), b.value()->cntlid());
  EXPECT_EQ(t->controller_count(), 2u);
  a.value().reset();
  EXPECT_TRUE(WaitFor([&] { return t->controller_count() == 1; }));
}

TEST(TcpConnect, IdentifyControllerFieldsTheLinuxHostChecks) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok()) << id.error().message;
  const nvme_id_ctrl& c = id.value();
  EXPECT_EQ(c.cntlid, d.value()->cntlid());
  EXPECT_NE(c.kas, 0);
  EXPECT_EQ(c.sgls, 0x00300001u);  // SGLs, SGL Offset, Transport SGL Data Block
  EXPECT_EQ(c.icdoff, 0);
  EXPECT_EQ(c.ioccsz, (8192u + 64) / 16);
  EXPECT_EQ(c.iorcsz, 1u);
  EXPECT_GE(c.maxcmd, t->core().config().controller.mqes + 1u);
  EXPECT_EQ(c.cntrltype, NVME_CTRL_CNTRLTYPE_IO);
  EXPECT_TRUE(c.cmic & NVME_CTRL_CMIC_MULTI_CTRL);
  EXPECT_FALSE(c.cmic & (1u << 3));  // no ANA reporting
  EXPECT_EQ(c.msdbd, 1);
  EXPECT_EQ(c.fcatt, 0);
  EXPECT_STREQ(c.subnqn, kSubnqn);
  EXPECT_GE(c.nn, 1u);
  auto ns = d.value()->IdentifyNamespace(1);
  ASSERT_TRUE(ns.ok()) << ns.error().message;
  EXPECT_EQ(ns.value().nsze, (64ull << 20) / 512);
  EXPECT_NE(ns.value().ncap, 0u);
  EXPECT_EQ(ns.value().nmic & NVME_NS_NMIC_SHARED, NVME_NS_NMIC_SHARED);  // shared by controllers
}

TEST(TcpConnect, PropertiesFollowTheRegisterModel) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::Connect(DriverOptions(*t));
  ASSERT_TRUE(d.ok()) << d.error().message;
  TcpDriver& drv = *d.value();
  auto cap = drv.PropertyGet(reg::kCap, true);
  ASSERT_TRUE(cap.ok());
  reg::Cap c{cap.value()};
  EXPECT_EQ(c.mqes(), t->core().config().controller.mqes);
  EXPECT_GE(c.to(), 2);
  EXPECT_EQ(c.css() & 1, 1);     // NVM command set
  EXPECT_EQ(c.css() & 0x40, 0);  // not "I/O command sets": the host then writes CC.CSS 0
  EXPECT_EQ(c.mpsmin(), 0);
  EXPECT_EQ((cap.value() >> 59) & 3, 0u);  // CRMS 0
  auto vs = drv.PropertyGet(reg::kVs);
  ASSERT_TRUE(vs.ok());
  EXPECT_GE(vs.value(), 0x00010300u);
  // CC.EN=1: CSTS.RDY is 1 by the time the Property Set completes.
  auto set = drv.PropertySet(reg::kCc, (6u << 16) | (4u << 20) | 1u);
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(StatusOf(set.value()).ok());
  auto csts = drv.PropertyGet(reg::kCsts);
  ASSERT_TRUE(csts.ok());
  EXPECT_EQ(csts.value() & reg::kCstsRdy, reg::kCstsRdy);
  auto cc = drv.PropertyGet(reg::kCc);
  ASSERT_TRUE(cc.ok());
  EXPECT_EQ(cc.value(), (6u << 16) | (4u << 20) | 1u);
  ASSERT_TRUE(drv.Disable().ok());
  ASSERT_TRUE(drv.Enable().ok());
  auto sd = drv.Shutdown();
  ASSERT_TRUE(sd.ok()) << sd.error().message;
  csts = drv.PropertyGet(reg::kCsts);
  EXPECT_EQ((csts.value() & reg::kCstsShstMask) >> reg::kCstsShstShift, reg::kShstComplete);
}

TEST(TcpConnect, InvalidPropertyAccessesAreInvalidField) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::Connect(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  TcpDriver& drv = *d.value();
  EXPECT_FALSE(drv.PropertyGet(reg::kCap, false).ok());  // CAP is 8 bytes
  EXPECT_FALSE(drv.PropertyGet(reg::kCc, true).ok());    // CC is 4 bytes
  EXPECT_FALSE(drv.PropertyGet(reg::kAqa).ok());         // PCIe only
  EXPECT_FALSE(drv.PropertyGet(reg::kIntms).ok());       // PCIe only
  auto r = drv.PropertySet(reg::kVs, 0x00020000);        // read-only
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidField));
  r = drv.PropertySet(reg::kAsq, 0x1000, true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidField));
}

TEST(TcpConnect, AdminCommandsNeedAnEnabledController) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::Connect(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  Sqe s{};
  s.opc = fabrics::kOpIdentify;
  s.cdw10 = 1;
  std::vector<uint8_t> buf(4096);
  auto r = d.value()->Admin(s, {}, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kCommandSequenceError));
  // Keep Alive is accepted any time after Connect.
  auto ka = d.value()->KeepAlive();
  ASSERT_TRUE(ka.ok());
  EXPECT_TRUE(StatusOf(ka.value()).ok());
}

TEST(TcpConnect, CommandsBeforeConnectAreCommandSequenceErrors) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto q = OpenQueue(*t);
  ASSERT_TRUE(q);
  Sqe s{};
  s.opc = fabrics::kOpIdentify;
  s.cdw10 = 1;
  std::vector<uint8_t> buf(4096);
  auto r = q->Execute(s, {}, buf);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kCommandSequenceError));
  Sqe pg{};
  pg.opc = fabrics::kOpFabrics;
  pg.nsid = static_cast<uint8_t>(fabrics::Fctype::kPropertyGet);
  pg.cdw10 = 1;
  r = q->Execute(pg);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kCommandSequenceError));
  // A write with data in the capsule, before Connect: the data is consumed, the command refused.
  std::vector<uint8_t> data(4096, 0xab);
  r = q->Execute(host::TcpDriver::ReadWriteSqe(0x01, 1, 0, 8), data);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kCommandSequenceError));
  // The queue still connects afterwards.
  Cqe c = ConnectRaw(*q, DriverOptions(*t), 0, 31, fabrics::kCntlidDynamic);
  EXPECT_TRUE(StatusOf(c).ok());
  // A second Connect on a connected queue.
  c = ConnectRaw(*q, DriverOptions(*t), 0, 31, fabrics::kCntlidDynamic);
  EXPECT_TRUE(StatusOf(c).same_code(sc::kCommandSequenceError));
}

TEST(TcpConnect, UnknownSubsystemIsInvalidParameterAtSubnqn) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::Connect(DriverOptions(*t, "nqn.2026-11.dev.nvemu:nope"));
  ASSERT_FALSE(d.ok());
  auto q = OpenQueue(*t);
  Cqe c = ConnectRaw(*q, DriverOptions(*t, "nqn.2026-11.dev.nvemu:nope"), 0, 31, 0xffff);
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, (1u << 16) | 256u);
  EXPECT_EQ(t->controller_count(), 0u);
}

TEST(TcpConnect, AllowedHostsRefuseOthers) {
  TargetConfig cfg = TestConfig();
  cfg.subsystems[0].allowed_hosts = {"nqn.2014-08.org.nvmexpress:uuid:allowed"};
  auto t = StartTarget(cfg);
  ASSERT_TRUE(t);
  auto refused = TcpDriver::Connect(DriverOptions(*t));
  ASSERT_FALSE(refused.ok());
  auto q = OpenQueue(*t);
  Cqe c = ConnectRaw(*q, DriverOptions(*t), 0, 31, 0xffff);
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidHost));
  auto o = DriverOptions(*t);
  o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:allowed";
  auto ok = TcpDriver::ConnectAndEnable(o);
  EXPECT_TRUE(ok.ok()) << (ok.ok() ? "" : ok.error().message);
}

TEST(TcpConnect, AdminConnectParameterErrors) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto q = OpenQueue(*t);
  ASSERT_TRUE(q);
  auto o = DriverOptions(*t);
  Cqe c = ConnectRaw(*q, o, 0, 31, 5);  // a specific CNTLID: not the dynamic model
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, (1u << 16) | 16u);
  c = ConnectRaw(*q, o, 0, 0, 0xffff);  // SQSIZE 0
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, 44u);
  c = ConnectRaw(*q, o, 0, 4096, 0xffff);  // above MQES
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, 44u);
  c = ConnectRaw(*q, o, 0, 31, 0xffff, 1);  // RECFMT 1
  EXPECT_TRUE(StatusOf(c).same_code(kIncompatibleFormat));
  auto o2 = o;
  o2.hostnqn = "";
  c = ConnectRaw(*q, o2, 0, 31, 0xffff);
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, (1u << 16) | 512u);
  EXPECT_EQ(t->controller_count(), 0u);
}

TEST(TcpConnect, IoConnectParameterErrors) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto o = DriverOptions(*t);
  auto d = TcpDriver::Connect(o);
  ASSERT_TRUE(d.ok());
  const uint16_t cntlid = d.value()->cntlid();
  // Controller not enabled yet.
  auto q = OpenQueue(*t);
  Cqe c = ConnectRaw(*q, o, 1, 31, cntlid);
  EXPECT_TRUE(StatusOf(c).same_code(sc::kCommandSequenceError));
  ASSERT_TRUE(d.value()->Enable().ok());
  q = OpenQueue(*t);
  c = ConnectRaw(*q, o, 1, 31, cntlid + 100);  // no such controller
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, (1u << 16) | 16u);
  auto other = o;
  other.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:someone-else";
  c = ConnectRaw(*q, other, 1, 31, cntlid);  // another host's controller
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, (1u << 16) | 512u);
  auto badid = o;
  badid.hostid[0] ^= 0xff;
  c = ConnectRaw(*q, badid, 1, 31, cntlid);
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, (1u << 16) | 0u);
  c = ConnectRaw(*q, o, 1000, 31, cntlid);  // QID above the queue limit
  EXPECT_TRUE(StatusOf(c).same_code(kConnectInvalidParameters));
  EXPECT_EQ(c.dw0, 42u);
  c = ConnectRaw(*q, o, 1, 31, cntlid);
  EXPECT_TRUE(StatusOf(c).ok());
  EXPECT_EQ(c.dw0 & 0xffff, cntlid);
  auto q2 = OpenQueue(*t);
  c = ConnectRaw(*q2, o, 1, 31, cntlid);  // QID 1 exists
  EXPECT_TRUE(StatusOf(c).same_code(sc::kCommandSequenceError));
}

TEST(TcpConnect, QueueCreationCommandsAreInvalidOnFabrics) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  for (uint8_t opc : {fabrics::kOpCreateIoCq, fabrics::kOpCreateIoSq, fabrics::kOpDeleteIoSq,
                      fabrics::kOpDeleteIoCq}) {
    Sqe s{};
    s.opc = opc;
    s.cdw10 = 1 | (63u << 16);
    auto r = d.value()->Admin(s);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidOpcode)) << int(opc);
  }
}

TEST(TcpConnect, DisconnectClosesAnIoQueueNotTheAdminQueue) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto io = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(io.ok()) << io.error().message;
  Sqe s{};
  s.opc = fabrics::kOpFabrics;
  s.nsid = static_cast<uint8_t>(fabrics::Fctype::kDisconnect);
  auto r = d.value()->Admin(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(Status::CommandSpecific(0x85)));  // Invalid Queue Type
  r = io.value()->Execute(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).ok());
  EXPECT_TRUE(io.value()->WaitClosed(std::chrono::milliseconds(2000)));
  // The admin queue and the controller remain; QID 1 may connect again.
  auto again = d.value()->ConnectIoQueue(1, 32);
  EXPECT_TRUE(again.ok()) << (again.ok() ? "" : again.error().message);
}

TEST(TcpConnect, ControllerResetClosesIoQueues) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto io = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(io.ok());
  ASSERT_TRUE(d.value()->Disable().ok());
  EXPECT_TRUE(io.value()->WaitClosed(std::chrono::milliseconds(2000)));
  // Set Features Number of Queues works again once no I/O queue exists.
  ASSERT_TRUE(d.value()->Enable().ok());
  EXPECT_TRUE(WaitFor([&] { return d.value()->SetNumberOfQueues(2).ok(); }));
  EXPECT_TRUE(d.value()->ConnectIoQueue(1, 32).ok());
}

TEST(TcpConnect, ClosingTheAdminQueueEndsTheAssociation) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto io = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(io.ok());
  // Keep the I/O queue, drop only the admin connection.
  ::shutdown(d.value()->admin().fd(), SHUT_RDWR);
  EXPECT_TRUE(io.value()->WaitClosed(std::chrono::milliseconds(2000)));
  EXPECT_TRUE(WaitFor([&] { return t->controller_count() == 0; }));
}

}  // namespace
}  // namespace nvemu::tcp::testing
