// Identify on a fabrics controller: the controller's own Identify data (core/admin/identify.cc),
// amended where fabrics differ.
//   - Identify Controller (NVMe Base 2.0, 5.17.2.1): the NVMe over Fabrics fields (Figure 275,
//     bytes 1792-2047, and the fields the Linux host checks): CNTRLTYPE, KAS, SGLS, CMIC, MAXCMD,
//     IOCCSZ, IORCSZ, ICDOFF, FCATT, MSDBD.
//   - Identify Namespace (NVM Command Set 1.0, 4.1.5.1): NMIC bit 0, since every controller of the
//     subsystem (one per host association) shares the namespaces; the Linux host refuses a second
//     controller's view of an unshared namespace ("Duplicate unshared namespace").
#include <nvme/types.h>

#include <algorithm>
#include <cstring>

#include "core/fabrics/queue.h"

namespace nvemu::fabrics {
namespace {

constexpr size_t kIdentifySize = 4096;
static_assert(sizeof(nvme_id_ctrl) == kIdentifySize && sizeof(nvme_id_ns) == kIdentifySize);

// Holds what a handler pushes to the host so that it can be amended before it travels.
class CaptureChannel final : public DataChannel {
 public:
  Status Prepare(uint64_t length) override {
    if (length > sizeof(buf_)) return nvemu::sc::kInvalidField;
    len_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return len_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override {
    if (dir != Direction::kToHost || offset + len > len_) return nvemu::sc::kInvalidField;
    return len ? chunk(buf_ + offset, offset, len) : Status::Success();
  }
  uint8_t* data() { return buf_; }

 private:
  uint8_t buf_[kIdentifySize] = {};
  uint64_t len_ = 0;
};

}  // namespace

Status ExecuteFabricsIdentify(FabricsController& ctrl, Request& req) {
  CaptureChannel capture;
  Request inner = req;
  inner.data = &capture;
  Status st = ctrl.controller().ExecuteAdmin(inner);
  req.dw0 = inner.dw0;
  req.dw1 = inner.dw1;
  if (!st.ok()) return st;
  if (capture.Length() != kIdentifySize) return req.data->Push(capture.data(), capture.Length());
  if ((req.sqe.cdw10 & 0xff) == 0x00) {  // CNS 00h: Identify Namespace
    nvme_id_ns ns;
    std::memcpy(&ns, capture.data(), sizeof(ns));
    if (ns.nsze != 0) ns.nmic |= NVME_NS_NMIC_SHARED;
    return req.data->Push(&ns, sizeof(ns));
  }

  nvme_id_ctrl id;
  std::memcpy(&id, capture.data(), sizeof(id));
  const TargetConfig& tc = ctrl.core().config();
  const ControllerConfig& cc = ctrl.entry().controller;
  id.cntlid = ctrl.cntlid();
  id.cntrltype = ctrl.discovery() ? NVME_CTRL_CNTRLTYPE_DISCOVERY : NVME_CTRL_CNTRLTYPE_IO;
  id.kas = tc.kas_100ms;  // keep-alive is mandatory on fabrics
  // SGLS (Figure 275): SGLs without alignment (bits 1:0 = 01b), SGL Offset (bit 20: in-capsule
  // data is an SGL Data Block with the Offset subtype), Transport SGL Data Block (bit 21: data
  // moved by R2T/H2CData/C2HData, NVMe/TCP 1.0, 3.3). No Keyed SGLs (RDMA only), no Bit Bucket,
  // no metadata SGLs (NVMe/TCP carries no separate metadata).
  id.sgls = NVME_CTRL_SGLS_SUPPORTED & 1u;
  id.sgls |= NVME_CTRL_SGLS_OFFSET | NVME_CTRL_SGLS_TPORT;
  id.cmic |= NVME_CTRL_CMIC_MULTI_CTRL;  // one controller per host association
  id.maxcmd = static_cast<uint16_t>(std::min<uint32_t>(cc.mqes + 1u, 0xffff));
  // Capsule sizes in 16-byte units: the 64-byte SQE plus the in-capsule data (admin: the NVMe/TCP
  // fixed 8 KiB, I/O: configured); the response capsule is the 16-byte CQE.
  id.ioccsz = (64 + tc.in_capsule_data) / 16;
  id.iorcsz = 1;
  id.icdoff = 0;  // in-capsule data starts right after the SQE
  id.fcatt = 0;   // dynamic controller model
  id.msdbd = 1;   // one SGL data block descriptor per command
  if (ctrl.discovery()) {
    id.nn = 0;
    // A discovery controller only reports Discovery Log Page changes (OAES bit 31), and this one
    // never changes its log at run time.
    id.oaes = 0;
    // A discovery controller supports only the admin commands of Figure 28 (Get Log Page,
    // Identify, Keep Alive, features, AER): no optional admin or NVM commands, no NVM capacity,
    // no firmware slots or self-test.
    id.oacs = 0;
    id.oncs = 0;
    id.fuses = 0;
    id.ocfs = 0;
    id.vwc = 0;
    id.frmw = 0;
    id.edstt = 0;
    id.dsto = 0;
    id.fwug = 0;
    id.mtfa = 0;
    std::memset(id.tnvmcap, 0, sizeof(id.tnvmcap));
    std::memset(id.unvmcap, 0, sizeof(id.unvmcap));
    id.lpa = 1u << 2;  // extended data for Get Log Page (the discovery log is read by offset)
    id.ctratt &= ~uint32_t{1u << 15};  // no LBA formats to extend
  }
  return req.data->Push(&id, sizeof(id));
}

}  // namespace nvemu::fabrics
