// Connection lifecycle and the receive side: PDU framing (common header, PSH + header digest,
// padding, data, data digest) over a 64 KiB receive buffer, with large payloads received straight
// into the command's buffer; dispatch of ICReq, CapsuleCmd, H2CData and H2CTermReq.
#include "tcp/connection.h"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "core/fabrics/fabrics.h"
#include "tcp/digest.h"
#include "tcp/poller.h"

namespace nvemu::tcp {
namespace {

constexpr uint32_t kRxBufBytes = 64 * 1024;
// Payloads at least this large bypass the receive buffer when it is empty (one copy less).
constexpr uint32_t kDirectRecvMin = 8 * 1024;
constexpr uint32_t kPreConnectSlots = 4;

}  // namespace

const char* SlotStateName(SlotState s) {
  switch (s) {
    case SlotState::kFree:
      return "free";
    case SlotState::kRecvCapsule:
      return "recv-capsule";
    case SlotState::kAwaitH2C:
      return "await-h2c";
    case SlotState::kExecute:
      return "execute";
    case SlotState::kDeferred:
      return "deferred";
    case SlotState::kInFlight:
      return "in-flight";
    case SlotState::kSending:
      return "sending";
  }
  return "?";
}

Connection::Connection(UniqueFd fd, uint64_t id, TcpPoller& poller, fabrics::TargetCore& core,
                       const ConnectionLimits& limits)
    : fd_(std::move(fd)),
      id_(id),
      poller_(poller),
      core_(core),
      limits_(limits),
      queue_(core, *this),
      rx_buf_(new uint8_t[kRxBufBytes]) {
  rx_ctx_.role = Role::kController;
  rx_ctx_.max_capsule_data = limits_.admin_in_capsule;  // Connect data is in-capsule
  rx_ctx_.max_h2c_data = limits_.maxh2cdata;
  // Commands before Connect get small slots (in-capsule data only; they fail or are Connect).
  pre_slots_ = std::make_unique<CommandSlot[]>(kPreConnectSlots);
  pre_data_ = std::make_unique<uint8_t[]>(kPreConnectSlots * limits_.admin_in_capsule);
  for (uint32_t i = kPreConnectSlots; i-- > 0;) {
    CommandSlot& s = pre_slots_[i];
    s.index = static_cast<uint16_t>(i);
    s.preconnect = true;
    s.buf = pre_data_.get() + i * limits_.admin_in_capsule;
    s.capacity = limits_.admin_in_capsule;
    s.next_free = pre_free_;
    pre_free_ = &s;
  }
}

Connection::~Connection() {
  WaitInflight();
  queue_.Detach();
  if (slot_data_ != nullptr) munmap(slot_data_, slot_data_bytes_);
}

void Connection::Close(const char* why) {
  if (state_ == ConnState::kClosed) return;
  spdlog::debug("tcp: connection {} (qid {}) closed: {}", id_, queue_.qid(), why);
  state_ = ConnState::kClosed;
  rx_ = Rx::kStopped;
  // Commands in flight on the io_uring complete first (their responses are dropped): their slots
  // and the namespaces they use must outlive them, and the queue's epoch must end.
  WaitInflight();
  queue_.Detach();  // an admin queue ends its association; an I/O queue leaves its controller
  poller_.OnClosed(this);
  fd_.Reset();
}

void Connection::Drain(const char* why, uint64_t deadline_ns) {
  if (state_ == ConnState::kClosed) return;
  if (state_ != ConnState::kDraining) spdlog::debug("tcp: connection {} draining: {}", id_, why);
  state_ = ConnState::kDraining;
  rx_ = Rx::kStopped;
  if (drain_deadline_ns_ == 0 || deadline_ns < drain_deadline_ns_) drain_deadline_ns_ = deadline_ns;
  if (tx_head_ == nullptr && inflight_ == 0) Close(why);
}

void Connection::RequestClose(const char* why) { poller_.RequestClose(id_, why); }

void Connection::DeliverDeferred(uint16_t cid, Status status, uint32_t dw0) {
  poller_.DeliverDeferred(id_, cid, status, dw0);
}

// NVMe/TCP 1.0, 3.6.2.5 C2HTermReq: report the fatal error, stop reading, close once it is sent.
void Connection::Terminate(const PduError& err) {
  spdlog::warn("tcp: connection {}: fatal transport error: {} (FES {:#x} {}, FEI {})", id_,
               err.what, static_cast<unsigned>(err.fes), FesName(err.fes), err.fei);
  rx_ = Rx::kStopped;
  DropUnsentTx();
  QueueTermReq(err.fes, err.fei);
  Drain("fatal transport error", core_.clock().NowNs() + 1'000'000'000);
}

uint32_t Connection::Service(uint32_t budget) {
  uint32_t pdus = 0;
  while (pdus < budget && rx_ != Rx::kStopped) {
    if (!Step(&pdus)) break;
  }
  if (state_ != ConnState::kClosed) Flush();
  return pdus;
}

bool Connection::Step(uint32_t* pdus) {
  switch (rx_) {
    case Rx::kHeader:
      return ReadHeader(pdus);
    case Rx::kPad: {
      if (rx_head_ == rx_tail_ && !Refill()) return false;
      uint32_t n = std::min(skip_left_, rx_tail_ - rx_head_);
      rx_head_ += n;
      skip_left_ -= n;
      if (skip_left_ == 0) rx_ = Rx::kData;
      return true;
    }
    case Rx::kData:
      return ReadData();
    case Rx::kDataDigest:
      return ReadDataDigest();
    case Rx::kStopped:
      return false;
  }
  return false;
}

// Receives into the (empty) buffer. False when nothing arrived or the connection closed.
bool Connection::Refill() {
  rx_head_ = rx_tail_ = 0;
  for (;;) {
    ++stats_.recv_calls;
    ssize_t n = ::recv(fd_.get(), rx_buf_.get(), kRxBufBytes, MSG_DONTWAIT);
    if (n > 0) {
      rx_tail_ = static_cast<uint32_t>(n);
      return true;
    }
    if (n == 0) {
      Close("connection closed by the host");
      return false;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) Close(std::strerror(errno));
    return false;
  }
}

bool Connection::ReadHeader(uint32_t* pdus) {
  const uint32_t need = ch_valid_ ? layout_.header_bytes : sizeof(CommonHeader);
  while (hdr_have_ < need) {
    if (rx_head_ == rx_tail_ && !Refill()) return false;
    uint32_t n = std::min(need - hdr_have_, rx_tail_ - rx_head_);
    std::memcpy(hdr_ + hdr_have_, rx_buf_.get() + rx_head_, n);
    rx_head_ += n;
    hdr_have_ += n;
  }
  if (!ch_valid_) {
    CommonHeader ch;
    std::memcpy(&ch, hdr_, sizeof(ch));
    last_hdr_len_ = sizeof(ch);
    PduError err = ValidateCommonHeader(ch, rx_ctx_, &layout_);
    if (!err.ok()) {
      Terminate(err);
      return false;
    }
    ch_valid_ = true;
    return true;
  }
  last_hdr_len_ = layout_.header_bytes;
  PduError err = VerifyHeaderDigest(hdr_, layout_);
  if (err.ok()) err = ValidatePsh(hdr_, layout_, rx_ctx_);
  if (!err.ok()) {
    Terminate(err);
    return false;
  }
  ++*pdus;
  ++stats_.pdus_received;
  hdr_have_ = 0;
  ch_valid_ = false;
  OnHeader();
  return true;
}

void Connection::ExpectData(uint8_t* dest, uint32_t len) {
  data_dest_ = dest;
  data_start_ = dest;
  data_left_ = len;
  skip_left_ = layout_.pad;
  rx_ = skip_left_ ? Rx::kPad : Rx::kData;
}

bool Connection::ReadData() {
  while (data_left_ > 0) {
    if (rx_head_ == rx_tail_) {
      if (data_dest_ != nullptr && data_left_ >= kDirectRecvMin) {
        ++stats_.recv_calls;
        ssize_t n = ::recv(fd_.get(), data_dest_, data_left_, MSG_DONTWAIT);
        if (n > 0) {
          data_dest_ += n;
          data_left_ -= static_cast<uint32_t>(n);
          continue;
        }
        if (n == 0) {
          Close("connection closed by the host");
          return false;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) Close(std::strerror(errno));
        return false;
      }
      if (!Refill()) return false;
    }
    uint32_t n = std::min(data_left_, rx_tail_ - rx_head_);
    if (data_dest_ != nullptr) {
      std::memcpy(data_dest_, rx_buf_.get() + rx_head_, n);
      data_dest_ += n;
    }
    rx_head_ += n;
    data_left_ -= n;
  }
  if (layout_.ddgst) {
    rx_ = Rx::kDataDigest;
    ddgst_have_ = 0;
    return true;
  }
  OnDataDone();
  return true;
}

// NVMe/TCP 1.0, 3.6.1.2: a data digest error fails that command (Transient Transport Error) and
// leaves the connection up.
bool Connection::ReadDataDigest() {
  while (ddgst_have_ < kDigestLen) {
    if (rx_head_ == rx_tail_ && !Refill()) return false;
    uint32_t n = std::min(kDigestLen - ddgst_have_, rx_tail_ - rx_head_);
    std::memcpy(ddgst_buf_ + ddgst_have_, rx_buf_.get() + rx_head_, n);
    rx_head_ += n;
    ddgst_have_ += n;
  }
  if (data_start_ != nullptr && rx_slot_ != nullptr) {
    uint32_t got;
    std::memcpy(&got, ddgst_buf_, sizeof(got));
    if (Crc32c(data_start_, layout_.data_len) != got) {
      spdlog::warn("tcp: connection {}: data digest error on command {:#x}", id_,
                   rx_slot_->req.sqe.cid);
      rx_slot_->Fail(fabrics::sc::kTransientTransportError);
    }
  }
  OnDataDone();
  return true;
}

void Connection::OnHeader() {
  switch (layout_.type) {
    case PduType::kIcReq:
      return OnIcReq();
    case PduType::kCapsuleCmd:
      return OnCapsuleCmd();
    case PduType::kH2CData:
      return OnH2CData();
    case PduType::kH2CTermReq:
      return OnH2CTermReq();
    default:  // ValidateCommonHeader only passes host-to-controller types
      return Terminate({Fes::kInvalidHeaderField, 0, "unexpected PDU type"});
  }
}

// NVMe/TCP 1.0, 3.6.2.2 ICReq -> 3.6.2.3 ICResp: digests as the host asks (mirrored), CPDA 0,
// MAXH2CDATA as configured.
void Connection::OnIcReq() {
  IcReq r;
  std::memcpy(&r, hdr_, sizeof(r));
  hdgst_ = (r.dgst & kDgstHeader) != 0;
  ddgst_ = (r.dgst & kDgstData) != 0;
  hpda_ = r.hpda;
  maxr2t_ = r.maxr2t;
  rx_ctx_.initialized = true;
  rx_ctx_.hdgst = hdgst_;
  rx_ctx_.ddgst = ddgst_;
  state_ = ConnState::kAwaitConnect;
  QueueIcResp(r.dgst & (kDgstHeader | kDgstData));
}

void Connection::OnCapsuleCmd() {
  CommandSlot* slot = AllocSlot();
  if (slot == nullptr) {
    return Terminate({Fes::kPduSequenceError, 0, "more commands outstanding than SQSIZE allows"});
  }
  ++stats_.commands;
  std::memcpy(&slot->req.sqe, hdr_ + sizeof(CommonHeader), sizeof(Sqe));
  if (queue_.sq_entries() != 0) sqhd_ = static_cast<uint16_t>((sqhd_ + 1) % queue_.sq_entries());
  SetupCommand(slot, layout_.data_len);
}

// NVMe/TCP 1.0, 3.6.2.8 H2CData: data solicited by an R2T, in order, inside the R2T window.
void Connection::OnH2CData() {
  DataPdu d;
  std::memcpy(&d, hdr_, sizeof(d));
  if (d.ttag >= nslots_ || slots_[d.ttag].state != SlotState::kAwaitH2C ||
      slots_[d.ttag].tx.queued) {
    return Terminate({Fes::kInvalidHeaderField, offsetof(DataPdu, ttag),
                      "H2CData TTAG matches no outstanding R2T"});
  }
  CommandSlot* slot = &slots_[d.ttag];
  if (d.cccid != slot->req.sqe.cid) {
    return Terminate({Fes::kInvalidHeaderField, offsetof(DataPdu, cccid),
                      "H2CData CCCID does not match the R2T"});
  }
  const uint64_t end = static_cast<uint64_t>(d.datao) + d.datal;
  const uint64_t r2t_end = static_cast<uint64_t>(slot->r2t_offset) + slot->r2t_length;
  if (d.datao < slot->r2t_offset || end > r2t_end) {
    return Terminate(
        {Fes::kDataOutOfRange, offsetof(DataPdu, datao), "H2CData outside the R2T window"});
  }
  if (d.datao != slot->r2t_offset + slot->r2t_received) {
    return Terminate({Fes::kInvalidHeaderField, offsetof(DataPdu, datao),
                      "H2CData DATAO is not the next expected offset"});
  }
  if ((layout_.flags & kFlagLastPdu) && end != r2t_end) {
    return Terminate({Fes::kPduSequenceError, 0, "H2CData LAST_PDU before the R2T is complete"});
  }
  ++stats_.h2c_pdus;
  rx_slot_ = slot;
  ExpectData(slot->failed ? nullptr : slot->buf + slot->data_offset + d.datao, d.datal);
}

// NVMe/TCP 1.0, 3.6.2.4: the host reports a fatal error; the connection ends without a reply.
void Connection::OnH2CTermReq() {
  TermReq t;
  std::memcpy(&t, hdr_, sizeof(t));
  const unsigned fes = t.fes;
  const uint32_t fei = t.fei;
  spdlog::warn("tcp: connection {}: host sent H2CTermReq (FES {:#x}, FEI {})", id_, fes, fei);
  Close("H2CTermReq from the host");
}

void Connection::OnDataDone() {
  CommandSlot* slot = rx_slot_;
  rx_slot_ = nullptr;
  rx_ = Rx::kHeader;
  if (slot == nullptr) return;
  if (layout_.type == PduType::kCapsuleCmd) {
    slot->received = slot->failed ? 0 : slot->length;
    OnCommandDataReady(slot);
    return;
  }
  // H2CData.
  slot->received += layout_.data_len;
  slot->r2t_received += layout_.data_len;
  if (slot->r2t_received < slot->r2t_length) return;
  if (slot->received < slot->length) {
    IssueR2T(slot);
  } else {
    Execute(slot);
  }
}

}  // namespace nvemu::tcp
