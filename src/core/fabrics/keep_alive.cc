// NVMe Base 2.0, 3.9 Keep Alive and 5.25 Keep Alive command; 5.27.1.12 Keep Alive Timer feature.
//
// The timer is KATO milliseconds, started at the admin Connect. Before the host's first Keep Alive
// every admin command restarts it (the Linux host starts keep-alives only once the controller is
// live, and a slow bring-up must not time out); from the first Keep Alive on, only Keep Alive does.
// Expiry is detected by the admin queue's reactor (which then closes the admin connection: the
// association ends, its I/O queues close and the CNTLID is released).
#include <spdlog/spdlog.h>

#include "core/fabrics/fabrics.h"
#include "core/fabrics/fabrics_controller.h"
#include "core/fabrics/queue.h"

namespace nvemu::fabrics {

void FabricsController::set_kato_ms(uint32_t kato_ms, uint64_t now_ns) {
  kato_ms_ = kato_ms;
  last_activity_ns_ = now_ns;
}

void FabricsController::NoteAdminCommand(uint8_t opcode, uint64_t now_ns) {
  if (opcode == kOpKeepAlive) {
    keep_alive_seen_ = true;
    last_activity_ns_ = now_ns;
  } else if (!keep_alive_seen_) {
    last_activity_ns_ = now_ns;
  }
}

uint64_t FabricsController::KeepAliveDeadlineNs() const {
  if (kato_ms_ == 0) return 0;
  return last_activity_ns_ + static_cast<uint64_t>(kato_ms_) * 1'000'000;
}

bool FabricsController::KeepAliveExpired(uint64_t now_ns) const {
  uint64_t deadline = KeepAliveDeadlineNs();
  return deadline != 0 && now_ns > deadline;
}

// 5.25 Keep Alive: no data, no command-specific fields; the timer restarted in NoteAdminCommand.
Status ExecuteKeepAlive(FabricsController&, Request& req) {
  if (Status st = req.data->Prepare(0); !st.ok()) return st;
  return Status::Success();
}

// 5.27.1.12 Keep Alive Timer (Feature 0Fh): CDW11 = KATO in milliseconds. The controller may round
// it up to a multiple of KAS x 100 ms; Get Features returns the value in use.
Status SetKeepAliveTimer(FabricsController& ctrl, Request& req, uint16_t kas_100ms) {
  uint64_t granule = static_cast<uint64_t>(kas_100ms) * 100;
  uint64_t kato = req.sqe.cdw11;
  if (kato != 0) kato = (kato + granule - 1) / granule * granule;
  if (kato > UINT32_MAX) kato = UINT32_MAX / granule * granule;
  ctrl.set_kato_ms(static_cast<uint32_t>(kato), ctrl.core().clock().NowNs());
  spdlog::debug("fabrics: controller {}: KATO set to {} ms", ctrl.cntlid(), kato);
  return Status::Success();
}

Status GetKeepAliveTimer(FabricsController& ctrl, Request& req) {
  req.dw0 = ctrl.kato_ms();
  return Status::Success();
}

}  // namespace nvemu::fabrics
