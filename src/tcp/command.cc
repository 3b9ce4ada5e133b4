// The per-command state machine of a Connection (NVMe/TCP 1.0, 3.4 Command capsules and 3.5 Data
// transfers): SGL checks, in-capsule data or R2T/H2CData for host-to-controller data, execution
// through fabrics::Queue, and the completion (C2HData and/or CapsuleResp).
#include <spdlog/spdlog.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "core/fabrics/fabrics.h"
#include "tcp/connection.h"

namespace nvemu::tcp {
namespace {

// NVMe Base 2.0, 4.1.2 Figure 116: SGL descriptor types (identifier byte = type << 4 | subtype).
constexpr uint8_t kSglDataBlockOffset = 0x01;     // Data Block, address = offset into the capsule
constexpr uint8_t kSglTransportDataBlock = 0x5a;  // Transport SGL Data Block: data by R2T / C2H
constexpr Status kSglOffsetInvalid = Status::Generic(0x16);

constexpr uint32_t kPageBytes = 4096;

// The data transfer direction of a command: opcode bits 1:0 (NVMe Base 2.0, Figure 88; for fabrics
// commands the FCTYPE bits, Figure 541). 01b host to controller, 10b controller to host.
uint8_t DataTransferBits(const Sqe& sqe) {
  return (sqe.opc == fabrics::kOpFabrics ? fabrics::FctypeOf(sqe) : sqe.opc) & 0x3;
}

}  // namespace

CommandSlot* Connection::AllocSlot() {
  CommandSlot** list = slots_ ? &free_ : &pre_free_;
  CommandSlot* s = *list;
  if (s == nullptr) return nullptr;
  *list = s->next_free;
  s->next_free = nullptr;
  return s;
}

void Connection::FreeSlot(CommandSlot* slot) {
  SetState(slot, SlotState::kFree);
  CommandSlot** list = slot->preconnect ? &pre_free_ : &free_;
  slot->next_free = *list;
  *list = slot;
}

void Connection::SetState(CommandSlot* slot, SlotState s) {
  slot->state = s;
  ++stats_.slot_states[static_cast<int>(s)];
}

// Allocates SQSIZE + 1 slots once the queue size is known; their data buffers are one mapping of
// MDTS bytes each, so memory is committed only for the pages commands actually touch.
void Connection::AllocateSlots(uint32_t entries) {
  size_t per = std::max({limits_.max_transfer, limits_.io_in_capsule, limits_.admin_in_capsule});
  per = (per + kPageBytes - 1) / kPageBytes * kPageBytes;
  size_t bytes = per * entries;
  void* mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) {
    spdlog::error("tcp: connection {}: cannot map {} bytes for {} command slots", id_, bytes,
                  entries);
    Drain("out of memory", core_.clock().NowNs());
    return;
  }
  slot_data_ = static_cast<uint8_t*>(mem);
  slot_data_bytes_ = bytes;
  slots_ = std::make_unique<CommandSlot[]>(entries);
  nslots_ = entries;
  for (uint32_t i = entries; i-- > 0;) {
    CommandSlot& s = slots_[i];
    s.index = static_cast<uint16_t>(i);
    s.async.complete = &Connection::OnAsyncComplete;
    s.async.owner = this;
    s.async.user = &s;
    s.buf = slot_data_ + i * per;
    s.capacity = static_cast<uint32_t>(per);
    s.next_free = free_;
    free_ = &s;
  }
}

void Connection::OnConnected() {
  state_ = ConnState::kLive;
  rx_ctx_.max_capsule_data = queue_.qid() == 0 ? limits_.admin_in_capsule : limits_.io_in_capsule;
  AllocateSlots(queue_.sq_entries());
}

// NVMe/TCP 1.0, 3.4: the SGL in the SQE says where the data is. In-capsule (Data Block, offset) for
// host-to-controller data that fits the capsule; Transport SGL Data Block otherwise (R2T/H2CData
// for writes, C2HData for reads). A bad SGL fails the command (after its capsule data is consumed).
void Connection::SetupCommand(CommandSlot* slot, uint32_t in_capsule) {
  const Sqe& sqe = slot->req.sqe;
  slot->failed = false;
  slot->error = Status::Success();
  slot->length = 0;
  slot->data_offset = 0;
  slot->received = 0;
  slot->r2t_flow = false;
  const uint8_t xfer = DataTransferBits(sqe);
  slot->to_host = xfer == 0x2;
  const uint64_t addr = sqe.prp1;                               // SGL1 bytes 0-7: address / offset
  const uint32_t len = static_cast<uint32_t>(sqe.prp2);         // bytes 8-11: length
  const uint8_t sgl_id = static_cast<uint8_t>(sqe.prp2 >> 56);  // byte 15: identifier

  if (sqe.psdt() != 1 && sqe.psdt() != 2) {
    slot->Fail(sc::kInvalidField);  // fabrics commands use SGLs (NVMe Base 2.0, 4.1.2)
  } else if (xfer == 0x3) {
    slot->Fail(sc::kInvalidField);  // bidirectional transfers are not supported
  } else if (len != 0 && sgl_id == kSglDataBlockOffset) {
    if (slot->to_host) {
      slot->Fail(sc::kInvalidField);  // in-capsule data carries host-to-controller data only
    } else if (addr > in_capsule) {
      slot->Fail(kSglOffsetInvalid);
    } else if (len > in_capsule - addr) {
      slot->Fail(sc::kDataSglLengthInvalid);
    } else {
      slot->length = len;
      slot->data_offset = static_cast<uint32_t>(addr);
    }
  } else if (len != 0 && sgl_id == kSglTransportDataBlock) {
    if (in_capsule != 0 || len > slot->capacity) {
      slot->Fail(sc::kDataSglLengthInvalid);
    } else if (!slot->to_host && slot->preconnect) {
      slot->Fail(sc::kSglTypeInvalid);  // before Connect, data must be in-capsule
    } else {
      slot->length = len;
      slot->r2t_flow = xfer == 0x1;
    }
  } else if (len != 0) {
    slot->Fail(sc::kSglTypeInvalid);
  }
  slot->channel.Reset(slot->buf + slot->data_offset, slot->length);

  if (in_capsule != 0) {
    SetState(slot, SlotState::kRecvCapsule);
    rx_slot_ = slot;
    ExpectData(slot->failed ? nullptr : slot->buf, in_capsule);
    return;
  }
  OnCommandDataReady(slot);
}

void Connection::OnCommandDataReady(CommandSlot* slot) {
  if (!slot->failed && slot->r2t_flow && slot->received < slot->length) {
    IssueR2T(slot);
    return;
  }
  Execute(slot);
}

// NVMe/TCP 1.0, 3.5.2: one R2T outstanding per command (within any MAXR2T), covering the rest of
// the data or at most max_r2t_bytes; the next one follows when its data has arrived.
void Connection::IssueR2T(CommandSlot* slot) {
  uint32_t remaining = slot->length - slot->received;
  uint32_t n = limits_.max_r2t_bytes ? std::min(remaining, limits_.max_r2t_bytes) : remaining;
  slot->r2t_offset = slot->received;
  slot->r2t_length = n;
  slot->r2t_received = 0;
  SetState(slot, SlotState::kAwaitH2C);
  QueueR2T(slot);
}

void Connection::Execute(CommandSlot* slot) {
  SetState(slot, SlotState::kExecute);
  Request& req = slot->req;
  req.sqid = queue_.qid();
  req.data = &slot->channel;
  req.dw0 = 0;
  req.dw1 = 0;
  req.deferred = false;
  req.in_flight = false;
  // I/O queues offer the slot's async state: Read/Write/Flush may complete through io_uring.
  req.async = (queue_.qid() != 0 && !slot->preconnect) ? &slot->async : nullptr;
  slot->deferred_done = false;
  const bool was_connected = queue_.connected();
  Status st = slot->failed ? slot->error : queue_.Execute(req);
  if (!was_connected && queue_.connected()) OnConnected();
  if (req.in_flight) {
    SetState(slot, SlotState::kInFlight);
    ++inflight_;
    return;
  }
  // Error Information log (NVMe Base 2.0, 5.16.1.2): every failed command of a connected queue
  // gets an entry, as on PCIe (deferred commands are recorded by whoever completes them).
  if (!st.ok() && !req.deferred && queue_.controller() != nullptr) {
    queue_.controller()->controller().RecordError(req, st);
  }
  if (req.deferred) {
    // Completed later through DeliverDeferred (unless that already happened, inline).
    if (!slot->deferred_done) SetState(slot, SlotState::kDeferred);
    return;
  }
  Complete(slot, st);
}

void Connection::CompleteDeferred(uint16_t cid, Status status, uint32_t dw0) {
  if (state_ == ConnState::kClosed || !slots_) return;
  for (uint32_t i = 0; i < nslots_; ++i) {
    CommandSlot* s = &slots_[i];
    if (s->req.sqe.cid != cid) continue;
    const bool executing = s->state == SlotState::kExecute && s->req.deferred;
    if (s->state != SlotState::kDeferred && !executing) continue;
    if (executing) s->deferred_done = true;
    s->req.dw0 = dw0;
    s->req.dw1 = 0;
    Complete(s, status);
    if (state_ != ConnState::kClosed) Flush();
    return;
  }
}

// Reactor thread (the ring's reap): the command's I/O finished; send its C2HData / CapsuleResp.
void Connection::OnAsyncComplete(AsyncSlot* async, Status st) {
  auto* conn = static_cast<Connection*>(async->owner);
  auto* slot = static_cast<CommandSlot*>(async->user);
  --conn->inflight_;
  conn->queue_.FinishIo();
  if (conn->state_ == ConnState::kClosed) {
    conn->FreeSlot(slot);  // the connection is closing: no response
    return;
  }
  // Error Information log (NVMe Base 2.0, 5.16.1.2), as for commands completed inline.
  if (!st.ok() && conn->queue_.controller() != nullptr) {
    conn->queue_.controller()->controller().RecordError(slot->req, st);
  }
  conn->Complete(slot, st);
  if (conn->state_ != ConnState::kClosed) conn->Flush();
  if (conn->state_ == ConnState::kDraining && conn->tx_head_ == nullptr && conn->inflight_ == 0) {
    conn->Close("drained");
  }
}

void Connection::WaitInflight() {
  if (inflight_ == 0) return;
  engine::IoRing* ring = engine::IoRing::ForThread();
  if (ring == nullptr) {
    spdlog::error("tcp: connection {}: {} commands in flight off their reactor", id_, inflight_);
    return;
  }
  while (inflight_ != 0) ring->WaitOne();
}

void Connection::Complete(CommandSlot* slot, Status st) {
  const uint32_t c2h = (st.ok() && slot->to_host) ? slot->channel.produced() : 0;
  QueueResponse(slot, st, c2h);
  if (queue_.close_requested()) {
    Drain("Disconnect", core_.clock().NowNs() + 1'000'000'000);  // 6.4: the queue goes away
  }
}

}  // namespace nvemu::tcp
