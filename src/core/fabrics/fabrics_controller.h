// FabricsController: one controller of the dynamic controller model (NVMe Base 2.0, 3.3.2), created
// by an admin-queue Connect and living until its association ends (admin queue closed, Disconnect,
// keep-alive timeout or target shutdown). It owns the transport-free Controller (register model,
// admin and I/O command sets) and is that Controller's FrontEnd: on fabrics there are no queue
// registers or queue memory, so enabling succeeds at once and a controller reset closes the I/O
// queues' connections (NVMe Base 2.0, 3.3.2.3: the host reconnects them).
//
// Threading:
//   - Admin state (registers, admin commands, keep-alive bookkeeping): the admin queue's reactor.
//   - The I/O queue table and EndAssociation(): any thread (mutex, control path only).
//   - Controller::ExecuteIo: any reactor, lock-free.
// Lifetime: shared by the admin queue, the I/O queues and the registry; the last owner destroys it
// (any thread) and the CNTLID returns to the subsystem then.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/controller.h"
#include "core/fabrics/queue_link.h"
#include "core/fabrics/target_core.h"
#include "core/front_end.h"

namespace nvemu::fabrics {

class FabricsController final : public FrontEnd {
 public:
  FabricsController(TargetCore& core, SubsystemEntry& entry, uint16_t cntlid, std::string hostnqn,
                    const std::array<uint8_t, 16>& hostid, uint32_t kato_ms);
  ~FabricsController() override;
  FabricsController(const FabricsController&) = delete;
  FabricsController& operator=(const FabricsController&) = delete;

  Controller& controller() { return *ctrl_; }
  TargetCore& core() { return core_; }
  SubsystemEntry& entry() const { return entry_; }
  bool discovery() const { return entry_.discovery; }
  uint16_t cntlid() const { return cntlid_; }
  const std::string& hostnqn() const { return hostnqn_; }
  const std::array<uint8_t, 16>& hostid() const { return hostid_; }

  // The admin queue's link (admin Connect) or null (its connection closed). Any thread.
  void SetAdminLink(QueueLink* link);

  // I/O queue `qid` joins (I/O Connect). Command Sequence Error when it already exists or the
  // association has ended.
  Status AddIoQueue(uint16_t qid, QueueLink* link);
  // The I/O queue's connection closed. No-op when `link` is not the registered one.
  void RemoveIoQueue(uint16_t qid, const QueueLink* link);
  size_t io_queue_count() const { return io_queue_count_.load(std::memory_order_acquire); }

  // Ends the association: no I/O queue may join any more, every I/O queue's connection is asked to
  // close, and the registry forgets the controller (a later Connect gets a new CNTLID). The admin
  // queue's own connection is closed by its owner. Idempotent; any thread.
  void EndAssociation(const char* why);
  bool ended() const { return ended_.load(std::memory_order_acquire); }

  // Keep Alive (NVMe Base 2.0, 3.9 and 5.25; keep_alive.cc). Admin reactor only.
  uint32_t kato_ms() const { return kato_ms_; }
  void set_kato_ms(uint32_t kato_ms, uint64_t now_ns);
  // Records an admin command: before the first Keep Alive every admin command restarts the timer
  // (a host may start keep-alives only once the controller is live); afterwards only Keep Alive.
  void NoteAdminCommand(uint8_t opcode, uint64_t now_ns);
  // The time the keep-alive timer expires, or 0 when KATO is 0.
  uint64_t KeepAliveDeadlineNs() const;
  bool KeepAliveExpired(uint64_t now_ns) const;

  // FrontEnd
  Status EnableQueues() override { return Status::Success(); }
  // Asks every I/O queue's connection to close, then waits until none of them is executing a
  // command (the Controller has cleared CSTS.RDY, so no new one starts): the Controller may then
  // reset state the I/O path uses.
  void DisableQueues() override;
  Status CreateIoCq(Request&) override { return nvemu::sc::kInvalidOpcode; }
  Status CreateIoSq(Request&) override { return nvemu::sc::kInvalidOpcode; }
  Status DeleteIoSq(Request&) override { return nvemu::sc::kInvalidOpcode; }
  Status DeleteIoCq(Request&) override { return nvemu::sc::kInvalidOpcode; }
  bool HasIoQueues() const override { return io_queue_count() > 0; }
  // Delivered through the queue's link, on its connection's reactor.
  void CompleteDeferred(uint16_t sqid, uint16_t cid, Status status, uint32_t dw0) override;
  // Waits until every I/O command that started before the call has finished (on whichever reactor
  // its queue lives). Never blocks an I/O reactor, so it cannot deadlock.
  void QuiesceIo() override;

 private:
  void CloseIoQueues(const char* why);

  TargetCore& core_;
  SubsystemEntry& entry_;
  const uint16_t cntlid_;
  const std::string hostnqn_;
  const std::array<uint8_t, 16> hostid_;
  std::unique_ptr<Controller> ctrl_;

  mutable std::mutex mu_;
  std::map<uint16_t, QueueLink*> io_queues_;  // GUARDED_BY(mu_)
  QueueLink* admin_link_ = nullptr;           // GUARDED_BY(mu_)
  std::atomic<size_t> io_queue_count_{0};
  std::atomic<bool> ended_{false};

  // Admin reactor only.
  uint32_t kato_ms_;
  uint64_t last_activity_ns_;
  bool keep_alive_seen_ = false;
};

}  // namespace nvemu::fabrics
