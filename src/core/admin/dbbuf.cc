// NVMe Base 2.0, 5.11 Doorbell Buffer Config: PRP1 = Shadow Doorbell buffer, PRP2 = EventIdx
// buffer, each one memory page, page aligned (else Invalid Field in Command). The front end does
// the rest (pcie/shadow_doorbells.h); NVMe over Fabrics has no doorbells: Invalid Opcode.
#include <cstddef>

#include "core/admin/admin_cmd.h"
#include "core/controller.h"

namespace nvemu {

Status AdminDoorbellBufferConfig(Controller& ctrl, Request& req) {
  // Message-based controllers (NVMe over Fabrics, 3.1.3) have no doorbells and do not advertise
  // the command (OACS bit 8 clear): an unsupported opcode, before any field is looked at.
  if (ctrl.message_based()) return sc::kInvalidOpcode;
  const uint64_t mask = ctrl.page_size() - 1;
  if (req.sqe.psdt() != 0) return InvalidFieldAt(req, 1, 6);  // PRPs only
  if (req.sqe.prp1 == 0 || (req.sqe.prp1 & mask)) return InvalidFieldAt(req, offsetof(Sqe, prp1));
  if (req.sqe.prp2 == 0 || (req.sqe.prp2 & mask)) return InvalidFieldAt(req, offsetof(Sqe, prp2));
  return ctrl.front_end()->ConfigureShadowDoorbells(req.sqe.prp1, req.sqe.prp2);
}

}  // namespace nvemu
