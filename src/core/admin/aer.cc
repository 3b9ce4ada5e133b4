// NVMe Base 2.0, 5.2 Asynchronous Event Request. The command completes later, when an event is
// reported (core/async_events.h pairs events with requests and completes them through
// FrontEnd::CompleteDeferred); AERL + 1 requests may be outstanding.
#include "core/admin/admin_cmd.h"
#include "core/admin/identify_data.h"
#include "core/controller.h"

namespace nvemu {

Status AdminAsyncEventRequest(Controller& ctrl, Request& req) {
  // Mark it deferred first: an event already pending completes it during AddRequest.
  req.deferred = true;
  if (!ctrl.async_events().AddRequest(req.sqe.cid, uint32_t{kAerl} + 1)) {
    req.deferred = false;
    return sc::kAsyncEventRequestLimitExceeded;
  }
  return Status::Success();
}

}  // namespace nvemu
