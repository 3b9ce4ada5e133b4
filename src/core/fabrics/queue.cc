// Command routing for one fabrics queue (cf. nvmet_req_init / nvmet_parse_*_cmd): fabrics commands
// by FCTYPE, then admin commands (with the fabrics-only and discovery-only rules) or I/O commands.
#include "core/fabrics/queue.h"

#include <spdlog/spdlog.h>

#include "core/admin/admin_state.h"
#include "core/controller.h"
#include "core/fabrics/fabrics.h"

namespace nvemu::fabrics {

uint64_t Queue::KeepAliveDeadlineNs() const {
  return (ctrl_ && qid_ == 0) ? ctrl_->KeepAliveDeadlineNs() : 0;
}

bool Queue::KeepAliveExpired(uint64_t now_ns) const {
  return ctrl_ && qid_ == 0 && ctrl_->KeepAliveExpired(now_ns);
}

void Queue::Detach() {
  if (!ctrl_) return;
  if (qid_ == 0) {
    ctrl_->SetAdminLink(nullptr);
    ctrl_->EndAssociation("admin queue connection closed");
  } else {
    ctrl_->RemoveIoQueue(qid_, &link_);
  }
  controller_ = nullptr;
  ctrl_.reset();  // may destroy the controller (and release its CNTLID)
}

Status Queue::Execute(Request& req) {
  if (req.sqe.opc == kOpFabrics) return ExecuteFabrics(req);
  // NVMe Base 2.0, 6.3: until Connect completes only Connect is accepted on a queue.
  if (!ctrl_) return nvemu::sc::kCommandSequenceError;
  if (qid_ == 0) return ExecuteAdmin(req);
  // Odd epoch while executing or in flight (io_uring), for QuiesceIo; entered before the CSTS.RDY
  // check so that a reset that cleared RDY and then quiesced either sees this command or is seen
  // by it.
  if (io_active_++ == 0) link_.io_epoch.fetch_add(1, std::memory_order_seq_cst);
  // SMART Controller Busy Time (NVMe Base 2.0, Figure 207): outstanding from here until it
  // completes (FinishIo); the clock is read only when the queue turns busy or idle.
  busy_.Begin(controller_->io_busy(), core_.clock());
  Status st = controller_->ready() ? controller_->ExecuteIo(req)
                                   // A disabled controller executes no I/O (its queues are
                                   // being closed: NVMe Base 2.0, 3.3.2.3).
                                   : nvemu::sc::kCommandSequenceError;
  if (!req.in_flight) FinishIo();  // else: FinishIo once the transport sees it complete
  return st;
}

// NVMe Base 2.0, 6.1 Fabrics command set: Connect on any queue; Property Get/Set on the admin
// queue; Disconnect on I/O queues. Authentication is not supported (no ATR/ASCR in the Connect
// response).
Status Queue::ExecuteFabrics(Request& req) {
  const auto fctype = static_cast<Fctype>(FctypeOf(req.sqe));
  if (fctype == Fctype::kConnect) {
    if (ctrl_) return nvemu::sc::kCommandSequenceError;  // the queue is already connected
    return ExecuteConnect(req);
  }
  if (!ctrl_) return nvemu::sc::kCommandSequenceError;
  switch (fctype) {
    case Fctype::kPropertyGet:
    case Fctype::kPropertySet:
      if (qid_ != 0) return nvemu::sc::kInvalidOpcode;
      ctrl_->NoteAdminCommand(kOpFabrics, core_.clock().NowNs());
      return fctype == Fctype::kPropertyGet ? ExecutePropertyGet(*ctrl_, req)
                                            : ExecutePropertySet(*ctrl_, req);
    case Fctype::kDisconnect:
      return ExecuteDisconnect(req);
    default:
      spdlog::debug("fabrics: unsupported FCTYPE {:#x}", FctypeOf(req.sqe));
      return nvemu::sc::kInvalidOpcode;
  }
}

// NVMe Base 2.0, 6.4 Disconnect: deletes the I/O queue it is submitted on (the transport closes the
// connection after the response); not valid on the admin queue (Invalid Queue Type).
Status Queue::ExecuteDisconnect(Request& req) {
  if (static_cast<uint16_t>(req.sqe.cdw10) != 0) return sc::kIncompatibleFormat;  // RECFMT
  if (qid_ == 0) return Status::CommandSpecific(0x85);  // Invalid Queue Type
  if (Status st = req.data->Prepare(0); !st.ok()) return st;
  close_requested_ = true;
  return Status::Success();
}

// Admin commands on a fabrics controller (NVMe Base 2.0, 3.3.2 and 3.3.3 / Figure 28: the commands
// a discovery controller supports).
Status Queue::ExecuteAdmin(Request& req) {
  const uint8_t opc = req.sqe.opc;
  FabricsController& ctrl = *ctrl_;
  ctrl.NoteAdminCommand(opc, core_.clock().NowNs());
  switch (opc) {
    case kOpCreateIoSq:
    case kOpDeleteIoSq:
    case kOpCreateIoCq:
    case kOpDeleteIoCq:
      return nvemu::sc::kInvalidOpcode;  // queues are created by Connect on fabrics (6.3)
    case kOpKeepAlive:
      return ExecuteKeepAlive(ctrl, req);  // accepted any time after Connect
    default:
      break;
  }
  // The Linux host and nvmet: admin commands other than fabrics commands need CSTS.RDY = 1.
  if (!controller_->ready()) return nvemu::sc::kCommandSequenceError;

  const uint8_t fid = req.sqe.cdw10 & 0xff;
  if ((opc == kOpSetFeatures || opc == kOpGetFeatures) && fid == kFidKeepAliveTimer) {
    return opc == kOpSetFeatures ? SetKeepAliveTimer(ctrl, req, core_.config().kas_100ms)
                                 : GetKeepAliveTimer(ctrl, req);
  }
  if ((opc == kOpSetFeatures || opc == kOpGetFeatures) && fid == kFidHostIdentifier) {
    return opc == kOpSetFeatures ? nvemu::sc::kCommandSequenceError  // set by Connect (5.27.1.28)
                                 : GetHostIdentifier(ctrl, req);
  }
  const uint8_t cns = req.sqe.cdw10 & 0xff;
  if (opc == kOpIdentify && (cns == 0x01 || (cns == 0x00 && !ctrl.discovery()))) {
    return ExecuteFabricsIdentify(ctrl, req);
  }
  if (!ctrl.discovery()) return controller_->ExecuteAdmin(req);

  switch (opc) {
    case kOpIdentify:
      return nvemu::sc::kInvalidField;  // a discovery controller has only CNS 01h
    case kOpGetLogPage:
      return ExecuteDiscoveryGetLogPage(ctrl, req);  // 00h and 70h only
    case kOpSetFeatures:
    case kOpGetFeatures:
    case kOpAsyncEventRequest:
      return controller_->ExecuteAdmin(req);
    default:
      return nvemu::sc::kInvalidOpcode;
  }
}

}  // namespace nvemu::fabrics
