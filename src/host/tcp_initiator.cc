// TcpQueue: the host end of one NVMe/TCP connection (NVMe/TCP 1.0, chapter 3, from the host's
// side).
#include "nvemu/host/tcp_initiator.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tcp/digest.h"
#include "tcp/pdu.h"

namespace nvemu::host {

using tcp::CommonHeader;
using tcp::kDigestLen;
using tcp::PduType;

struct TcpQueue::Command {
  // The capsule header (with digest and padding room) and data digest, owned per CID so that a
  // queued capsule stays valid until Flush().
  uint8_t pdu[sizeof(tcp::CapsuleCmd) + kDigestLen + 128] = {};
  uint32_t ddgst = 0;
  bool busy = false;
  bool done = false;
  std::span<const uint8_t> out;
  std::span<uint8_t> in;
  uint32_t in_received = 0;
  bool data_error = false;  // C2HData digest mismatch or bad offsets
  Cqe cqe{};
};

namespace {

constexpr size_t kRecvBuf = 64 * 1024;
constexpr uint8_t kSglDataBlockOffset = 0x01;
constexpr uint8_t kSglTransportDataBlock = 0x5a;

Result<int> ConnectSocket(const std::string& address, uint16_t port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
  } else {
    return Error{fmt::format("'{}' is not an IPv4 or IPv6 address", address)};
  }
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{fmt::format("socket: {}", std::strerror(errno))};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int e = errno;
    ::close(fd);
    return Error{fmt::format("connect {} port {}: {}", address, port, std::strerror(e))};
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

CommonHeader Header(PduType type, uint8_t flags, uint8_t hlen, uint8_t pdo, uint32_t plen) {
  return CommonHeader{static_cast<uint8_t>(type), flags, hlen, pdo, plen};
}

int RemainingMs(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

TcpQueue::TcpQueue(int fd, const TcpQueueOptions& options)
    : fd_(fd), options_(options), rbuf_(kRecvBuf) {
  set_entries(entries_);
}

TcpQueue::~TcpQueue() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<TcpQueue>> TcpQueue::OpenRaw(const std::string& address, uint16_t port,
                                                    const TcpQueueOptions& options) {
  auto fd = ConnectSocket(address, port);
  if (!fd.ok()) return fd.error();
  return std::unique_ptr<TcpQueue>(new TcpQueue(fd.value(), options));
}

Result<std::unique_ptr<TcpQueue>> TcpQueue::Open(const std::string& address, uint16_t port,
                                                 const TcpQueueOptions& options) {
  auto q = OpenRaw(address, port, options);
  if (!q.ok()) return q.error();
  if (auto r = q.value()->Initialize(); !r.ok()) return r.error();
  return std::move(q.value());
}

void TcpQueue::set_entries(uint16_t entries) {
  entries_ = std::max<uint16_t>(entries, 2);
  cmds_.assign(entries_, Command{});
  outstanding_ = 0;
  pending_.clear();
  pending_.reserve(3u * entries_);
  done_.clear();
}

Result<void> TcpQueue::Fail(std::string why) {
  failed_ = true;
  return Error{std::move(why)};
}

Result<void> TcpQueue::SendAll(iovec* iov, size_t iovcnt) {
  constexpr size_t kMaxIov = 1024;  // IOV_MAX on Linux
  size_t i = 0;
  while (i < iovcnt) {
    msghdr msg{};
    msg.msg_iov = iov + i;
    msg.msg_iovlen = std::min(iovcnt - i, kMaxIov);
    ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(fmt::format("send: {}", std::strerror(errno)));
    }
    size_t left = static_cast<size_t>(n);
    while (i < iovcnt && left >= iov[i].iov_len) left -= iov[i++].iov_len;
    if (i < iovcnt) {
      iov[i].iov_base = static_cast<uint8_t*>(iov[i].iov_base) + left;
      iov[i].iov_len -= left;
    }
  }
  return {};
}

Result<void> TcpQueue::SendRaw(const void* data, size_t len) {
  iovec v{const_cast<void*>(data), len};
  return SendAll(&v, 1);
}

Result<void> TcpQueue::ReadExact(void* dst, size_t len,
                                 std::chrono::steady_clock::time_point deadline) {
  auto* d = static_cast<uint8_t*>(dst);
  while (len > 0) {
    if (rhead_ == rtail_) {
      rhead_ = rtail_ = 0;
      pollfd p{fd_, POLLIN, 0};
      int r = ::poll(&p, 1, RemainingMs(deadline));
      if (r == 0) return Error{"timed out waiting for the controller"};
      if (r < 0) {
        if (errno == EINTR) continue;
        return Fail(fmt::format("poll: {}", std::strerror(errno)));
      }
      ssize_t n = ::recv(fd_, rbuf_.data(), rbuf_.size(), 0);
      if (n == 0) return Fail("connection closed by the controller");
      if (n < 0) {
        if (errno == EINTR) continue;
        return Fail(fmt::format("recv: {}", std::strerror(errno)));
      }
      rtail_ = static_cast<size_t>(n);
    }
    size_t n = std::min(len, rtail_ - rhead_);
    if (d != nullptr) {
      std::memcpy(d, rbuf_.data() + rhead_, n);
      d += n;
    }
    rhead_ += n;
    len -= n;
  }
  return {};
}

Result<size_t> TcpQueue::RecvRaw(void* data, size_t len, std::chrono::milliseconds timeout) {
  if (auto r = ReadExact(data, len, std::chrono::steady_clock::now() + timeout); !r.ok()) {
    return r.error();
  }
  return len;
}

bool TcpQueue::WaitClosed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint8_t b;
  for (;;) {
    auto r = ReadExact(&b, 1, deadline);
    if (r.ok()) continue;  // discard whatever still arrives
    return failed_;        // closed (or reset), not a timeout
  }
}

// NVMe/TCP 1.0, 3.6.2.2 / 3.6.2.3: ICReq out, ICResp in (checked as the Linux host checks it).
Result<void> TcpQueue::Initialize() {
  tcp::IcReq req{};
  req.ch = Header(PduType::kIcReq, 0, sizeof(req), 0, sizeof(req));
  req.pfv = tcp::kPfv10;
  req.hpda = options_.hpda;
  req.dgst =
      (options_.header_digest ? tcp::kDgstHeader : 0) | (options_.data_digest ? tcp::kDgstData : 0);
  req.maxr2t = 0;
  if (auto r = SendRaw(&req, sizeof(req)); !r.ok()) return r;
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  tcp::IcResp resp;
  if (auto r = ReadExact(&resp, sizeof(CommonHeader), deadline); !r.ok()) return r;
  if (resp.ch.type == static_cast<uint8_t>(PduType::kC2HTermReq)) {
    return Fail("controller answered ICReq with C2HTermReq");
  }
  tcp::RecvContext ctx;
  ctx.role = tcp::Role::kHost;
  tcp::PduLayout layout;
  if (auto e = tcp::ValidateCommonHeader(resp.ch, ctx, &layout); !e.ok()) {
    return Fail(fmt::format("bad ICResp header: {}", e.what));
  }
  if (layout.type != PduType::kIcResp) return Fail("expected ICResp");
  if (auto r = ReadExact(reinterpret_cast<uint8_t*>(&resp) + sizeof(CommonHeader),
                         sizeof(resp) - sizeof(CommonHeader), deadline);
      !r.ok()) {
    return r;
  }
  if (auto e = tcp::ValidatePsh(reinterpret_cast<const uint8_t*>(&resp), layout, ctx); !e.ok()) {
    return Fail(fmt::format("bad ICResp: {}", e.what));
  }
  if ((resp.dgst & 3) != (req.dgst & 3)) return Fail("ICResp digests do not mirror the ICReq");
  hdgst_ = resp.dgst & tcp::kDgstHeader;
  ddgst_ = resp.dgst & tcp::kDgstData;
  cpda_ = resp.cpda;
  maxh2cdata_ = resp.maxh2cdata;
  initialized_ = true;
  return {};
}

Result<uint16_t> TcpQueue::Submit(Sqe sqe, std::span<const uint8_t> out, std::span<uint8_t> in,
                                  bool send_now) {
  if (failed_) return Error{"connection failed"};
  if (outstanding_ + 1 >= entries_) return Error{"queue full"};
  uint16_t cid = 0;
  while (cmds_[cid].busy) ++cid;
  Command& c = cmds_[cid];
  c.busy = true;
  c.done = false;
  c.in_received = 0;
  c.data_error = false;
  c.cqe = Cqe{};
  c.out = out;
  c.in = in;
  sqe.cid = cid;
  sqe.flags = static_cast<uint8_t>((sqe.flags & 0x3f) | 0x40);  // PSDT 01b: SGL
  const bool in_capsule = !out.empty() && out.size() <= in_capsule_limit_;
  const uint32_t len = static_cast<uint32_t>(out.empty() ? in.size() : out.size());
  sqe.prp1 = 0;  // SGL address (in-capsule: offset 0)
  sqe.prp2 =
      static_cast<uint64_t>(len) |
      (static_cast<uint64_t>(in_capsule ? kSglDataBlockOffset : kSglTransportDataBlock) << 56);

  const uint32_t hd = hdgst_ ? kDigestLen : 0;
  const uint32_t data = in_capsule ? len : 0;
  const uint32_t align = 4u * (cpda_ + 1u);
  const uint32_t pdo = data ? (sizeof(tcp::CapsuleCmd) + hd + align - 1) / align * align : 0;
  const uint32_t dd = (data && ddgst_) ? kDigestLen : 0;
  uint8_t flags = (hdgst_ ? tcp::kFlagHdgst : 0) | (dd ? tcp::kFlagDdgst : 0);
  uint8_t* hdr = c.pdu;
  tcp::CapsuleCmd cmd{};
  cmd.ch = Header(PduType::kCapsuleCmd, flags, sizeof(cmd), static_cast<uint8_t>(pdo),
                  data ? pdo + data + dd : sizeof(cmd) + hd);
  cmd.sqe = sqe;
  std::memcpy(hdr, &cmd, sizeof(cmd));
  if (hdgst_) tcp::SetHeaderDigest(hdr, sizeof(cmd));
  std::memset(hdr + sizeof(cmd) + hd, 0, pdo > sizeof(cmd) + hd ? pdo - sizeof(cmd) - hd : 0);
  c.ddgst = data && ddgst_ ? tcp::Crc32c(out.data(), data) : 0;
  ++outstanding_;
  pending_.push_back({hdr, data ? pdo : sizeof(cmd) + hd});
  if (data) pending_.push_back({const_cast<uint8_t*>(out.data()), data});
  if (dd) pending_.push_back({&c.ddgst, kDigestLen});
  if (send_now) {
    if (auto r = Flush(); !r.ok()) return r.error();
  }
  return cid;
}

Result<void> TcpQueue::Flush() {
  if (pending_.empty()) return {};
  auto r = SendAll(pending_.data(), pending_.size());
  pending_.clear();
  return r;
}

// NVMe/TCP 1.0, 3.6.2.10 R2T -> 3.6.2.8 H2CData PDUs of at most MAXH2CDATA, LAST_PDU on the final
// one, DATAO = R2TO + bytes sent.
Result<void> TcpQueue::OnR2T(const uint8_t* hdr) {
  tcp::R2tPdu r;
  std::memcpy(&r, hdr, sizeof(r));
  if (r.cccid >= cmds_.size() || !cmds_[r.cccid].busy) return Fail("R2T for an unknown command");
  Command& c = cmds_[r.cccid];
  if (static_cast<uint64_t>(r.r2to) + r.r2tl > c.out.size()) return Fail("R2T beyond the data");
  ++r2ts_;
  const uint32_t hd = hdgst_ ? kDigestLen : 0;
  const uint32_t align = 4u * (cpda_ + 1u);
  const uint32_t pdo = (sizeof(tcp::DataPdu) + hd + align - 1) / align * align;
  uint32_t off = r.r2to;
  const uint32_t end = r.r2to + r.r2tl;
  while (off < end) {
    const uint32_t n = std::min(end - off, maxh2cdata_);
    const bool last = off + n == end;
    uint8_t h[sizeof(tcp::DataPdu) + kDigestLen + 128] = {};
    tcp::DataPdu d{};
    uint8_t flags = (last ? tcp::kFlagLastPdu : 0) | (hdgst_ ? tcp::kFlagHdgst : 0) |
                    (ddgst_ ? tcp::kFlagDdgst : 0);
    d.ch = Header(PduType::kH2CData, flags, sizeof(d), static_cast<uint8_t>(pdo),
                  pdo + n + (ddgst_ ? kDigestLen : 0));
    d.cccid = r.cccid;
    d.ttag = r.ttag;
    d.datao = off;
    d.datal = n;
    std::memcpy(h, &d, sizeof(d));
    if (hdgst_) tcp::SetHeaderDigest(h, sizeof(d));
    uint32_t ddgst = ddgst_ ? tcp::Crc32c(c.out.data() + off, n) : 0;
    iovec iov[3] = {{h, pdo}, {const_cast<uint8_t*>(c.out.data() + off), n}, {&ddgst, 4}};
    if (auto res = SendAll(iov, ddgst_ ? 3u : 2u); !res.ok()) return res;
    ++h2c_pdus_;
    off += n;
  }
  return {};
}

// NVMe/TCP 1.0, 3.6.2.9 C2HData: data in order into the command's buffer; SUCCESS completes it.
Result<void> TcpQueue::OnC2HData(const uint8_t* hdr, uint32_t flags, uint32_t pad,
                                 uint32_t data_len) {
  tcp::DataPdu d;
  std::memcpy(&d, hdr, sizeof(d));
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  if (auto r = ReadExact(nullptr, pad, deadline); !r.ok()) return r;
  if (d.cccid >= cmds_.size() || !cmds_[d.cccid].busy)
    return Fail("C2HData for an unknown command");
  Command& c = cmds_[d.cccid];
  if (d.datao != c.in_received || static_cast<uint64_t>(d.datao) + data_len > c.in.size()) {
    return Fail("C2HData out of order or beyond the buffer");
  }
  uint8_t* dst = c.in.data() + d.datao;
  if (auto r = ReadExact(dst, data_len, deadline); !r.ok()) return r;
  if (flags & tcp::kFlagDdgst) {
    uint32_t got;
    if (auto r = ReadExact(&got, sizeof(got), deadline); !r.ok()) return r;
    if (got != tcp::Crc32c(dst, data_len)) c.data_error = true;
  }
  c.in_received += data_len;
  ++c2h_pdus_;
  if (flags & tcp::kFlagSuccess) {
    if (!(flags & tcp::kFlagLastPdu)) return Fail("C2HData SUCCESS without LAST_PDU");
    c.cqe = Cqe{};
    c.cqe.cid = d.cccid;
    c.cqe.sqhd = 0xffff;
    c.done = true;
    done_.push_back(d.cccid);
  }
  return {};
}

// Reads one PDU (waiting until `deadline`); returns true when it completed a command.
Result<bool> TcpQueue::ProcessOnePdu(std::chrono::steady_clock::time_point deadline) {
  uint8_t hdr[tcp::kMaxHeaderBytes];
  if (auto r = ReadExact(hdr, sizeof(CommonHeader), deadline); !r.ok()) return r.error();
  CommonHeader ch;
  std::memcpy(&ch, hdr, sizeof(ch));
  tcp::RecvContext ctx;
  ctx.role = tcp::Role::kHost;
  ctx.initialized = initialized_;
  ctx.hdgst = hdgst_;
  ctx.ddgst = ddgst_;
  tcp::PduLayout layout;
  if (auto e = tcp::ValidateCommonHeader(ch, ctx, &layout); !e.ok()) {
    return Fail(fmt::format("bad PDU from the controller: {}", e.what)).error();
  }
  auto body_deadline = std::chrono::steady_clock::now() + options_.timeout;
  if (auto r = ReadExact(hdr + sizeof(ch), layout.header_bytes - sizeof(ch), body_deadline);
      !r.ok()) {
    return r.error();
  }
  if (auto e = tcp::VerifyHeaderDigest(hdr, layout); !e.ok()) {
    return Fail("header digest error").error();
  }
  if (auto e = tcp::ValidatePsh(hdr, layout, ctx); !e.ok()) {
    return Fail(fmt::format("bad PDU from the controller: {}", e.what)).error();
  }
  switch (layout.type) {
    case PduType::kCapsuleResp: {
      tcp::CapsuleResp r;
      std::memcpy(&r, hdr, sizeof(r));
      if (r.cqe.cid >= cmds_.size() || !cmds_[r.cqe.cid].busy || cmds_[r.cqe.cid].done) {
        return Fail(fmt::format("CapsuleResp for unknown CID {:#x}", r.cqe.cid)).error();
      }
      cmds_[r.cqe.cid].cqe = r.cqe;
      cmds_[r.cqe.cid].done = true;
      done_.push_back(r.cqe.cid);
      return true;
    }
    case PduType::kC2HData: {
      size_t before = done_.size();
      if (auto r = OnC2HData(hdr, layout.flags, layout.pad, layout.data_len); !r.ok()) {
        return r.error();
      }
      return done_.size() != before;
    }
    case PduType::kR2T:
      if (auto r = OnR2T(hdr); !r.ok()) return r.error();
      return false;
    case PduType::kC2HTermReq: {
      tcp::TermReq t;
      std::memcpy(&t, hdr, sizeof(t));
      term_.fes = t.fes;
      term_.fei = t.fei;
      (void)ReadExact(nullptr, layout.data_len, body_deadline);
      return Fail(fmt::format("controller sent C2HTermReq (FES {:#x}: {}, FEI {})", term_.fes,
                              tcp::FesName(static_cast<tcp::Fes>(term_.fes)), term_.fei))
          .error();
    }
    default:
      return Fail("unexpected PDU type from the controller").error();
  }
}

// Reads whatever the socket holds without waiting (one recv, MSG_DONTWAIT) into the empty receive
// buffer. Returns false when nothing was readable.
Result<bool> TcpQueue::FillNonBlocking() {
  for (;;) {
    ssize_t n = ::recv(fd_, rbuf_.data(), rbuf_.size(), MSG_DONTWAIT);
    if (n > 0) {
      rhead_ = 0;
      rtail_ = static_cast<size_t>(n);
      return true;
    }
    if (n == 0) return Fail("connection closed by the controller").error();
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    return Fail(fmt::format("recv: {}", std::strerror(errno))).error();
  }
}

Result<size_t> TcpQueue::Poll(std::chrono::milliseconds timeout) {
  if (failed_) return Error{"connection failed"};
  if (auto f = Flush(); !f.ok()) return f.error();
  size_t completed = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // The first PDU may be waited for (timeout > 0); then everything already buffered or readable.
  // A PDU once begun is read to its end (bounded by options_.timeout).
  for (bool first = true;; first = false) {
    if (rhead_ == rtail_ && (!first || timeout.count() == 0)) {
      auto got = FillNonBlocking();
      if (!got.ok()) return got.error();
      if (!got.value()) break;
    }
    // Bytes are here: the rest of the PDU gets the full timeout (never abandon a PDU midway).
    if (!first || rhead_ != rtail_) deadline = std::chrono::steady_clock::now() + options_.timeout;
    auto r = ProcessOnePdu(deadline);
    if (!r.ok()) {
      if (first && !failed_) return completed;  // nothing arrived in time
      return r.error();
    }
    if (r.value()) ++completed;
  }
  return completed;
}

size_t TcpQueue::Reap(const std::function<void(const Cqe&)>& fn) {
  size_t n = 0;
  for (uint16_t cid : done_) {
    Command& c = cmds_[cid];
    if (!c.busy || !c.done) continue;
    Cqe cqe = c.cqe;
    if (c.data_error && (cqe.status >> 1) == 0) cqe.status = static_cast<uint16_t>(0x04 << 1);
    c.busy = false;
    --outstanding_;
    fn(cqe);
    ++n;
  }
  done_.clear();
  return n;
}

Result<Cqe> TcpQueue::Wait(uint16_t cid) {
  if (auto f = Flush(); !f.ok()) return f.error();
  auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (!(cmds_[cid].busy && cmds_[cid].done)) {
    if (failed_) return Error{"connection failed"};
    auto r = ProcessOnePdu(deadline);
    if (!r.ok()) return r.error();
  }
  Command& c = cmds_[cid];
  Cqe cqe = c.cqe;
  // A data digest error on C2HData: report it as a Data Transfer Error the way a host would.
  if (c.data_error && (cqe.status >> 1) == 0) cqe.status = static_cast<uint16_t>(0x04 << 1);
  c.busy = false;
  --outstanding_;
  done_.erase(std::remove(done_.begin(), done_.end(), cid), done_.end());
  return cqe;
}

Result<Cqe> TcpQueue::Execute(const Sqe& sqe, std::span<const uint8_t> out, std::span<uint8_t> in) {
  auto cid = Submit(sqe, out, in);
  if (!cid.ok()) return cid.error();
  return Wait(cid.value());
}

}  // namespace nvemu::host
