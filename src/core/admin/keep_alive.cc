// NVMe Base 2.0, 5.18 Keep Alive: restarts the Keep Alive Timer (feature 0Fh). A tiny handler
// for the PCIe model, which does not enforce KATO; the NVMe/TCP front end extends it (it owns the
// timer that expires a controller).
#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/controller.h"

namespace nvemu {

Status AdminKeepAlive(Controller& ctrl, Request&) {
  ctrl.admin_state().last_keep_alive_ns = ctrl.clock().NowNs();
  return Status::Success();
}

}  // namespace nvemu
