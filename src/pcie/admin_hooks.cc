// The PCIe front end's hooks for the admin command set (core/front_end.h): deferred completions
// on CQ 0, finding a command that is still in its SQ (Abort), and quiescing the I/O reactors
// (namespace table swaps).
#include <cstring>

#include "pcie/pcie_device_impl.h"

namespace nvemu::pcie {

// Any thread. The admin reactor posts it (pcie/queues.h QueueGroup::PostDeferred); messages run in
// order, so a completion posted before a controller reset is dropped with the admin queue.
void PcieDeviceImpl::CompleteDeferred(uint16_t sqid, uint16_t cid, Status status, uint32_t dw0) {
  Cqe cqe{};
  cqe.dw0 = dw0;
  cqe.sqid = sqid;
  cqe.cid = cid;
  cqe.status = static_cast<uint16_t>(status.field() << 1);
  admin_reactor_->Post([this, cqe] { admin_group_->PostDeferred(cqe); });
}

// Admin reactor (the Abort handler). Runs on the reactor that owns SQ `sqid` (inline for the
// admin SQ), so the scan of [head, tail) and `mark` cannot race the fetch of the command.
bool PcieDeviceImpl::FindUnfetched(uint16_t sqid, uint16_t cid, FunctionRef<void()> mark) {
  if (sqid > max_qid_) return false;
  engine::Reactor* r = sq_reactor_[sqid].load(std::memory_order_acquire);
  if (r == nullptr || !sqs_[sqid]) return false;
  PcieSq* sq = sqs_[sqid].get();
  bool found = false;
  r->RunSync([&] {
    uint32_t tail = sq->tail_db->load(std::memory_order_acquire);
    for (uint32_t i = sq->head; i != tail && !found; i = (i + 1) % sq->size) {
      Sqe sqe;
      if (const uint8_t* p = sq->mem.EntryPointer(i, sizeof(Sqe))) {
        std::memcpy(&sqe, p, sizeof(sqe));
      } else if (!memory_.Read(sq->mem.EntryAddress(i, sizeof(Sqe)), &sqe, sizeof(sqe))) {
        return;
      }
      if (sqe.cid == cid) {
        mark();
        found = true;
      }
    }
  });
  return found;
}

// Admin reactor. Synchronous commands are done once each io reactor has run a message; commands
// in flight on a reactor's io_uring are waited for (and completed) inside that message.
void PcieDeviceImpl::QuiesceIo() {
  for (size_t i = 0; i < io_reactors_.size(); ++i) {
    io_reactors_[i]->RunSync([&] { io_groups_[i]->DrainInflight(); });
  }
}

}  // namespace nvemu::pcie
