// NVMe Base 2.0, 5.17 Identify command: CDW10[7:0] CNS selects the data structure; CDW11[31:24] CSI.
#include <nvme/types.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "core/admin/admin_cmd.h"
#include "core/controller.h"

static_assert(std::endian::native == std::endian::little, "wire structs assume a little-endian host");
static_assert(sizeof(nvme_id_ctrl) == 4096 && sizeof(nvme_id_ns) == 4096);

namespace nvemu {
namespace {

// NVMe Base 2.0, Figure 273: CNS values.
constexpr uint8_t kCnsNamespace = 0x00;
constexpr uint8_t kCnsController = 0x01;
constexpr uint8_t kCnsActiveNsList = 0x02;
constexpr uint8_t kCnsNsDescriptors = 0x03;
constexpr uint8_t kCnsCsiNamespace = 0x05;
constexpr uint8_t kCnsCsiController = 0x06;
constexpr uint8_t kCsiNvm = 0x00;

constexpr size_t kIdentifySize = 4096;

// ASCII fields are space padded, not NUL terminated (NVMe Base 2.0, 1.5 "ASCII string").
void CopyAscii(char* dst, size_t len, const std::string& src) {
  std::memset(dst, ' ', len);
  std::memcpy(dst, src.data(), std::min(len, src.size()));
}

Status IdentifyController(Controller& ctrl, Request& req) {
  const ControllerConfig& c = ctrl.config();
  nvme_id_ctrl id{};
  id.vid = c.vendor_id;
  id.ssvid = c.subsystem_vendor_id;
  CopyAscii(id.sn, sizeof(id.sn), c.serial);
  CopyAscii(id.mn, sizeof(id.mn), c.model);
  CopyAscii(id.fr, sizeof(id.fr), c.firmware_revision);
  id.rab = 6;
  id.mdts = c.mdts;
  id.cntlid = ctrl.cntlid();
  id.ver = reg::kVersion20;
  id.cntrltype = 1;  // I/O controller
  id.acl = 3;        // Abort Command Limit, 0's based
  id.aerl = 3;       // Asynchronous Event Request Limit, 0's based
  id.frmw = 1u << 1;  // one firmware slot
  id.npss = 0;        // one power state
  id.psd[0].mp = 2500;  // 25.00 W
  id.wctemp = 343;      // 70 C, in Kelvin
  id.cctemp = 358;      // 85 C
  id.sqes = 0x66;       // 64-byte SQ entries
  id.cqes = 0x44;       // 16-byte CQ entries
  id.nn = ctrl.nn();
  // VWC: bit 0 a volatile write cache is present; bits 2:1 = 11b Flush accepts NSID FFFFFFFFh.
  id.vwc = 0x7;
  std::strncpy(id.subnqn, c.subnqn.c_str(), sizeof(id.subnqn) - 1);
  return req.data->Push(&id, sizeof(id));
}

Status IdentifyNamespace(Controller& ctrl, Request& req) {
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  nvme_id_ns id{};
  if (Namespace* ns = ctrl.GetNamespace(nsid)) {
    id.nsze = ns->nsze();
    id.ncap = ns->nsze();
    id.nuse = std::min<uint64_t>(ns->nsze(), ns->backend().AllocatedBytes() >> ns->lba_shift());
    id.nlbaf = kLbaFormats.size() - 1;  // 0's based
    id.flbas = ns->lbaf();
    for (size_t i = 0; i < kLbaFormats.size(); ++i) {
      id.lbaf[i].ms = kLbaFormats[i].ms;
      id.lbaf[i].ds = kLbaFormats[i].lbads;
      id.lbaf[i].rp = kLbaFormats[i].rp;
    }
    uint64_t bytes = ns->nsze() << ns->lba_shift();
    std::memcpy(id.nvmcap, &bytes, sizeof(bytes));
    std::memcpy(id.nguid, ns->nguid().data(), 16);
    std::memcpy(id.eui64, ns->eui64().data(), 8);
  }
  // An inactive NSID within 1..NN returns a zero-filled structure (5.17.2.1).
  return req.data->Push(&id, sizeof(id));
}

// CNS 02h: up to 1024 active NSIDs greater than CDW1.NSID, ascending.
Status IdentifyActiveNsList(Controller& ctrl, Request& req) {
  if (req.sqe.nsid >= 0xfffffffe) return sc::kInvalidNamespaceOrFormat;
  uint32_t list[1024] = {};
  size_t n = 0;
  for (uint32_t nsid = req.sqe.nsid + 1; nsid <= ctrl.nn() && n < 1024; ++nsid) {
    if (ctrl.GetNamespace(nsid) != nullptr) list[n++] = nsid;
  }
  return req.data->Push(list, sizeof(list));
}

// CNS 03h: Namespace Identification Descriptor list (5.17.2.4, Figure 278).
Status IdentifyNsDescriptors(Controller& ctrl, Request& req) {
  Namespace* ns = ctrl.GetNamespace(req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  uint8_t buf[kIdentifySize] = {};
  size_t off = 0;
  auto add = [&](uint8_t nidt, const uint8_t* nid, uint8_t nidl) {
    buf[off] = nidt;
    buf[off + 1] = nidl;
    std::memcpy(buf + off + 4, nid, nidl);
    off += 4 + nidl;
  };
  add(NVME_NIDT_EUI64, ns->eui64().data(), 8);
  add(NVME_NIDT_NGUID, ns->nguid().data(), 16);
  add(NVME_NIDT_UUID, ns->uuid().data(), 16);
  uint8_t csi = kCsiNvm;
  add(NVME_NIDT_CSI, &csi, 1);
  return req.data->Push(buf, sizeof(buf));
}

// CNS 05h with CSI 00h: I/O Command Set specific Identify Namespace for the NVM command set
// (NVM Command Set 1.0, 4.1.5.2).
Status IdentifyCsiNamespace(Controller& ctrl, Request& req) {
  if (((req.sqe.cdw11 >> 24) & 0xff) != kCsiNvm) return sc::kInvalidField;
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  nvme_nvm_id_ns id{};
  return req.data->Push(&id, sizeof(id));
}

// CNS 06h with CSI 00h: I/O Command Set specific Identify Controller for the NVM command set
// (NVM Command Set 1.0, 4.1.5.1). Zero limits mean "no limit beyond MDTS".
Status IdentifyCsiController(Controller&, Request& req) {
  if (((req.sqe.cdw11 >> 24) & 0xff) != kCsiNvm) return sc::kInvalidField;
  nvme_id_ctrl_nvm id{};
  return req.data->Push(&id, sizeof(id));
}

}  // namespace

Status AdminIdentify(Controller& ctrl, Request& req) {
  uint8_t cns = req.sqe.cdw10 & 0xff;
  switch (cns) {
    case kCnsNamespace:
      return IdentifyNamespace(ctrl, req);
    case kCnsController:
      return IdentifyController(ctrl, req);
    case kCnsActiveNsList:
      return IdentifyActiveNsList(ctrl, req);
    case kCnsNsDescriptors:
      return IdentifyNsDescriptors(ctrl, req);
    case kCnsCsiNamespace:
      return IdentifyCsiNamespace(ctrl, req);
    case kCnsCsiController:
      return IdentifyCsiController(ctrl, req);
    default:
      spdlog::debug("admin: Identify CNS {:#x} not supported", cns);
      return sc::kInvalidField;
  }
}

}  // namespace nvemu
