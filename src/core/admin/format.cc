// NVMe Base 2.0, 5.14 Format NVM: CDW10 LBAF[3:0], MSET[4], PI[7:5], PIL[8], SES[11:9],
// LBAFU[13:12]. NSID: an active namespace, or FFFFFFFFh for every active namespace (FNA = 0: each
// namespace may also be formatted on its own).
//
// The LBA formats are those of nvm/namespace.h kLbaFormats. MSET (bit 4) selects extended LBAs,
// PI (bits 7:5) the protection type and PIL (bit 8) PI first in the metadata; PI needs a format
// whose metadata holds it, else Invalid Format. SES 001b (User Data Erase) makes every block read
// as zero; 010b (Cryptographic Erase) is not supported (FNA bit 2 = 0): Invalid Field. With SES
// 000b the data image is kept and reinterpreted in the new block size. The namespace table swap
// that makes the new geometry visible to the I/O reactors is Subsystem::Format (core/subsystem.h).
#include <cstddef>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/controller.h"

namespace nvemu {

Status AdminFormatNvm(Controller& ctrl, Request& req) {
  uint32_t cdw10 = req.sqe.cdw10;
  uint32_t lbaf = (cdw10 & 0xf) | ((cdw10 >> 12) & 0x3) << 4;
  uint8_t pi = (cdw10 >> 5) & 0x7;
  uint8_t ses = (cdw10 >> 9) & 0x7;
  NamespaceFormat format{((cdw10 >> 4) & 1) != 0, pi, ((cdw10 >> 8) & 1) != 0};
  uint32_t nsid = req.sqe.nsid;
  std::vector<uint32_t> targets;
  if (nsid == 0xffffffff) {
    for (uint32_t id = 1; id <= ctrl.nn(); ++id) {
      if (ctrl.GetNamespace(id) != nullptr) targets.push_back(id);
    }
  } else {
    if (ctrl.GetNamespace(nsid) == nullptr) return sc::kInvalidNamespaceOrFormat;
    targets.push_back(nsid);
  }
  if (lbaf >= kLbaFormats.size() || pi > 3) return sc::kInvalidFormat;
  // Protection information lives in the metadata: the format must have room for it.
  uint16_t pi_bytes = kLbaFormats[lbaf].pif == kPif64bGuard ? 16 : 8;
  if (pi != 0 && kLbaFormats[lbaf].ms < pi_bytes) return sc::kInvalidFormat;
  if (kLbaFormats[lbaf].ms == 0) format = NamespaceFormat{};
  if (ses > 1) return InvalidFieldAt(req, offsetof(Sqe, cdw10) + 1, 1);
  SelfTestState& dst = ctrl.admin_state().self_test;
  for (uint32_t id : targets) {
    // A device self-test of the namespace being formatted is aborted (Figure 214, result 4h).
    if (dst.operation != 0 && (dst.nsid == id || dst.nsid == 0xffffffff)) {
      AbortSelfTest(ctrl, NVME_ST_RESULT_ABORTED_FORMAT);
    }
    if (Status st = ctrl.subsystem().Format(id, static_cast<uint8_t>(lbaf), format, ses);
        !st.ok()) {
      return st;
    }
  }
  return Status::Success();
}

}  // namespace nvemu
