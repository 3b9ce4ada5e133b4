// Connection: one NVMe/TCP connection = one NVMe queue (NVMe/TCP 1.0, 2.2). It parses the PDU
// stream from the host, runs each command's state machine (in-capsule data, R2T/H2CData, execution,
// C2HData, CapsuleResp) and writes the controller's PDUs back with batched, non-blocking sendmsg.
//
// Connection states (NVMe/TCP 1.0, 3.3 and 3.6.2.2):
//   kAwaitIcReq   - TCP connected; the only valid PDU is ICReq (anything else: C2HTermReq).
//   kAwaitConnect - ICResp sent; commands run but only Connect succeeds (others: Command Sequence
//                   Error, from fabrics::Queue).
//   kLive         - connected to a controller as the admin queue or an I/O queue.
//   kDraining     - no more PDUs are read (a fatal error queued a C2HTermReq, a Disconnect
//                   completed, or the target stops); closes once the commands in flight have
//                   completed and the send FIFO drains, or a deadline passes.
//   kClosed       - socket closed; the poller destroys the connection at the end of its pass.
//                   Closing first waits for the commands in flight on the reactor's io_uring.
// Per-command states are SlotState (slot.h).
//
// Protocol errors end the connection with a C2HTermReq carrying the Fatal Error Status and the
// offending header, then close it; they never touch other connections. Bad commands complete with
// an NVMe status instead.
//
// Threading: everything runs on the owning TcpPoller's reactor thread except RequestClose(), which
// any thread may call (it posts to that thread).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "core/fabrics/queue.h"
#include "core/fabrics/queue_link.h"
#include "core/fabrics/target_core.h"
#include "storage/unique_fd.h"
#include "tcp/pdu.h"
#include "tcp/slot.h"

namespace nvemu::tcp {

class TcpPoller;

// Transport limits of a target (from TargetConfig), identical for every connection.
struct ConnectionLimits {
  uint32_t admin_in_capsule = 8192;  // NVMe/TCP 1.0, 3.5.2: the admin queue takes 8 KiB in-capsule
  uint32_t io_in_capsule = 8192;     // IOCCSZ * 16 - 64
  uint32_t maxh2cdata = 128 * 1024;  // ICResp MAXH2CDATA
  uint32_t max_r2t_bytes = 0;        // 0: one R2T for the whole remaining data
  uint32_t max_transfer = 512 * 1024;  // MDTS in bytes: the slot data buffer size
};

enum class ConnState : uint8_t { kAwaitIcReq, kAwaitConnect, kLive, kDraining, kClosed };

// Counters for tests and diagnostics (reactor thread writes, others may read racily).
struct ConnectionStats {
  uint64_t pdus_received = 0;
  uint64_t commands = 0;
  uint64_t r2ts_sent = 0;
  uint64_t h2c_pdus = 0;
  uint64_t c2h_pdus = 0;
  uint64_t sendmsg_calls = 0;
  uint64_t recv_calls = 0;
  std::array<uint64_t, kSlotStateCount> slot_states{};  // transitions into each SlotState
};

class Connection final : public fabrics::QueueLink {
 public:
  Connection(UniqueFd fd, uint64_t id, TcpPoller& poller, fabrics::TargetCore& core,
             const ConnectionLimits& limits);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Reads and processes up to `budget` PDUs, executes the commands that became ready and flushes
  // the responses. Returns the number of PDUs processed. Reactor thread.
  uint32_t Service(uint32_t budget);
  // Writes queued PDUs (the socket became writable). Reactor thread.
  void Flush();
  // Closes the socket now (peer gone, fatal error flushed, keep-alive expiry). Idempotent.
  void Close(const char* why);
  // Stops reading and closes once queued responses are sent (or `deadline_ns` passes).
  void Drain(const char* why, uint64_t deadline_ns);

  // fabrics::QueueLink: any thread.
  void RequestClose(const char* why) override;
  void DeliverDeferred(uint16_t cid, Status status, uint32_t dw0) override;
  // Reactor thread: completes the deferred command `cid`, if it is still outstanding.
  void CompleteDeferred(uint16_t cid, Status status, uint32_t dw0);

  int fd() const { return fd_.get(); }
  uint64_t id() const { return id_; }
  ConnState state() const { return state_; }
  bool closed() const { return state_ == ConnState::kClosed; }
  // Input is buffered in user space (the last Service() ran out of budget).
  bool has_buffered_input() const { return rx_tail_ > rx_head_ && rx_ != Rx::kStopped; }
  // Output is waiting for the socket to become writable.
  bool wants_write() const { return tx_head_ != nullptr && tx_blocked_; }
  uint64_t drain_deadline_ns() const { return drain_deadline_ns_; }
  fabrics::Queue& queue() { return queue_; }
  const ConnectionStats& stats() const { return stats_; }

 private:
  // Receive side (connection.cc).
  enum class Rx : uint8_t { kHeader, kPad, kData, kDataDigest, kStopped };
  bool Step(uint32_t* pdus);
  bool Refill();
  bool ReadHeader(uint32_t* pdus);
  bool ReadData();
  bool ReadDataDigest();
  void OnHeader();
  void OnIcReq();
  void OnCapsuleCmd();
  void OnH2CData();
  void OnH2CTermReq();
  void OnDataDone();
  void OnConnected();
  void ExpectData(uint8_t* dest, uint32_t len);
  void Terminate(const PduError& err);

  // Commands (command.cc).
  CommandSlot* AllocSlot();
  void FreeSlot(CommandSlot* slot);
  void SetState(CommandSlot* slot, SlotState s);
  void SetupCommand(CommandSlot* slot, uint32_t in_capsule);
  void OnCommandDataReady(CommandSlot* slot);
  void Execute(CommandSlot* slot);
  void AllocateSlots(uint32_t entries);
  void IssueR2T(CommandSlot* slot);
  void Complete(CommandSlot* slot, Status st);
  // Asynchronous I/O (nvm/async_slot.h): AsyncSlot::complete, and waiting for the in-flight ones.
  static void OnAsyncComplete(AsyncSlot* async, Status st);
  void WaitInflight();

  // Send side (send.cc).
  void Enqueue(TxEntry* e);
  void QueueIcResp(uint8_t dgst);
  void QueueTermReq(Fes fes, uint32_t fei);
  void QueueR2T(CommandSlot* slot);
  void QueueResponse(CommandSlot* slot, Status st, uint32_t c2h_len);
  void OnSent(TxEntry* e);
  void DropUnsentTx();
  uint32_t HeaderDigestLen() const { return hdgst_ ? kDigestLen : 0; }

  UniqueFd fd_;
  const uint64_t id_;
  TcpPoller& poller_;
  fabrics::TargetCore& core_;
  const ConnectionLimits limits_;
  fabrics::Queue queue_;
  ConnState state_ = ConnState::kAwaitIcReq;
  uint64_t drain_deadline_ns_ = 0;

  // Negotiated at ICReq (NVMe/TCP 1.0, 3.6.2.2).
  bool hdgst_ = false;
  bool ddgst_ = false;
  uint8_t hpda_ = 0;     // C2HData PDO alignment: (HPDA + 1) dwords
  uint32_t maxr2t_ = 0;  // 0's based; we keep one R2T per command outstanding
  RecvContext rx_ctx_;

  // Receive buffer and PDU state.
  std::unique_ptr<uint8_t[]> rx_buf_;
  uint32_t rx_head_ = 0;
  uint32_t rx_tail_ = 0;
  Rx rx_ = Rx::kHeader;
  alignas(8) uint8_t hdr_[kMaxHeaderBytes] = {};
  uint32_t hdr_have_ = 0;
  bool ch_valid_ = false;  // the 8-byte common header of hdr_ passed validation
  PduLayout layout_;
  uint32_t skip_left_ = 0;        // padding bytes still to skip
  uint8_t* data_dest_ = nullptr;  // where PDU data goes (null: discarded)
  uint8_t* data_start_ = nullptr;
  uint32_t data_left_ = 0;
  uint8_t ddgst_buf_[kDigestLen] = {};
  uint32_t ddgst_have_ = 0;
  CommandSlot* rx_slot_ = nullptr;  // the command the current PDU's data belongs to
  uint32_t last_hdr_len_ = 0;       // bytes of hdr_ that form the PDU header in error (TermReq)

  // Command slots: a few small ones before Connect, then SQSIZE + 1 of them.
  std::unique_ptr<CommandSlot[]> pre_slots_;
  std::unique_ptr<uint8_t[]> pre_data_;
  std::unique_ptr<CommandSlot[]> slots_;
  uint32_t nslots_ = 0;
  uint8_t* slot_data_ = nullptr;  // mmap'ed: nslots_ * limits_.max_transfer (pages on first touch)
  size_t slot_data_bytes_ = 0;
  CommandSlot* free_ = nullptr;
  CommandSlot* pre_free_ = nullptr;
  uint16_t sqhd_ = 0;
  uint32_t inflight_ = 0;  // commands in SlotState::kInFlight

  // Send FIFO.
  TxEntry* tx_head_ = nullptr;
  TxEntry* tx_tail_ = nullptr;
  size_t tx_head_sent_ = 0;  // bytes of tx_head_ already written
  bool tx_blocked_ = false;  // the last sendmsg hit EAGAIN
  TxEntry icresp_tx_;
  alignas(8) uint8_t icresp_pdu_[sizeof(IcResp)] = {};
  TxEntry term_tx_;
  alignas(8) uint8_t term_pdu_[sizeof(TermReq) + kTermReqMaxData] = {};

  ConnectionStats stats_;
};

}  // namespace nvemu::tcp
