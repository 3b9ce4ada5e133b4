// TcpDriver: one NVMe over Fabrics host association over NVMe/TCP (NVMe Base 2.0, 3.3 and 6).
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "core/fabrics/fabrics.h"
#include "nvemu/host/tcp_initiator.h"
#include "spec/registers.h"

namespace nvemu::host {
namespace {

Status StatusOf(const Cqe& cqe) { return Status::FromField(cqe.status_field()); }

Result<void> Check(const Result<Cqe>& r, const char* what) {
  if (!r.ok()) return Error{fmt::format("{}: {}", what, r.error().message)};
  Status st = StatusOf(r.value());
  if (!st.ok()) return Error{fmt::format("{}: {}", what, st.ToString())};
  return {};
}

// A refused Connect: the fabrics status name (NVMe Base 2.0, Figure 542) with the NVMe status.
std::string ConnectRefusal(Status st, uint32_t dw0) {
  const char* name = nullptr;
  if (st.sct() == Sct::kCommandSpecific) {
    switch (st.sc()) {
      case 0x80:
        name = "Connect Incompatible Format";
        break;
      case 0x81:
        name = "Connect Controller Busy";
        break;
      case 0x82:
        name = "Connect Invalid Parameters (unknown subsystem NQN, CNTLID or QID?)";
        break;
      case 0x83:
        name = "Connect Restart Discovery";
        break;
      case 0x84:
        name = "Connect Invalid Host (host NQN not allowed)";
        break;
      default:
        break;
    }
  }
  return fmt::format("Connect refused: {}{}{} (DW0 {:#x})", name ? name : "", name ? ": " : "",
                     st.ToString(), dw0);
}

Sqe FabricsSqe(fabrics::Fctype fctype) {
  Sqe s{};
  s.opc = fabrics::kOpFabrics;
  s.nsid = static_cast<uint8_t>(fctype);  // FCTYPE is SQE byte 4
  return s;
}

}  // namespace

Sqe TcpDriver::ConnectSqe(uint16_t qid, uint16_t sqsize, uint8_t cattr, uint32_t kato) {
  Sqe s = FabricsSqe(fabrics::Fctype::kConnect);
  s.cdw10 = static_cast<uint32_t>(qid) << 16;  // RECFMT 0
  s.cdw11 = sqsize | (static_cast<uint32_t>(cattr) << 16);
  s.cdw12 = kato;
  return s;
}

std::vector<uint8_t> TcpDriver::ConnectData(const TcpDriverOptions& o, uint16_t cntlid) {
  fabrics::ConnectData d{};
  std::memcpy(d.hostid, o.hostid.data(), sizeof(d.hostid));
  d.cntlid = cntlid;
  std::strncpy(d.subnqn, o.subnqn.c_str(), sizeof(d.subnqn) - 1);
  std::strncpy(d.hostnqn, o.hostnqn.c_str(), sizeof(d.hostnqn) - 1);
  std::vector<uint8_t> v(sizeof(d));
  std::memcpy(v.data(), &d, sizeof(d));
  return v;
}

Sqe TcpDriver::ReadWriteSqe(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb) {
  Sqe s{};
  s.opc = opc;
  s.nsid = nsid;
  s.cdw10 = static_cast<uint32_t>(slba);
  s.cdw11 = static_cast<uint32_t>(slba >> 32);
  s.cdw12 = (nlb - 1) & 0xffff;
  return s;
}

Result<Cqe> FabricsConnect(TcpQueue& queue, const TcpDriverOptions& options, uint16_t qid,
                           uint16_t sqsize, uint16_t cntlid) {
  uint8_t cattr = options.disable_sq_flow ? fabrics::kCattrDisableSqFlow : 0;
  Sqe s = TcpDriver::ConnectSqe(qid, sqsize, cattr, qid == 0 ? options.kato_ms : 0);
  std::vector<uint8_t> data = TcpDriver::ConnectData(options, cntlid);
  return queue.Execute(s, data);
}

TcpDriver::~TcpDriver() = default;

Result<std::unique_ptr<TcpDriver>> TcpDriver::Connect(const TcpDriverOptions& options) {
  std::unique_ptr<TcpDriver> d(new TcpDriver(options));
  TcpQueueOptions qo;
  qo.header_digest = options.header_digest;
  qo.data_digest = options.data_digest;
  qo.timeout = options.timeout;
  auto q = TcpQueue::Open(options.address, options.port, qo);
  if (!q.ok()) return q.error();
  d->admin_ = std::move(q.value());
  d->admin_->set_entries(options.admin_entries);
  auto cqe =
      FabricsConnect(*d->admin_, options, 0, options.admin_entries - 1, fabrics::kCntlidDynamic);
  if (!cqe.ok()) return Error{fmt::format("Connect: {}", cqe.error().message)};
  d->connect_status_ = StatusOf(cqe.value());
  d->connect_dw0_ = cqe.value().dw0;
  if (!d->connect_status_.ok()) {
    return Error{ConnectRefusal(d->connect_status_, cqe.value().dw0)};
  }
  d->cntlid_ = static_cast<uint16_t>(cqe.value().dw0);
  return d;
}

Result<std::unique_ptr<TcpDriver>> TcpDriver::ConnectAndEnable(const TcpDriverOptions& options) {
  auto d = Connect(options);
  if (!d.ok()) return d.error();
  if (auto r = d.value()->Enable(); !r.ok()) return r.error();
  auto id = d.value()->IdentifyController();
  if (!id.ok()) return id.error();
  if (id.value().cntlid != d.value()->cntlid()) {
    return Error{fmt::format("Mismatching cntlid: Connect {} vs Identify {}", d.value()->cntlid(),
                             id.value().cntlid)};
  }
  return std::move(d.value());
}

Result<uint64_t> TcpDriver::PropertyGet(uint32_t offset, bool eight_bytes) {
  Sqe s = FabricsSqe(fabrics::Fctype::kPropertyGet);
  s.cdw10 = eight_bytes ? 1 : 0;
  s.cdw11 = offset;
  auto r = admin_->Execute(s);
  if (auto c = Check(r, "Property Get"); !c.ok()) return c.error();
  return (static_cast<uint64_t>(r.value().dw1) << 32) | r.value().dw0;
}

Result<Cqe> TcpDriver::PropertySet(uint32_t offset, uint64_t value, bool eight_bytes) {
  Sqe s = FabricsSqe(fabrics::Fctype::kPropertySet);
  s.cdw10 = eight_bytes ? 1 : 0;
  s.cdw11 = offset;
  s.cdw12 = static_cast<uint32_t>(value);
  s.cdw13 = static_cast<uint32_t>(value >> 32);
  return admin_->Execute(s);
}

Result<void> TcpDriver::WaitCsts(uint32_t mask, uint32_t value, const char* what) {
  auto cap = PropertyGet(reg::kCap, true);
  if (!cap.ok()) return cap.error();
  const auto timeout = std::chrono::milliseconds(500) * (reg::Cap{cap.value()}.to() + 1);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto csts = PropertyGet(reg::kCsts);
    if (!csts.ok()) return csts.error();
    if ((csts.value() & mask) == value) return {};
    if (csts.value() & reg::kCstsCfs) return Error{fmt::format("{}: CSTS.CFS set", what)};
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{fmt::format("{}: timed out (CSTS {:#x})", what, csts.value())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// NVMe Base 2.0, 3.5.2 (fabrics initialization): CAP, then CC with EN, then wait for CSTS.RDY.
Result<void> TcpDriver::Enable() {
  if (auto cap = PropertyGet(reg::kCap, true); !cap.ok()) return cap.error();
  uint32_t cc = (6u << 16) | (4u << 20) | 1u;  // IOSQES 6, IOCQES 4, MPS 0, CSS NVM, EN
  if (auto r = Check(PropertySet(reg::kCc, cc), "Property Set CC"); !r.ok()) return r;
  return WaitCsts(reg::kCstsRdy, reg::kCstsRdy, "enable");
}

Result<void> TcpDriver::Disable() {
  auto cc = PropertyGet(reg::kCc);
  if (!cc.ok()) return cc.error();
  if (auto r = Check(PropertySet(reg::kCc, cc.value() & ~1ull), "Property Set CC"); !r.ok()) {
    return r;
  }
  return WaitCsts(reg::kCstsRdy, 0, "disable");
}

Result<void> TcpDriver::Shutdown() {
  auto cc = PropertyGet(reg::kCc);
  if (!cc.ok()) return cc.error();
  uint64_t v = (cc.value() & ~(3ull << 14)) | (uint64_t{reg::kShnNormal} << 14);
  if (auto r = Check(PropertySet(reg::kCc, v), "Property Set CC"); !r.ok()) return r;
  return WaitCsts(reg::kCstsShstMask, reg::kShstComplete << reg::kCstsShstShift, "shutdown");
}

Result<Cqe> TcpDriver::Admin(const Sqe& sqe, std::span<const uint8_t> out, std::span<uint8_t> in) {
  return admin_->Execute(sqe, out, in);
}

Result<nvme_id_ctrl> TcpDriver::IdentifyController() {
  nvme_id_ctrl id{};
  Sqe s{};
  s.opc = fabrics::kOpIdentify;
  s.cdw10 = 0x01;
  auto r = Admin(s, {}, {reinterpret_cast<uint8_t*>(&id), sizeof(id)});
  if (auto c = Check(r, "Identify Controller"); !c.ok()) return c.error();
  // I/O queues take writes up to IOCCSZ * 16 - 64 bytes in-capsule.
  ioccsz_bytes_ = id.ioccsz >= 4 ? id.ioccsz * 16 - 64 : 0;
  return id;
}

Result<nvme_id_ns> TcpDriver::IdentifyNamespace(uint32_t nsid) {
  nvme_id_ns id{};
  Sqe s{};
  s.opc = fabrics::kOpIdentify;
  s.nsid = nsid;
  s.cdw10 = 0x00;
  auto r = Admin(s, {}, {reinterpret_cast<uint8_t*>(&id), sizeof(id)});
  if (auto c = Check(r, "Identify Namespace"); !c.ok()) return c.error();
  return id;
}

Result<uint32_t> TcpDriver::SetNumberOfQueues(uint16_t count) {
  Sqe s{};
  s.opc = fabrics::kOpSetFeatures;
  s.cdw10 = 0x07;
  s.cdw11 = (count - 1u) | ((count - 1u) << 16);
  auto r = Admin(s);
  if (auto c = Check(r, "Set Features Number of Queues"); !c.ok()) return c.error();
  return r.value().dw0;
}

Result<Cqe> TcpDriver::KeepAlive() {
  Sqe s{};
  s.opc = fabrics::kOpKeepAlive;
  return Admin(s);
}

Result<std::vector<uint8_t>> TcpDriver::GetLogPage(uint8_t lid, uint32_t len, uint64_t offset) {
  std::vector<uint8_t> buf(len);
  const uint32_t numd = len / 4 - 1;
  Sqe s{};
  s.opc = fabrics::kOpGetLogPage;
  s.cdw10 = lid | ((numd & 0xffff) << 16);
  s.cdw11 = numd >> 16;
  s.cdw12 = static_cast<uint32_t>(offset);
  s.cdw13 = static_cast<uint32_t>(offset >> 32);
  auto r = Admin(s, {}, buf);
  if (auto c = Check(r, "Get Log Page"); !c.ok()) return c.error();
  return buf;
}

// As libnvme 1.3 reads it: the header, then header + records in 4 KiB pieces, retried while
// GENCTR changes.
Result<std::vector<nvmf_disc_log_entry>> TcpDriver::DiscoveryEntries() {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto hdr = GetLogPage(fabrics::kLidDiscovery, 1024);
    if (!hdr.ok()) return hdr.error();
    uint64_t genctr, numrec;
    std::memcpy(&genctr, hdr.value().data(), 8);
    std::memcpy(&numrec, hdr.value().data() + 8, 8);
    const size_t total = 1024 + numrec * 1024;
    std::vector<uint8_t> all;
    for (size_t off = 0; off < total; off += 4096) {
      auto part = GetLogPage(fabrics::kLidDiscovery,
                             static_cast<uint32_t>(std::min<size_t>(4096, total - off)), off);
      if (!part.ok()) return part.error();
      all.insert(all.end(), part.value().begin(), part.value().end());
    }
    uint64_t genctr2;
    std::memcpy(&genctr2, all.data(), 8);
    if (genctr2 != genctr) continue;
    std::vector<nvmf_disc_log_entry> entries(numrec);
    for (size_t i = 0; i < numrec; ++i) {
      std::memcpy(&entries[i], all.data() + 1024 + i * 1024, sizeof(nvmf_disc_log_entry));
    }
    return entries;
  }
  return Error{"discover genctr mismatch"};
}

Result<TcpQueue*> TcpDriver::ConnectIoQueue(uint16_t qid, uint16_t entries) {
  TcpQueueOptions qo;
  qo.header_digest = options_.header_digest;
  qo.data_digest = options_.data_digest;
  qo.timeout = options_.timeout;
  auto q = TcpQueue::Open(options_.address, options_.port, qo);
  if (!q.ok()) return q.error();
  q.value()->set_entries(entries);
  auto cqe = FabricsConnect(*q.value(), options_, qid, entries - 1, cntlid_);
  if (!cqe.ok()) return Error{fmt::format("I/O Connect: {}", cqe.error().message)};
  connect_status_ = StatusOf(cqe.value());
  connect_dw0_ = cqe.value().dw0;
  if (!connect_status_.ok()) {
    return Error{"I/O " + ConnectRefusal(connect_status_, cqe.value().dw0)};
  }
  q.value()->set_in_capsule_limit(ioccsz_bytes_);
  if (io_.size() <= qid) io_.resize(qid + 1u);
  io_[qid] = std::move(q.value());
  return io_[qid].get();
}

TcpQueue* TcpDriver::io_queue(uint16_t qid) { return qid < io_.size() ? io_[qid].get() : nullptr; }

void TcpDriver::CloseIoQueue(uint16_t qid) {
  if (qid < io_.size()) io_[qid].reset();
}

}  // namespace nvemu::host
