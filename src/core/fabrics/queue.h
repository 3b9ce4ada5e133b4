// fabrics::Queue: the transport-independent state of one NVMe over Fabrics queue (one NVMe/TCP
// connection): whether it is connected, to which controller, as which queue (QID 0 = admin), its
// size and flow-control attribute. Execute() runs every command received on the queue: the Fabrics
// commands (Connect, Property Get/Set, Disconnect), then admin commands (through the
// FabricsController and the Controller's admin command set) or I/O commands
// (Controller::ExecuteIo).
//
// Commands other than Connect before the queue is connected complete with Command Sequence Error
// (NVMe Base 2.0, 6.3); so do non-fabrics commands while CSTS.RDY is 0.
//
// Threading: owned by one transport connection and used on its reactor thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/busy_time.h"
#include "core/fabrics/fabrics.h"
#include "core/fabrics/fabrics_controller.h"
#include "core/fabrics/queue_link.h"
#include "core/fabrics/target_core.h"
#include "spec/request.h"

namespace nvemu::fabrics {

class Queue {
 public:
  // `link` is this queue's transport handle (registered with the controller for I/O queues); it
  // must outlive the Queue.
  Queue(TargetCore& core, QueueLink& link) : core_(core), link_(link) {}
  ~Queue() { Detach(); }
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  // Executes one command; sets req.dw0/dw1. Never fails other than through the returned Status.
  Status Execute(Request& req);

  bool connected() const { return ctrl_ != nullptr; }
  uint16_t qid() const { return qid_; }
  // Submission queue entries (Connect SQSIZE + 1); 0 before Connect.
  uint32_t sq_entries() const { return sq_entries_; }
  // Connect CATTR bit 2: SQ flow control disabled (CQE SQHD = FFFFh, C2HData SUCCESS allowed).
  bool sq_flow_control_disabled() const { return sq_flow_disabled_; }
  FabricsController* controller() const { return ctrl_.get(); }
  // A Disconnect completed on this queue: the transport closes the connection once the response
  // has been sent.
  bool close_requested() const { return close_requested_; }

  // Admin queue: when the keep-alive timer expires (0 = never) and whether it has.
  uint64_t KeepAliveDeadlineNs() const;
  bool KeepAliveExpired(uint64_t now_ns) const;

  // An I/O command that Execute() left in flight (Request::in_flight) has completed: ends its
  // share of the queue's execution epoch. Reactor thread.
  void FinishIo() {
    busy_.End();
    if (--io_active_ == 0) link_.io_epoch.fetch_add(1, std::memory_order_seq_cst);
  }

  // The transport connection is going away: an I/O queue leaves its controller; the admin queue
  // ends the association. Idempotent.
  void Detach();

 private:
  Status ExecuteFabrics(Request& req);
  Status ExecuteConnect(Request& req);
  Status ConnectAdmin(Request& req, SubsystemEntry& entry, const ConnectData& data,
                      const std::string& hostnqn);
  Status ConnectIo(Request& req, SubsystemEntry& entry, const ConnectData& data,
                   const std::string& hostnqn);
  Status ExecuteDisconnect(Request& req);
  Status ExecuteAdmin(Request& req);

  TargetCore& core_;
  QueueLink& link_;
  std::shared_ptr<FabricsController> ctrl_;
  Controller* controller_ = nullptr;  // ctrl_->controller(), cached for the I/O path
  uint16_t qid_ = 0;
  uint32_t sq_entries_ = 0;
  bool sq_flow_disabled_ = false;
  bool close_requested_ = false;
  uint32_t io_active_ = 0;  // I/O commands executing or in flight (the epoch is odd while > 0)
  BusyTracker busy_;        // the same commands, for SMART Controller Busy Time
};

// Handlers, one per file (connect.cc, property.cc, discovery.cc, keep_alive.cc, identify.cc).
Status ExecutePropertyGet(FabricsController& ctrl, Request& req);
Status ExecutePropertySet(FabricsController& ctrl, Request& req);
Status ExecuteKeepAlive(FabricsController& ctrl, Request& req);
Status SetKeepAliveTimer(FabricsController& ctrl, Request& req, uint16_t kas_100ms);
Status GetKeepAliveTimer(FabricsController& ctrl, Request& req);
// Get Features Host Identifier: the Connect HOSTID (128-bit, EXHID must be 1).
Status GetHostIdentifier(FabricsController& ctrl, Request& req);
// Get Log Page on a discovery controller: 70h Discovery and 00h Supported Log Pages.
Status ExecuteDiscoveryGetLogPage(FabricsController& ctrl, Request& req);
// Identify Controller (CNS 01h) with the fabrics fields, Identify Namespace (CNS 00h) with NMIC.
Status ExecuteFabricsIdentify(FabricsController& ctrl, Request& req);

}  // namespace nvemu::fabrics
