// NVMe Base 2.0, 5.1 Abort: CDW10 SQID[15:0], CID[31:16]. Completion Dword 0 bit 0 (IANP) is 0
// when the command was aborted and 1 when it was not.
//
// Commands execute synchronously once fetched, so only these can be aborted:
//   - an outstanding Asynchronous Event Request: completed at once with Abort Requested;
//   - a command still in its SQ, not yet fetched (its CQ is full, or it follows the Abort in the
//     admin SQ): the front end finds it on the reactor that owns the SQ and the controller marks
//     it; when it is fetched it completes with Abort Requested and only then does the Abort
//     complete (deferred). Such Aborts are outstanding meanwhile: at most ACL + 1 of them, more
//     complete with Abort Command Limit Exceeded.
// Any other target (finished, executing, unknown) is not aborted: IANP = 1.
#include <algorithm>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/admin/identify_data.h"
#include "core/controller.h"

namespace nvemu {

void Controller::AddAbortMarker(uint16_t sqid, uint16_t cid, uint16_t abort_cid) {
  std::lock_guard<std::mutex> lock(admin_->abort_mu);
  admin_->abort_markers.push_back(AbortMarker{sqid, cid, abort_cid});
  abort_markers_.fetch_add(1, std::memory_order_relaxed);
}

bool Controller::TakeAbortMarker(const Request& req) {
  uint16_t abort_cid;
  {
    std::lock_guard<std::mutex> lock(admin_->abort_mu);
    auto& m = admin_->abort_markers;
    auto it = std::find_if(m.begin(), m.end(), [&](const AbortMarker& a) {
      return a.sqid == req.sqid && a.cid == req.sqe.cid;
    });
    if (it == m.end()) return false;
    abort_cid = it->abort_cid;
    m.erase(it);
    abort_markers_.fetch_sub(1, std::memory_order_relaxed);
  }
  // The Abort completes now: the command was aborted (IANP = 0).
  if (front_end_) front_end_->CompleteDeferred(0, abort_cid, Status::Success(), 0);
  return true;
}

void Controller::ClearAbortMarkers() {
  std::lock_guard<std::mutex> lock(admin_->abort_mu);
  admin_->abort_markers.clear();
  abort_markers_.store(0, std::memory_order_relaxed);
}

Status AdminAbort(Controller& ctrl, Request& req) {
  uint16_t sqid = req.sqe.cdw10 & 0xffff;
  uint16_t cid = req.sqe.cdw10 >> 16;
  req.dw0 = 1;  // IANP: not aborted, unless found below
  if (sqid == 0 && ctrl.async_events().RemoveRequest(cid)) {
    ctrl.front_end()->CompleteDeferred(0, cid, sc::kAbortRequested, 0);
    req.dw0 = 0;
    return Status::Success();
  }
  size_t outstanding;
  {
    AdminState& a = ctrl.admin_state();
    std::lock_guard<std::mutex> lock(a.abort_mu);
    outstanding = a.abort_markers.size();
  }
  if (outstanding >= uint32_t{kAcl} + 1) return sc::kAbortCommandLimitExceeded;
  bool found = ctrl.front_end()->FindUnfetched(
      sqid, cid, [&] { ctrl.AddAbortMarker(sqid, cid, req.sqe.cid); });
  if (found) req.deferred = true;  // completes when the target is fetched (TakeAbortMarker)
  return Status::Success();
}

}  // namespace nvemu
