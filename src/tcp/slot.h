// CommandSlot: the preallocated per-command state of an NVMe/TCP queue (one per SQ entry, allocated
// when Connect fixes the queue size): the SQE, the data buffer (in-capsule data, H2CData, C2HData
// all live here; up to MDTS), the R2T window, and the PDU headers the slot sends. A slot's index is
// the R2T transfer tag (TTAG). No allocation happens per command.
//
// SlotChannel is the DataChannel the core executes the command against: the command's data is one
// contiguous buffer, so Transfer() hands out pointers straight into it (zero copy between the
// socket and the handler).
//
// Threading: a slot belongs to its connection's reactor thread.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstdint>

#include "nvemu/status.h"
#include "spec/data_channel.h"
#include "nvm/async_slot.h"
#include "spec/request.h"
#include "tcp/pdu.h"

namespace nvemu::tcp {

// The lifecycle of one command on a queue (NVMe/TCP 1.0, 3.4 and 3.5). Counted per connection.
enum class SlotState : uint8_t {
  kFree,         // on the free list; no command
  kRecvCapsule,  // CapsuleCmd header parsed; its in-capsule data is still arriving
  kAwaitH2C,     // an R2T is queued or sent; waiting for the H2CData PDUs it solicited
  kExecute,      // all host data present: executing (synchronous; transient)
  kInFlight,     // its I/O was submitted to the reactor's io_uring: completes through
                 // Connection::OnAsyncComplete (nvm/async_slot.h)
  kDeferred,     // executed, but its handler completes it later (AER, Abort): waits for
                 // QueueLink::DeliverDeferred
  kSending,      // completed; C2HData and/or CapsuleResp queued. Back to kFree once sent
};
inline constexpr int kSlotStateCount = 7;
const char* SlotStateName(SlotState s);

class SlotChannel final : public DataChannel {
 public:
  // `base` holds the command data; `sgl_length` is what the host's SGL describes.
  void Reset(uint8_t* base, uint32_t sgl_length) {
    base_ = base;
    sgl_length_ = sgl_length;
    prepared_ = 0;
    produced_ = 0;
  }
  // A command may move at most what the host's SGL describes (NVMe Base 2.0, 4.1.2: Data SGL Length
  // Invalid when the descriptor is too short).
  Status Prepare(uint64_t length) override {
    if (length > sgl_length_) return sc::kDataSglLengthInvalid;
    prepared_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return prepared_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override {
    if (offset > prepared_ || len > prepared_ - offset) return sc::kInvalidField;
    if (len == 0) return Status::Success();
    if (dir == Direction::kToHost) produced_ = std::max<uint64_t>(produced_, offset + len);
    return chunk(base_ + offset, offset, len);
  }
  int DirectIov(uint64_t len, iovec* iov, int max) override {
    if (len == 0 || len > prepared_ || max < 1) return 0;
    iov[0].iov_base = base_;
    iov[0].iov_len = static_cast<size_t>(len);
    produced_ = std::max<uint64_t>(produced_, len);  // an async read fills it before completing
    return 1;
  }
  // Bytes written for the host (the C2HData length).
  uint32_t produced() const { return static_cast<uint32_t>(produced_); }

 private:
  uint8_t* base_ = nullptr;
  uint32_t sgl_length_ = 0;
  uint64_t prepared_ = 0;
  uint64_t produced_ = 0;
};

// One element of the connection's send FIFO: up to four buffers sent back to back.
struct TxEntry {
  iovec iov[4];
  uint8_t iovcnt = 0;
  TxEntry* next = nullptr;
  struct CommandSlot* slot = nullptr;  // null for connection-level PDUs (ICResp, C2HTermReq)
  size_t bytes = 0;                    // sum of the iov lengths
  bool frees_slot = false;             // the slot returns to the free list once this is sent
  bool queued = false;                 // in the send FIFO
};

struct CommandSlot {
  SlotState state = SlotState::kFree;
  uint16_t index = 0;       // TTAG
  bool preconnect = false;  // one of the small slots that serve commands before Connect
  CommandSlot* next_free = nullptr;

  // The command.
  Request req;
  SlotChannel channel;
  uint8_t* buf = nullptr;    // data buffer
  uint32_t capacity = 0;     // its size
  bool to_host = false;      // data direction: controller -> host (else host -> controller)
  uint32_t length = 0;       // SGL length: the command's data bytes
  uint32_t data_offset = 0;  // in-capsule SGL offset: command data starts at buf + data_offset
  bool r2t_flow = false;     // host -> controller data travels by R2T/H2CData (SGL 5Ah)
  uint32_t received = 0;     // host -> controller bytes received so far
  uint32_t r2t_offset = 0;   // the current R2T window
  uint32_t r2t_length = 0;
  uint32_t r2t_received = 0;
  Status error;  // set when the command failed before executing; data is still consumed
  bool failed = false;
  bool deferred_done = false;  // a deferred completion arrived while the handler still ran
  AsyncSlot async;             // asynchronous I/O state (I/O queues after Connect)

  // Outgoing PDU headers (with room for the header digest and C2HData padding) and data digest.
  alignas(8) uint8_t r2t_pdu[sizeof(R2tPdu) + kDigestLen] = {};
  alignas(8) uint8_t c2h_pdu[sizeof(DataPdu) + kDigestLen + 128] = {};
  alignas(8) uint8_t resp_pdu[sizeof(CapsuleResp) + kDigestLen] = {};
  uint32_t ddgst = 0;
  TxEntry tx;

  void Fail(Status st) {
    if (!failed) error = st;
    failed = true;
  }
};

}  // namespace nvemu::tcp
