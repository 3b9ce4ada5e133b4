// The send side of a Connection: builds the controller's PDUs in slot-owned storage (no allocation)
// and writes the send FIFO with one non-blocking sendmsg per batch (many PDUs, their data straight
// from the slot buffers), resuming after partial writes.
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "tcp/connection.h"
#include "tcp/digest.h"
#include "tcp/poller.h"

namespace nvemu::tcp {
namespace {

constexpr int kMaxIov = 64;

CommonHeader MakeHeader(PduType type, uint8_t flags, uint8_t hlen, uint8_t pdo, uint32_t plen) {
  return CommonHeader{static_cast<uint8_t>(type), flags, hlen, pdo, plen};
}

void SetIov(TxEntry* e, std::initializer_list<iovec> iovs) {
  e->iovcnt = 0;
  e->bytes = 0;
  for (const iovec& v : iovs) {
    e->iov[e->iovcnt++] = v;
    e->bytes += v.iov_len;
  }
}

}  // namespace

void Connection::Enqueue(TxEntry* e) {
  e->next = nullptr;
  e->queued = true;
  if (tx_tail_ != nullptr) {
    tx_tail_->next = e;
  } else {
    tx_head_ = e;
  }
  tx_tail_ = e;
}

// Keeps a partially written head (the byte stream must stay well formed), drops everything else.
void Connection::DropUnsentTx() {
  TxEntry* keep = tx_head_sent_ > 0 ? tx_head_ : nullptr;
  for (TxEntry* e = keep ? tx_head_->next : tx_head_; e != nullptr;) {
    TxEntry* next = e->next;
    e->queued = false;
    e->next = nullptr;
    e = next;
  }
  tx_head_ = tx_tail_ = keep;
  if (keep) keep->next = nullptr;
}

void Connection::QueueIcResp(uint8_t dgst) {
  IcResp r{};
  r.ch = MakeHeader(PduType::kIcResp, 0, sizeof(IcResp), 0, sizeof(IcResp));
  r.pfv = kPfv10;
  r.cpda = 0;
  r.dgst = dgst;
  r.maxh2cdata = limits_.maxh2cdata;
  std::memcpy(icresp_pdu_, &r, sizeof(r));
  SetIov(&icresp_tx_, {{icresp_pdu_, sizeof(r)}});  // one 128-byte write (the Linux host needs it)
  Enqueue(&icresp_tx_);
}

// NVMe/TCP 1.0, 3.6.2.5: FES, FEI and up to 128 bytes of the header of the PDU in error.
void Connection::QueueTermReq(Fes fes, uint32_t fei) {
  if (term_tx_.queued) return;
  const uint32_t copy = std::min<uint32_t>(last_hdr_len_, kTermReqMaxData);
  TermReq t{};
  t.ch = MakeHeader(PduType::kC2HTermReq, 0, sizeof(TermReq), 0, sizeof(TermReq) + copy);
  t.fes = static_cast<uint16_t>(fes);
  t.fei = fei;
  std::memcpy(term_pdu_, &t, sizeof(t));
  std::memcpy(term_pdu_ + sizeof(t), hdr_, copy);
  SetIov(&term_tx_, {{term_pdu_, sizeof(t) + copy}});
  Enqueue(&term_tx_);
}

// NVMe/TCP 1.0, 3.6.2.10 R2T: TTAG = the slot index.
void Connection::QueueR2T(CommandSlot* slot) {
  const uint32_t hd = HeaderDigestLen();
  R2tPdu r{};
  r.ch = MakeHeader(PduType::kR2T, hdgst_ ? kFlagHdgst : 0, sizeof(R2tPdu), 0, sizeof(R2tPdu) + hd);
  r.cccid = slot->req.sqe.cid;
  r.ttag = slot->index;
  r.r2to = slot->r2t_offset;
  r.r2tl = slot->r2t_length;
  std::memcpy(slot->r2t_pdu, &r, sizeof(r));
  if (hdgst_) SetHeaderDigest(slot->r2t_pdu, sizeof(R2tPdu));
  slot->tx.slot = slot;
  slot->tx.frees_slot = false;
  SetIov(&slot->tx, {{slot->r2t_pdu, sizeof(R2tPdu) + hd}});
  ++stats_.r2ts_sent;
  Enqueue(&slot->tx);
}

// NVMe/TCP 1.0, 3.6.2.9 C2HData (one PDU, DATAO 0, LAST_PDU; SUCCESS when SQ flow control is off,
// in which case no CapsuleResp follows) and 3.6.2.7 CapsuleResp.
void Connection::QueueResponse(CommandSlot* slot, Status st, uint32_t c2h_len) {
  const uint32_t hd = HeaderDigestLen();
  const bool success_flag = c2h_len != 0 && st.ok() && queue_.sq_flow_control_disabled();
  iovec iov[4];
  int n = 0;
  if (c2h_len != 0) {
    const uint32_t hdr_end = sizeof(DataPdu) + hd;
    const uint32_t align = 4u * (hpda_ + 1u);  // HPDA: host PDU data alignment in dwords
    const uint32_t pdo = (hdr_end + align - 1) / align * align;
    const uint32_t dd = ddgst_ ? kDigestLen : 0;
    uint8_t flags = kFlagLastPdu;
    if (success_flag) flags |= kFlagSuccess;
    if (hdgst_) flags |= kFlagHdgst;
    if (ddgst_) flags |= kFlagDdgst;
    DataPdu d{};
    d.ch = MakeHeader(PduType::kC2HData, flags, sizeof(DataPdu), static_cast<uint8_t>(pdo),
                      pdo + c2h_len + dd);
    d.cccid = slot->req.sqe.cid;
    d.datao = 0;
    d.datal = c2h_len;
    std::memcpy(slot->c2h_pdu, &d, sizeof(d));
    if (hdgst_) SetHeaderDigest(slot->c2h_pdu, sizeof(DataPdu));
    std::memset(slot->c2h_pdu + hdr_end, 0, pdo - hdr_end);
    uint8_t* data = slot->buf + slot->data_offset;
    iov[n++] = {slot->c2h_pdu, pdo};
    iov[n++] = {data, c2h_len};
    if (ddgst_) {
      slot->ddgst = Crc32c(data, c2h_len);
      iov[n++] = {&slot->ddgst, kDigestLen};
    }
    ++stats_.c2h_pdus;
  }
  if (!success_flag) {
    CapsuleResp r{};
    r.ch = MakeHeader(PduType::kCapsuleResp, hdgst_ ? kFlagHdgst : 0, sizeof(CapsuleResp), 0,
                      sizeof(CapsuleResp) + hd);
    r.cqe.dw0 = slot->req.dw0;
    r.cqe.dw1 = slot->req.dw1;
    r.cqe.sqhd = queue_.sq_flow_control_disabled() ? 0xffff : sqhd_;
    r.cqe.sqid = queue_.qid();
    r.cqe.cid = slot->req.sqe.cid;
    r.cqe.status = static_cast<uint16_t>(st.field() << 1);  // phase tag 0 (unused on fabrics)
    std::memcpy(slot->resp_pdu, &r, sizeof(r));
    if (hdgst_) SetHeaderDigest(slot->resp_pdu, sizeof(CapsuleResp));
    iov[n++] = {slot->resp_pdu, sizeof(CapsuleResp) + hd};
  }
  TxEntry* e = &slot->tx;
  e->slot = slot;
  e->frees_slot = true;
  e->iovcnt = 0;
  e->bytes = 0;
  for (int i = 0; i < n; ++i) {
    e->iov[e->iovcnt++] = iov[i];
    e->bytes += iov[i].iov_len;
  }
  SetState(slot, SlotState::kSending);
  Enqueue(e);
}

void Connection::OnSent(TxEntry* e) {
  e->queued = false;
  if (e->slot != nullptr && e->frees_slot) FreeSlot(e->slot);
  if (state_ == ConnState::kDraining && tx_head_ == nullptr && inflight_ == 0) Close("drained");
}

void Connection::Flush() {
  while (tx_head_ != nullptr && state_ != ConnState::kClosed) {
    iovec iov[kMaxIov];
    int cnt = 0;
    size_t skip = tx_head_sent_;
    for (TxEntry* e = tx_head_; e != nullptr && cnt < kMaxIov; e = e->next) {
      for (int i = 0; i < e->iovcnt && cnt < kMaxIov; ++i) {
        const iovec& v = e->iov[i];
        if (skip >= v.iov_len) {
          skip -= v.iov_len;
          continue;
        }
        iov[cnt++] = {static_cast<uint8_t*>(v.iov_base) + skip, v.iov_len - skip};
        skip = 0;
      }
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(cnt);
    ++stats_.sendmsg_calls;
    ssize_t sent = ::sendmsg(fd_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!tx_blocked_) poller_.SetWriteInterest(this, true);
        tx_blocked_ = true;
        return;
      }
      Close(std::strerror(errno));
      return;
    }
    size_t left = static_cast<size_t>(sent) + tx_head_sent_;
    tx_head_sent_ = 0;
    while (tx_head_ != nullptr) {
      TxEntry* e = tx_head_;
      if (left < e->bytes) {
        tx_head_sent_ = left;
        break;
      }
      left -= e->bytes;
      tx_head_ = e->next;
      if (tx_head_ == nullptr) tx_tail_ = nullptr;
      e->next = nullptr;
      OnSent(e);
      if (state_ == ConnState::kClosed) return;
    }
  }
  if (tx_blocked_ && state_ != ConnState::kClosed) {
    tx_blocked_ = false;
    poller_.SetWriteInterest(this, false);
  }
}

}  // namespace nvemu::tcp
