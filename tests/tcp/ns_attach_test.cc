// Namespace Attachment per controller (NVMe Base 2.0, 5.20 and 8.12) on an NVMe/TCP subsystem with
// two controllers: Identify CNS 00h/02h (active) vs 10h/11h (allocated), CNS 12h/13h controller
// lists, the I/O path, the attachment statuses, the Changed Namespace List and Namespace Attribute
// Changed notice going only to the affected controller, and the attachment surviving a restart
// of the target (state file). No timing assertions: a controller that must not be notified is
// checked through its Changed Namespace List, and its outstanding AER is completed by a later
// change that does affect it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/fabrics/fabrics.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;

constexpr uint8_t kOpIdentify = 0x06;
constexpr uint8_t kOpNsMgmt = 0x0d;
constexpr uint8_t kOpNsAttach = 0x15;
constexpr uint8_t kOpRead = 0x02;
constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kLidChangedNs = 0x04;
constexpr uint32_t kAenNsChanged = 0x2u | (0x00u << 8) | (0x04u << 16);

TargetConfig AttachConfig(const std::string& state_file = "none") {
  TargetConfig c = TestConfig();
  c.controller.max_namespaces = 4;
  c.controller.nvm_capacity = 128ull << 20;
  c.controller.state_file = state_file;
  return c;
}

host::TcpDriverOptions HostOptions(const Target& t, char id) {
  host::TcpDriverOptions o = DriverOptions(t);
  o.hostnqn = std::string(kHostnqn).substr(0, std::string(kHostnqn).size() - 2) + id + id;
  o.hostid[15] = static_cast<uint8_t>(id);
  return o;
}

Status Run(TcpDriver& d, const Sqe& sqe, std::span<const uint8_t> out = {},
           std::span<uint8_t> in = {}, uint32_t* dw0 = nullptr) {
  auto r = d.Admin(sqe, out, in);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return sc::kInternalError;
  }
  if (dw0) *dw0 = r.value().dw0;
  return StatusOf(r.value());
}

// Identify CNS `cns` for `nsid` / controller id `cntid`.
std::vector<uint8_t> Identify(TcpDriver& d, uint8_t cns, uint32_t nsid, uint16_t cntid = 0) {
  Sqe s{};
  s.opc = kOpIdentify;
  s.nsid = nsid;
  s.cdw10 = cns | uint32_t{cntid} << 16;
  std::vector<uint8_t> buf(4096);
  EXPECT_TRUE(Run(d, s, {}, buf).ok()) << "CNS " << int(cns);
  return buf;
}

// The NSIDs of a Namespace List (Figure 279) or Changed Namespace List: up to the first zero.
std::vector<uint32_t> U32List(const std::vector<uint8_t>& buf) {
  std::vector<uint32_t> ids;
  for (size_t i = 0; i + 4 <= buf.size(); i += 4) {
    uint32_t v;
    std::memcpy(&v, buf.data() + i, 4);
    if (v == 0) break;
    ids.push_back(v);
  }
  return ids;
}

std::vector<uint32_t> NsList(TcpDriver& d, uint8_t cns) { return U32List(Identify(d, cns, 0)); }

std::vector<uint16_t> CtrlList(TcpDriver& d, uint8_t cns, uint32_t nsid) {
  auto buf = Identify(d, cns, nsid);
  uint16_t n;
  std::memcpy(&n, buf.data(), 2);
  std::vector<uint16_t> ids(n);
  if (n != 0) std::memcpy(ids.data(), buf.data() + 2, 2u * n);
  return ids;
}

uint64_t Nsze(TcpDriver& d, uint8_t cns, uint32_t nsid) {
  auto buf = Identify(d, cns, nsid);
  uint64_t v;
  std::memcpy(&v, buf.data(), 8);
  return v;
}

uint32_t CreateNamespace(TcpDriver& d, uint64_t blocks) {
  std::vector<uint8_t> data(4096);
  std::memcpy(data.data(), &blocks, 8);      // NSZE
  std::memcpy(data.data() + 8, &blocks, 8);  // NCAP
  Sqe s{};
  s.opc = kOpNsMgmt;  // SEL 0 create
  uint32_t nsid = 0;
  EXPECT_TRUE(Run(d, s, data, {}, &nsid).ok());
  return nsid;
}

Status Attach(TcpDriver& d, uint32_t nsid, bool attach, std::vector<uint16_t> ids) {
  std::vector<uint8_t> data(4096);
  uint16_t n = static_cast<uint16_t>(ids.size());
  std::memcpy(data.data(), &n, 2);
  std::memcpy(data.data() + 2, ids.data(), 2u * ids.size());
  Sqe s{};
  s.opc = kOpNsAttach;
  s.nsid = nsid;
  s.cdw10 = attach ? 0 : 1;
  return Run(d, s, data);
}

std::vector<uint32_t> ChangedList(TcpDriver& d, bool rae) {
  Sqe s{};
  s.opc = fabrics::kOpGetLogPage;
  s.cdw10 = kLidChangedNs | (rae ? 1u << 15 : 0) | ((4096 / 4 - 1) << 16);
  std::vector<uint8_t> buf(4096);
  EXPECT_TRUE(Run(d, s, {}, buf).ok());
  return U32List(buf);
}

Status Read(host::TcpQueue& q, uint32_t nsid) {
  std::vector<uint8_t> buf(512);
  auto r = q.Execute(TcpDriver::ReadWriteSqe(kOpRead, nsid, 0, 1), {}, buf);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().message;
    return sc::kInternalError;
  }
  return StatusOf(r.value());
}

bool Contains(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(TcpNamespaceAttachment, PerControllerAttachAndDetach) {
  auto t = StartTarget(AttachConfig());
  ASSERT_TRUE(t);
  auto a = TcpDriver::ConnectAndEnable(HostOptions(*t, 'a'));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto b = TcpDriver::ConnectAndEnable(HostOptions(*t, 'b'));
  ASSERT_TRUE(b.ok()) << b.error().message;
  TcpDriver& da = *a.value();
  TcpDriver& db = *b.value();
  const uint16_t ca = da.cntlid(), cb = db.cntlid();
  ASSERT_NE(ca, cb);
  auto qa = da.ConnectIoQueue(1, 8);
  ASSERT_TRUE(qa.ok()) << qa.error().message;
  auto qb = db.ConnectIoQueue(1, 8);
  ASSERT_TRUE(qb.ok()) << qb.error().message;

  // CNS 13h: both controllers of the subsystem.
  auto all = CtrlList(da, 0x13, 0);
  EXPECT_NE(std::find(all.begin(), all.end(), ca), all.end());
  EXPECT_NE(std::find(all.begin(), all.end(), cb), all.end());

  const uint32_t nsid = CreateNamespace(da, 4096);
  ASSERT_EQ(nsid, 2u);
  // Allocated, attached to no controller.
  EXPECT_TRUE(Contains(NsList(db, 0x10), nsid));
  EXPECT_FALSE(Contains(NsList(db, 0x02), nsid));
  EXPECT_TRUE(CtrlList(da, 0x12, nsid).empty());

  Sqe aer{};
  aer.opc = fabrics::kOpAsyncEventRequest;
  auto aer_a = da.admin().Submit(aer);
  ASSERT_TRUE(aer_a.ok());
  auto aer_b = db.admin().Submit(aer);
  ASSERT_TRUE(aer_b.ok());

  // Controller B attaches the namespace to controller A only.
  ASSERT_TRUE(Attach(db, nsid, true, {ca}).ok());
  auto done = da.admin().Wait(aer_a.value());
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done.value().dw0, kAenNsChanged);
  EXPECT_EQ(ChangedList(da, false), std::vector<uint32_t>{nsid});
  EXPECT_TRUE(ChangedList(db, true).empty()) << "B is not affected";

  // Active vs allocated, per controller.
  EXPECT_TRUE(Contains(NsList(da, 0x02), nsid));
  EXPECT_FALSE(Contains(NsList(db, 0x02), nsid));
  EXPECT_EQ(Nsze(da, 0x00, nsid), 4096u);
  EXPECT_EQ(Nsze(db, 0x00, nsid), 0u) << "inactive on B: zeros";
  EXPECT_EQ(Nsze(db, 0x11, nsid), 4096u) << "allocated: B sees it with CNS 11h";
  EXPECT_EQ(CtrlList(db, 0x12, nsid), std::vector<uint16_t>{ca});
  // The I/O path.
  EXPECT_TRUE(Read(*qa.value(), nsid).ok());
  EXPECT_TRUE(Read(*qb.value(), nsid).same_code(sc::kInvalidNamespaceOrFormat));
  EXPECT_TRUE(Read(*qb.value(), 1).ok()) << "namespace 1 stays attached to both";

  // Statuses.
  EXPECT_TRUE(Attach(db, nsid, true, {ca}).same_code(sc::kNamespaceAlreadyAttached));
  EXPECT_TRUE(Attach(db, nsid, false, {cb}).same_code(sc::kNamespaceNotAttached));
  EXPECT_TRUE(Attach(db, nsid, true, {cb, 0x7ff}).same_code(Status::CommandSpecific(0x1c)))
      << "unknown controller: Controller List Invalid";
  EXPECT_TRUE(Attach(db, nsid, true, {cb, cb}).same_code(Status::CommandSpecific(0x1c)))
      << "repeated controller: Controller List Invalid";
  EXPECT_FALSE(Contains(NsList(db, 0x02), nsid)) << "a failed attach changes nothing";

  // Attaching B completes B's outstanding AER: the notice reached only the affected controller.
  ASSERT_TRUE(Attach(da, nsid, true, {cb}).ok());
  done = db.admin().Wait(aer_b.value());
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done.value().dw0, kAenNsChanged);
  EXPECT_EQ(ChangedList(db, false), std::vector<uint32_t>{nsid});
  EXPECT_TRUE(ChangedList(da, true).empty());
  EXPECT_TRUE(Read(*qb.value(), nsid).ok());
  auto both = CtrlList(da, 0x12, nsid);
  std::vector<uint16_t> expect = {std::min(ca, cb), std::max(ca, cb)};
  EXPECT_EQ(both, expect);

  // Detach the configured namespace 1 (attached to all) from A only.
  ASSERT_TRUE(Attach(db, 1, false, {ca}).ok());
  EXPECT_TRUE(Read(*qa.value(), 1).same_code(sc::kInvalidNamespaceOrFormat));
  EXPECT_TRUE(Read(*qb.value(), 1).ok());
  EXPECT_EQ(CtrlList(da, 0x12, 1), std::vector<uint16_t>{cb});
  EXPECT_EQ(ChangedList(da, false), std::vector<uint32_t>{1});
  EXPECT_TRUE(ChangedList(db, true).empty());
}

// Attachment is part of the namespace table in the state file: after a restart, the controllers
// that get the same CNTLIDs (dynamic controllers are numbered from 1 in Connect order) see the
// same namespaces.
TEST(TcpNamespaceAttachment, SurvivesRestart) {
  auto dir =
      std::filesystem::temp_directory_path() / ("nvemu-ns-attach-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string state = (dir / "target.state.json").string();
  uint16_t ca = 0, cb = 0;
  {
    auto t = StartTarget(AttachConfig(state));
    ASSERT_TRUE(t);
    auto a = TcpDriver::ConnectAndEnable(HostOptions(*t, 'a'));
    ASSERT_TRUE(a.ok());
    auto b = TcpDriver::ConnectAndEnable(HostOptions(*t, 'b'));
    ASSERT_TRUE(b.ok());
    ca = a.value()->cntlid();
    cb = b.value()->cntlid();
    const uint32_t nsid = CreateNamespace(*a.value(), 2048);
    ASSERT_EQ(nsid, 2u);
    ASSERT_TRUE(Attach(*a.value(), nsid, true, {cb}).ok());
    ASSERT_TRUE(Attach(*a.value(), 1, false, {cb}).ok());
  }
  auto t = StartTarget(AttachConfig(state));
  ASSERT_TRUE(t);
  auto a = TcpDriver::ConnectAndEnable(HostOptions(*t, 'a'));
  ASSERT_TRUE(a.ok());
  auto b = TcpDriver::ConnectAndEnable(HostOptions(*t, 'b'));
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(a.value()->cntlid(), ca);
  ASSERT_EQ(b.value()->cntlid(), cb);
  EXPECT_EQ(NsList(*a.value(), 0x02), std::vector<uint32_t>{1});
  EXPECT_EQ(NsList(*b.value(), 0x02), std::vector<uint32_t>{2});
  EXPECT_EQ(NsList(*b.value(), 0x10), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(CtrlList(*a.value(), 0x12, 2), std::vector<uint16_t>{cb});
  EXPECT_EQ(CtrlList(*a.value(), 0x12, 1), std::vector<uint16_t>{ca});
  auto qb = b.value()->ConnectIoQueue(1, 8);
  ASSERT_TRUE(qb.ok());
  std::vector<uint8_t> data(512, 0x5a), back(512);
  auto w = qb.value()->Execute(TcpDriver::ReadWriteSqe(kOpWrite, 2, 3, 1), data);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(StatusOf(w.value()).ok());
  EXPECT_TRUE(Read(*qb.value(), 1).same_code(sc::kInvalidNamespaceOrFormat));
  t.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace nvemu::tcp::testing
