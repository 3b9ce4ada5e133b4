// NVMe Base 2.0, 5.17 Identify command: CDW10[7:0] CNS selects the data structure (Figure 273),
// CDW10[31:16] CNTID, CDW11[31:24] CSI. One function per CNS, selected through a table.
#include <nvme/types.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <string>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/admin/identify_data.h"
#include "core/controller.h"
#include "nvm/io_cmd.h"

static_assert(std::endian::native == std::endian::little,
              "wire structs assume a little-endian host");
static_assert(sizeof(nvme_id_ctrl) == 4096 && sizeof(nvme_id_ns) == 4096);
static_assert(sizeof(nvme_id_independent_id_ns) == 4096 && sizeof(nvme_ctrl_list) == 4096);
static_assert(sizeof(nvme_id_iocs) == 4096);

namespace nvemu {
namespace {

constexpr uint8_t kCsiNvm = 0x00;
constexpr uint32_t kBroadcastNsid = 0xffffffff;
constexpr size_t kIdentifySize = 4096;

// ASCII fields are space padded, not NUL terminated (NVMe Base 2.0, 1.5 "ASCII string").
void CopyAscii(char* dst, size_t len, const std::string& src) {
  std::memset(dst, ' ', len);
  std::memcpy(dst, src.data(), std::min(len, src.size()));
}

void Put128(uint8_t (&dst)[16], uint64_t v) {
  std::memset(dst, 0, sizeof(dst));
  std::memcpy(dst, &v, sizeof(v));
}

// ONCS (Figure 275): optional NVM commands from the I/O dispatch table, plus Save/Select in
// Set/Get Features (bit 4) and the Timestamp feature (bit 6).
uint16_t Oncs() {
  uint16_t oncs = (1u << 4) | (1u << 6);
  if (IsIoCommandSupported(0x05)) oncs |= 1u << 0;  // Compare
  if (IsIoCommandSupported(0x04)) oncs |= 1u << 1;  // Write Uncorrectable
  if (IsIoCommandSupported(0x09)) oncs |= 1u << 2;  // Dataset Management
  if (IsIoCommandSupported(0x08)) oncs |= 1u << 3;  // Write Zeroes
  if (IsIoCommandSupported(0x0c)) oncs |= 1u << 7;  // Verify
  if (IsIoCommandSupported(0x19)) oncs |= 1u << 8;  // Copy
  if (IsIoCommandSupported(0x0d)) oncs |= 1u << 5;  // Reservations
  return oncs;
}

// CNS 01h: Identify Controller (5.17.2.1, Figure 275).
Status IdentifyController(Controller& ctrl, Request& req) {
  const ControllerConfig& c = ctrl.config();
  const AdminState& a = ctrl.admin_state();
  nvme_id_ctrl id{};
  id.vid = c.vendor_id;
  id.ssvid = c.subsystem_vendor_id;
  CopyAscii(id.sn, sizeof(id.sn), c.serial);
  CopyAscii(id.mn, sizeof(id.mn), c.model);
  // FR: the revision of the active firmware slot (changes after activation, 5.12).
  CopyAscii(id.fr, sizeof(id.fr), a.firmware.slots[a.firmware.active - 1].revision);
  id.rab = 6;
  id.mdts = c.mdts;
  id.cntlid = ctrl.cntlid();
  id.ver = reg::kVersion20;
  id.oaes = kAecNamespaceAttribute | kAecFirmwareActivation;  // bits 8, 9: the notices we send
  id.ctratt = 1u << 0;                                        // 128-bit Host Identifier
  id.cntrltype = 1;                                           // I/O controller
  // OACS: Format NVM (bit 1), Firmware Download/Commit (bit 2), Namespace Management (bit 3),
  // Device Self-test (bit 4), Doorbell Buffer Config (bit 8; memory-based controllers only: NVMe
  // over Fabrics has no doorbells, 5.11).
  id.oacs = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
  if (!ctrl.message_based()) id.oacs |= 1u << 8;
  id.acl = kAcl;
  id.aerl = kAerl;
  // FRMW: slot 1 read-only (bit 0), number of slots (bits 3:1), activation without reset (bit 4).
  id.frmw = (c.firmware_slot1_read_only ? 1u : 0u) | (c.firmware_slots << 1) | (1u << 4);
  // LPA: Commands Supported and Effects log (bit 1), extended data / LPO (bit 2). Bit 5 stays 0:
  // it advertises the Supported Log Pages log (00h) only together with the Feature Identifiers
  // Supported and Effects (12h) and NVMe-MI Commands Supported and Effects (13h) logs and the
  // command scope (CSP) in log 05h, which nvemu does not implement; 00h itself is supported.
  id.lpa = (1u << 1) | (1u << 2);
  id.elpe = kElpe;
  id.npss = kNpss;
  id.wctemp = kWctemp;
  id.cctemp = kCctemp;
  id.mtfa = kMtfa;
  Put128(id.tnvmcap, ctrl.subsystem().capacity());
  Put128(id.unvmcap, ctrl.subsystem().capacity() - ctrl.subsystem().allocated_bytes());
  id.edstt = kEdsttMinutes;
  id.dsto = 1;     // one device self-test at a time in the NVM subsystem
  id.fwug = 0xff;  // no firmware update granularity restriction
  id.kas = kKas;
  id.sqes = 0x66;  // 64-byte SQ entries
  id.cqes = 0x44;  // 16-byte CQ entries
  id.nn = ctrl.nn();
  id.oncs = Oncs();
  id.fuses = kFusesCompareAndWrite;  // fused Compare and Write (nvm/fused.cc)
  id.ocfs = 0x3;                     // Copy Source Range Descriptor formats 0h and 1h (nvm/copy.cc)
  // SGLS (NVMe over PCIe, pcie/sgl.h kSglsSupported): SGLs without alignment, Bit Bucket, SGLs
  // longer than the data, MPTR pointing to an SGL descriptor.
  id.sgls = 0x1 | (1u << 16) | (1u << 18) | (1u << 19);
  id.ctratt |= 1u << 15;  // ELBAS: Extended LBA Formats (PIF of each format, CNS 05h)
  // VWC: bit 0 a volatile write cache is present; bits 2:1 = 11b Flush accepts NSID FFFFFFFFh.
  id.vwc = 0x7;
  std::strncpy(id.subnqn, c.subnqn.c_str(), sizeof(id.subnqn) - 1);
  // Power states (Figure 276): PS0 25 W, PS1 12 W; both operational.
  id.psd[0].mp = 2500;
  id.psd[1].mp = 1200;
  id.psd[1].enlat = 1000;
  id.psd[1].exlat = 1000;
  id.psd[1].rrt = 1;
  id.psd[1].rrl = 1;
  id.psd[1].rwt = 1;
  id.psd[1].rwl = 1;
  return req.data->Push(&id, sizeof(id));
}

// The namespace data structure (NVM Command Set 1.0, 4.1.5.1, Figure 97) of `ns`; with ns null,
// the capabilities common to all namespaces (NSID FFFFFFFFh): LBA formats only.
nvme_id_ns NamespaceData(const Namespace* ns) {
  nvme_id_ns id{};
  id.nlbaf = kLbaFormats.size() - 1;  // 0's based
  for (size_t i = 0; i < kLbaFormats.size(); ++i) {
    id.lbaf[i].ms = kLbaFormats[i].ms;
    id.lbaf[i].ds = kLbaFormats[i].lbads;
    id.lbaf[i].rp = kLbaFormats[i].rp;
  }
  if (ns == nullptr) return id;
  id.nsze = ns->nsze();
  id.ncap = ns->nsze();  // fully provisioned (NSFEAT.THINP = 0)
  id.nuse = std::min<uint64_t>(ns->nsze(), ns->backend().AllocatedBytes() >> ns->lba_shift());
  id.nsfeat = 1u << 3;  // UIDREUSE: NGUID/EUI64 are never reused
  id.flbas = ns->flbas();
  // Metadata and end-to-end protection (NVM Command Set 1.0, Figure 97): extended and separate
  // metadata; PI Types 1-3, first or last; DLFEAT: deallocated blocks read 00h (PI FFh), Write
  // Zeroes may deallocate. Copy limits MSSRL/MCL/MSRC (nvm/copy.cc).
  id.mc = 0x3;
  id.dpc = 0x1f;
  id.dps = ns->dps();
  id.dlfeat = 0x1 | (1u << 3);
  // RESCAP (NVMe Base 2.0, Figure 280): Persist Through Power Loss (bit 0), the six reservation
  // types (bits 6:1), IEKEY as defined since revision 1.3 (bit 7): nvm/reservations.h.
  id.rescap = 0xff;
  id.mssrl = 256;
  id.mcl = 1024;
  id.msrc = 127;
  uint64_t bytes = ns->nsze() << ns->lba_shift();
  std::memcpy(id.nvmcap, &bytes, sizeof(bytes));
  std::memcpy(id.nguid, ns->nguid().data(), 16);
  std::memcpy(id.eui64, ns->eui64().data(), 8);
  return id;
}

// CNS 00h: Identify Namespace of an active NSID; an inactive NSID within 1..NN returns zeros;
// FFFFFFFFh returns the common capabilities (Namespace Management is supported).
Status IdentifyNamespace(Controller& ctrl, Request& req) {
  uint32_t nsid = req.sqe.nsid;
  if (nsid == kBroadcastNsid) {
    nvme_id_ns id = NamespaceData(nullptr);
    return req.data->Push(&id, sizeof(id));
  }
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  Namespace* ns = ctrl.GetNamespace(nsid);
  nvme_id_ns id = ns ? NamespaceData(ns) : nvme_id_ns{};
  return req.data->Push(&id, sizeof(id));
}

// CNS 11h: Identify Namespace of an allocated NSID (attached or not); zeros when unallocated.
Status IdentifyAllocatedNamespace(Controller& ctrl, Request& req) {
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  Namespace* ns = ctrl.subsystem().GetAllocated(nsid);
  nvme_id_ns id = ns ? NamespaceData(ns) : nvme_id_ns{};
  return req.data->Push(&id, sizeof(id));
}

// A Namespace List (Figure 279): up to 1024 NSIDs above CDW1.NSID, ascending.
template <typename Pred>
Status NamespaceList(Controller& ctrl, Request& req, Pred include) {
  if (req.sqe.nsid >= 0xfffffffe) return sc::kInvalidNamespaceOrFormat;
  nvme_ns_list list{};
  size_t n = 0;
  for (uint32_t nsid = req.sqe.nsid + 1; nsid <= ctrl.nn() && n < 1024; ++nsid) {
    if (include(nsid)) list.ns[n++] = nsid;
  }
  return req.data->Push(&list, sizeof(list));
}

// CNS 02h: active NSIDs.
Status IdentifyActiveNsList(Controller& ctrl, Request& req) {
  return NamespaceList(ctrl, req,
                       [&](uint32_t nsid) { return ctrl.GetNamespace(nsid) != nullptr; });
}

// CNS 10h: allocated NSIDs.
Status IdentifyAllocatedNsList(Controller& ctrl, Request& req) {
  return NamespaceList(ctrl, req,
                       [&](uint32_t nsid) { return ctrl.subsystem().IsAllocated(nsid); });
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
// (NVM Command Set 1.0, 4.1.5.2): no PI or storage tag formats, so all zero.
Status IdentifyCsiNamespace(Controller& ctrl, Request& req) {
  if (((req.sqe.cdw11 >> 24) & 0xff) != kCsiNvm) {
    return InvalidFieldAt(req, offsetof(Sqe, cdw11) + 3);
  }
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  nvme_nvm_id_ns id{};
  // ELBAF (NVM Command Set 1.0, Figure 116): PIF in bits 8:7 of each LBA format; STS = 0.
  for (size_t i = 0; i < kLbaFormats.size(); ++i) id.elbaf[i] = uint32_t{kLbaFormats[i].pif} << 7;
  return req.data->Push(&id, sizeof(id));
}

// CNS 06h with CSI 00h: I/O Command Set specific Identify Controller for the NVM command set
// (NVM Command Set 1.0, 4.1.5.1). Zero limits mean "no limit beyond MDTS".
Status IdentifyCsiController(Controller&, Request& req) {
  if (((req.sqe.cdw11 >> 24) & 0xff) != kCsiNvm) {
    return InvalidFieldAt(req, offsetof(Sqe, cdw11) + 3);
  }
  nvme_id_ctrl_nvm id{};
  return req.data->Push(&id, sizeof(id));
}

// CNS 08h: I/O Command Set Independent Identify Namespace (5.17.2.8, Figure 280).
Status IdentifyIndependentNamespace(Controller& ctrl, Request& req) {
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  nvme_id_independent_id_ns id{};
  if (ctrl.GetNamespace(nsid) != nullptr) {
    id.nsfeat = 1u << 3;  // UIDREUSE, as in CNS 00h
    id.nstat = 1;         // NRDY: the namespace is ready
  }
  return req.data->Push(&id, sizeof(id));
}

// A Controller List (Figure 277): CNTLIDs >= CDW10.CNTID, ascending.
Status ControllerList(Request& req, std::vector<uint16_t> ids) {
  uint16_t from = static_cast<uint16_t>(req.sqe.cdw10 >> 16);
  std::sort(ids.begin(), ids.end());
  nvme_ctrl_list list{};
  uint16_t n = 0;
  for (uint16_t id : ids) {
    if (id >= from && n < 2047) list.identifier[n++] = id;
  }
  list.num = n;
  return req.data->Push(&list, sizeof(list));
}

// CNS 12h: controllers attached to NSID (5.17.2.11).
Status IdentifyAttachedControllers(Controller& ctrl, Request& req) {
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
  return ControllerList(req, ctrl.subsystem().AttachedControllers(nsid));
}

// CNS 13h: controllers in the NVM subsystem.
Status IdentifySubsystemControllers(Controller& ctrl, Request& req) {
  return ControllerList(req, ctrl.subsystem().ControllerIds());
}

// CNS 1Ch: I/O Command Set data structure (5.17.2.20): combination 0 = NVM command set only.
Status IdentifyIoCommandSets(Controller&, Request& req) {
  nvme_id_iocs id{};
  id.iocsc[0] = 1u << kCsiNvm;
  return req.data->Push(&id, sizeof(id));
}

using IdentifyHandler = Status (*)(Controller&, Request&);

constexpr std::array<IdentifyHandler, 256> MakeCnsTable() {
  std::array<IdentifyHandler, 256> t{};
  t[0x00] = IdentifyNamespace;
  t[0x01] = IdentifyController;
  t[0x02] = IdentifyActiveNsList;
  t[0x03] = IdentifyNsDescriptors;
  t[0x05] = IdentifyCsiNamespace;
  t[0x06] = IdentifyCsiController;
  t[0x08] = IdentifyIndependentNamespace;
  t[0x10] = IdentifyAllocatedNsList;
  t[0x11] = IdentifyAllocatedNamespace;
  t[0x12] = IdentifyAttachedControllers;
  t[0x13] = IdentifySubsystemControllers;
  t[0x1c] = IdentifyIoCommandSets;
  return t;
}
constexpr std::array<IdentifyHandler, 256> kCnsTable = MakeCnsTable();

}  // namespace

Status AdminIdentify(Controller& ctrl, Request& req) {
  uint8_t cns = req.sqe.cdw10 & 0xff;
  IdentifyHandler h = kCnsTable[cns];
  if (h == nullptr) {
    spdlog::debug("admin: Identify CNS {:#x} not supported", cns);
    return InvalidFieldAt(req, offsetof(Sqe, cdw10));
  }
  return h(ctrl, req);
}

}  // namespace nvemu
