// NVMe Base 2.0, 6.3 Connect command (FCTYPE 01h): QID 0 creates a controller (dynamic controller
// model, CNTLID FFFFh in the Connect data, a new CNTLID in the response DW0); QID > 0 adds an I/O
// queue to the controller whose CNTLID, host NQN and host identifier match.
//
// Errors (Figure 547/548): Incompatible Format (RECFMT), Connect Invalid Parameters with IATTR/IPO
// in DW0 (unknown SUBNQN, bad CNTLID/host, SQSIZE, QID), Connect Invalid Host (not in the
// subsystem's allowed hosts), Controller Busy (no CNTLID left), Command Sequence Error (queue
// exists, controller not enabled).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/fabrics/fabrics.h"
#include "core/fabrics/queue.h"

namespace nvemu::fabrics {
namespace {

// An NQN field of the Connect data: NUL-terminated within its 256 bytes (a missing NUL makes the
// field invalid rather than overflowing).
bool ReadNqn(const char (&field)[kNqnField], std::string* out) {
  const char* end = static_cast<const char*>(std::memchr(field, '\0', kNqnField));
  if (end == nullptr) return false;
  out->assign(field, end);
  return true;
}

Status InvalidParameter(Request& req, bool in_data, uint16_t offset) {
  req.dw0 = InvalidParameterDw0(in_data, offset);
  return sc::kConnectInvalidParameters;
}

uint32_t RoundKato(uint32_t kato_ms, uint16_t kas_100ms) {
  if (kato_ms == 0) return 0;
  uint64_t granule = static_cast<uint64_t>(kas_100ms) * 100;
  uint64_t k = (static_cast<uint64_t>(kato_ms) + granule - 1) / granule * granule;
  return static_cast<uint32_t>(std::min<uint64_t>(k, UINT32_MAX / granule * granule));
}

}  // namespace

Status Queue::ExecuteConnect(Request& req) {
  const ConnectFields f = ParseConnect(req.sqe);
  ConnectData data;
  if (Status st = req.data->Pull(&data, sizeof(data)); !st.ok()) return st;
  if (f.recfmt != 0) return sc::kIncompatibleFormat;

  std::string subnqn, hostnqn;
  if (!ReadNqn(data.subnqn, &subnqn)) {
    return InvalidParameter(req, true, offsetof(ConnectData, subnqn));
  }
  if (!ReadNqn(data.hostnqn, &hostnqn) || hostnqn.empty()) {
    return InvalidParameter(req, true, offsetof(ConnectData, hostnqn));
  }
  SubsystemEntry* entry = core_.FindSubsystem(subnqn);
  if (entry == nullptr) {
    spdlog::info("fabrics: Connect from {} to unknown subsystem '{}'", hostnqn, subnqn);
    return InvalidParameter(req, true, offsetof(ConnectData, subnqn));
  }
  if (!entry->HostAllowed(hostnqn)) {
    spdlog::info("fabrics: host {} is not allowed on {}", hostnqn, subnqn);
    return sc::kConnectInvalidHost;
  }
  // SQSIZE is 0's based; a one-entry queue is invalid, and no queue exceeds CAP.MQES.
  if (f.sqsize == 0 || f.sqsize > entry->controller.mqes) {
    return InvalidParameter(req, false, kConnectSqeSqsize);
  }
  return f.qid == 0 ? ConnectAdmin(req, *entry, data, hostnqn)
                    : ConnectIo(req, *entry, data, hostnqn);
}

Status Queue::ConnectAdmin(Request& req, SubsystemEntry& entry, const ConnectData& data,
                           const std::string& hostnqn) {
  const ConnectFields f = ParseConnect(req.sqe);
  if (data.cntlid != kCntlidDynamic) {
    return InvalidParameter(req, true, offsetof(ConnectData, cntlid));
  }
  std::array<uint8_t, 16> hostid;
  std::memcpy(hostid.data(), data.hostid, hostid.size());
  auto ctrl =
      core_.CreateController(entry, hostnqn, hostid, RoundKato(f.kato, core_.config().kas_100ms));
  if (!ctrl) return sc::kControllerBusy;
  ctrl_ = std::move(ctrl);
  ctrl_->SetAdminLink(&link_);
  controller_ = &ctrl_->controller();
  qid_ = 0;
  sq_entries_ = f.sqsize + 1u;
  sq_flow_disabled_ = (f.cattr & kCattrDisableSqFlow) != 0;
  req.dw0 = ctrl_->cntlid();  // DW1/DW0[31:16] zero: no authentication required
  return Status::Success();
}

Status Queue::ConnectIo(Request& req, SubsystemEntry& entry, const ConnectData& data,
                        const std::string& hostnqn) {
  const ConnectFields f = ParseConnect(req.sqe);
  if (entry.discovery) return InvalidParameter(req, false, kConnectSqeQid);  // admin queue only
  auto ctrl = core_.FindController(entry, data.cntlid);
  if (!ctrl) return InvalidParameter(req, true, offsetof(ConnectData, cntlid));
  if (ctrl->hostnqn() != hostnqn) {
    return InvalidParameter(req, true, offsetof(ConnectData, hostnqn));
  }
  if (std::memcmp(ctrl->hostid().data(), data.hostid, sizeof(data.hostid)) != 0) {
    return InvalidParameter(req, true, offsetof(ConnectData, hostid));
  }
  if (f.qid > entry.controller.max_io_queues) return InvalidParameter(req, false, kConnectSqeQid);
  if (!ctrl->controller().ready()) return nvemu::sc::kCommandSequenceError;
  if (Status st = ctrl->AddIoQueue(f.qid, &link_); !st.ok()) return st;
  ctrl_ = std::move(ctrl);
  controller_ = &ctrl_->controller();
  qid_ = f.qid;
  sq_entries_ = f.sqsize + 1u;
  sq_flow_disabled_ = (f.cattr & kCattrDisableSqFlow) != 0;
  req.dw0 = ctrl_->cntlid();
  return Status::Success();
}

// 5.27.1.28 Host Identifier on fabrics: the host identifier is the Connect HOSTID (128 bits, so
// CDW11 EXHID must be 1); Set Features is refused by the caller.
Status GetHostIdentifier(FabricsController& ctrl, Request& req) {
  if ((req.sqe.cdw11 & 1) == 0) return nvemu::sc::kInvalidField;
  return req.data->Push(ctrl.hostid().data(), ctrl.hostid().size());
}

}  // namespace nvemu::fabrics
