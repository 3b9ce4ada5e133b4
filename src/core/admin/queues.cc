// NVMe Base 2.0, 5.4 Create I/O Completion Queue, 5.5 Create I/O Submission Queue,
// 5.6 Delete I/O Completion Queue, 5.7 Delete I/O Submission Queue.
//
// The checks that only need the controller's limits live here; the front end, which owns the
// queues, checks existence, vectors and queue memory.
#include <spdlog/spdlog.h>

#include "core/admin/admin_cmd.h"
#include "core/controller.h"

namespace nvemu {

Status AdminCreateIoCq(Controller& ctrl, Request& req) {
  // CC.IOCQES must select 16-byte entries (Identify CQES = 44h) before I/O CQs are created.
  if (ctrl.cc().iocqes() != 4) {
    spdlog::warn("admin: Create I/O CQ with CC.IOCQES={}", ctrl.cc().iocqes());
    return sc::kInvalidField;
  }
  return ctrl.front_end()->CreateIoCq(req);
}

Status AdminCreateIoSq(Controller& ctrl, Request& req) {
  if (ctrl.cc().iosqes() != 6) {
    spdlog::warn("admin: Create I/O SQ with CC.IOSQES={}", ctrl.cc().iosqes());
    return sc::kInvalidField;
  }
  return ctrl.front_end()->CreateIoSq(req);
}

Status AdminDeleteIoSq(Controller& ctrl, Request& req) { return ctrl.front_end()->DeleteIoSq(req); }

Status AdminDeleteIoCq(Controller& ctrl, Request& req) { return ctrl.front_end()->DeleteIoCq(req); }

}  // namespace nvemu
