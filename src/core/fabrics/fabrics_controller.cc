#include "core/fabrics/fabrics_controller.h"

#include <spdlog/spdlog.h>

#include <thread>
#include <utility>
#include <vector>

#include "core/admin/admin_state.h"

namespace nvemu::fabrics {

FabricsController::FabricsController(TargetCore& core, SubsystemEntry& entry, uint16_t cntlid,
                                     std::string hostnqn, const std::array<uint8_t, 16>& hostid,
                                     uint32_t kato_ms)
    : core_(core),
      entry_(entry),
      cntlid_(cntlid),
      hostnqn_(std::move(hostnqn)),
      hostid_(hostid),
      ctrl_(std::make_unique<Controller>(entry.controller, *entry.subsystem, cntlid, core.clock())),
      kato_ms_(kato_ms),
      last_activity_ns_(core.clock().NowNs()) {
  ctrl_->set_message_based(true);
  ctrl_->set_host_id(hostid_);  // fabrics: the Connect HOSTID (reservations identify hosts by it)
  ctrl_->SetFrontEnd(this);
  spdlog::info("fabrics: {} controller {} of {} created for {}",
               entry.discovery ? "discovery" : "NVM", cntlid, entry.nqn(), hostnqn_);
}

FabricsController::~FabricsController() {
  // The Controller goes first: its destructor unregisters from the subsystem, which may meanwhile
  // call QuiesceIo() on this object (a namespace change from another controller), so the members
  // that uses must still exist. Only then may the CNTLID be handed out again (the subsystem keys
  // its controllers by CNTLID). An association can end without a shutdown (socket closed, KATO
  // expired): its SMART counters go to the subsystem state first, where the next controller
  // starts from.
  AdminStatePersist(*ctrl_);
  ctrl_.reset();
  entry_.subsystem->ReleaseCntlid(cntlid_);
  spdlog::debug("fabrics: controller {} of {} destroyed", cntlid_, entry_.nqn());
}

void FabricsController::SetAdminLink(QueueLink* link) {
  std::lock_guard<std::mutex> lock(mu_);
  admin_link_ = link;
}

Status FabricsController::AddIoQueue(uint16_t qid, QueueLink* link) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended()) return nvemu::sc::kCommandSequenceError;
  if (!io_queues_.emplace(qid, link).second) return nvemu::sc::kCommandSequenceError;
  io_queue_count_.store(io_queues_.size(), std::memory_order_release);
  return Status::Success();
}

void FabricsController::RemoveIoQueue(uint16_t qid, const QueueLink* link) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = io_queues_.find(qid);
  if (it == io_queues_.end() || it->second != link) return;
  io_queues_.erase(it);
  io_queue_count_.store(io_queues_.size(), std::memory_order_release);
}

void FabricsController::CompleteDeferred(uint16_t sqid, uint16_t cid, Status status, uint32_t dw0) {
  std::lock_guard<std::mutex> lock(mu_);
  QueueLink* link = admin_link_;
  if (sqid != 0) {
    auto it = io_queues_.find(sqid);
    link = it == io_queues_.end() ? nullptr : it->second;
  }
  if (link == nullptr) {
    spdlog::debug(
        "fabrics: controller {}: deferred completion of sq {} cid {} dropped (queue gone)", cntlid_,
        sqid, cid);
    return;
  }
  link->DeliverDeferred(cid, status, dw0);
}

void FabricsController::DisableQueues() {
  CloseIoQueues("controller reset or shutdown");
  QuiesceIo();
}

// Each I/O queue executes one command at a time on its reactor, bracketed by its epoch (odd while
// executing; fabrics::Queue enters the epoch before it checks CSTS.RDY). Waiting for every odd
// epoch to move on means every command that started before the call is done. The epochs are read
// with a seq_cst read-modify-write so that they are ordered after the caller's earlier stores
// (CSTS.RDY cleared, a namespace table swapped): a command that enters its epoch afterwards sees
// them. The lock keeps the links alive; queues only take it to join or leave, never while
// executing.
void FabricsController::QuiesceIo() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::pair<QueueLink*, uint64_t>> busy;
  for (auto& [qid, link] : io_queues_) {
    uint64_t e = link->io_epoch.fetch_add(0, std::memory_order_seq_cst);
    if (e & 1) busy.emplace_back(link, e);
  }
  for (auto& [link, e] : busy) {
    while (link->io_epoch.load(std::memory_order_seq_cst) == e) std::this_thread::yield();
  }
}

void FabricsController::CloseIoQueues(const char* why) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [qid, link] : io_queues_) link->RequestClose(why);
}

// NVMe Base 2.0, 3.3.2.4: the association ends when the admin queue's connection goes away, on a
// keep-alive timeout, or on target shutdown; the I/O queues go with it.
void FabricsController::EndAssociation(const char* why) {
  if (ended_.exchange(true, std::memory_order_acq_rel)) return;
  spdlog::info("fabrics: controller {} of {} ({}): association ended: {}", cntlid_, entry_.nqn(),
               hostnqn_, why);
  CloseIoQueues(why);
  core_.Unregister(this);
}

}  // namespace nvemu::fabrics
