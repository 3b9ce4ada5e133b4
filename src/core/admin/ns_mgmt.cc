// NVMe Base 2.0, 5.21 Namespace Management and 5.20 Namespace Attachment.
//
// Management: CDW10 SEL[3:0] (0 create, 1 delete), CDW11 CSI[31:24]. Create takes the host
// fields of an Identify Namespace structure (NSZE, NCAP, FLBAS, DPS, NMIC) and returns the NSID in
// Dword 0; capacity comes from the NVM subsystem pool (TNVMCAP/UNVMCAP). Delete takes an NSID or
// FFFFFFFFh (all). Attachment: SEL 0 attach, 1 detach, data = a Controller List (5.20, Figure
// 277); the namespace is attached to / detached from exactly the controllers listed (core/
// subsystem.h). Every attach/detach (and a delete of an attached namespace) adds the NSID to the
// Changed Namespace List of each affected controller, and only those, and posts their Namespace
// Attribute Changed notice.
#include <nvme/types.h>

#include <algorithm>
#include <cstddef>
#include <span>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/controller.h"

namespace nvemu {
namespace {

constexpr uint8_t kSelCreate = 0;
constexpr uint8_t kSelDelete = 1;
constexpr uint8_t kSelAttach = 0;
constexpr uint8_t kSelDetach = 1;
constexpr Status kThinProvisioningNotSupported = Status::CommandSpecific(0x1b);
constexpr Status kIoCommandSetNotSupported = Status::CommandSpecific(0x29);

Status CreateNamespace(Controller& ctrl, Request& req) {
  if ((req.sqe.cdw11 >> 24) != 0) return kIoCommandSetNotSupported;  // CSI: NVM only
  nvme_id_ns id{};
  if (Status st = req.data->Pull(&id, sizeof(id)); !st.ok()) return st;
  uint32_t lbaf = (id.flbas & 0xf) | ((id.flbas >> 5) & 0x3) << 4;
  if (lbaf >= kLbaFormats.size()) return sc::kInvalidFormat;
  NamespaceFormat format{((id.flbas >> 4) & 1) != 0, static_cast<uint8_t>(id.dps & 0x7),
                         ((id.dps >> 3) & 1) != 0};
  uint16_t pi_bytes = kLbaFormats[lbaf].pif == kPif64bGuard ? 16 : 8;
  if (format.pi_type > 3 || (format.pi_type != 0 && kLbaFormats[lbaf].ms < pi_bytes)) {
    return sc::kInvalidFormat;
  }
  if (kLbaFormats[lbaf].ms == 0) format = NamespaceFormat{};
  if (id.nsze == 0) return sc::kInvalidField;
  if (id.ncap > id.nsze) return sc::kInvalidField;
  if (id.ncap < id.nsze) return kThinProvisioningNotSupported;  // NSFEAT.THINP = 0
  uint32_t nsid = 0;
  if (Status st =
          ctrl.subsystem().CreateNamespace(static_cast<uint8_t>(lbaf), format, id.nsze, &nsid);
      !st.ok()) {
    return st;
  }
  req.dw0 = nsid;
  return Status::Success();
}

// The subsystem notifies the controllers the namespace was attached to.
Status DeleteOne(Controller& ctrl, uint32_t nsid) { return ctrl.subsystem().DeleteNamespace(nsid); }

Status DeleteNamespace(Controller& ctrl, Request& req) {
  uint32_t nsid = req.sqe.nsid;
  if (nsid != 0xffffffff) {
    if (nsid == 0 || nsid > ctrl.nn()) return sc::kInvalidNamespaceOrFormat;
    return DeleteOne(ctrl, nsid);
  }
  for (uint32_t id = 1; id <= ctrl.nn(); ++id) {
    if (ctrl.subsystem().IsAllocated(id)) {
      if (Status st = DeleteOne(ctrl, id); !st.ok()) return st;
    }
  }
  return Status::Success();
}

}  // namespace

Status AdminNamespaceManagement(Controller& ctrl, Request& req) {
  switch (req.sqe.cdw10 & 0xf) {
    case kSelCreate:
      return CreateNamespace(ctrl, req);
    case kSelDelete:
      return DeleteNamespace(ctrl, req);
    default:
      return InvalidFieldAt(req, offsetof(Sqe, cdw10));
  }
}

Status AdminNamespaceAttachment(Controller& ctrl, Request& req) {
  uint8_t sel = req.sqe.cdw10 & 0xf;
  if (sel != kSelAttach && sel != kSelDetach) return InvalidFieldAt(req, offsetof(Sqe, cdw10));
  uint32_t nsid = req.sqe.nsid;
  if (nsid == 0 || nsid == 0xffffffff) return InvalidFieldAt(req, offsetof(Sqe, nsid));
  nvme_ctrl_list list{};
  if (Status st = req.data->Pull(&list, sizeof(list)); !st.ok()) return st;
  if (nsid > ctrl.nn() || !ctrl.subsystem().IsAllocated(nsid)) {
    return sc::kInvalidNamespaceOrFormat;
  }
  // Controller List Invalid (NUMID 0 or above 2047, unknown or repeated CNTLIDs): subsystem.cc.
  std::span<const uint16_t> ids(list.identifier, std::min<uint16_t>(list.num, 2047));
  if (list.num > 2047) ids = {};
  return ctrl.subsystem().SetAttached(nsid, sel == kSelAttach, ids);
}

}  // namespace nvemu
