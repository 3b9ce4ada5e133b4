// libFuzzer target: the NVMe/TCP connection state machine (tcp::Connection with the fabrics core
// behind it). Each input is a byte stream a host sends on one connection, optionally after a valid
// prefix chosen by the first byte: none (raw), ICReq, ICReq + admin Connect (+ CC.EN), or ICReq +
// I/O Connect to a controller the harness keeps enabled; the byte also sets the write chunk size.
// The target's replies are read and dropped; the connection must end cleanly (no crash, no leak, no
// hang) and never disturb the harness's controller.
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/fabrics/fabrics.h"
#include "core/fabrics/target_core.h"
#include "engine/reactor.h"
#include "nvemu/clock.h"
#include "tcp/digest.h"
#include "tcp/pdu.h"
#include "tcp/poller.h"
#include "tcp/target.h"

using namespace nvemu;
using namespace nvemu::tcp;

namespace {

constexpr char kNqn[] = "nqn.2026-11.dev.nvemu:fuzz";
constexpr char kHost[] = "nqn.2014-08.org.nvmexpress:uuid:fuzz";

void Append(std::vector<uint8_t>& v, const void* p, size_t n) {
  auto* b = static_cast<const uint8_t*>(p);
  v.insert(v.end(), b, b + n);
}

void AppendIcReq(std::vector<uint8_t>& v) {
  IcReq r{};
  r.ch = {static_cast<uint8_t>(PduType::kIcReq), 0, 128, 0, 128};
  Append(v, &r, sizeof(r));
}

void AppendCapsule(std::vector<uint8_t>& v, Sqe sqe, const void* data, uint32_t len) {
  sqe.flags = 0x40;
  sqe.prp1 = 0;
  sqe.prp2 = len | (uint64_t{len ? 0x01u : 0x5au} << 56);
  CapsuleCmd c{};
  c.ch = {static_cast<uint8_t>(PduType::kCapsuleCmd), 0, 72, static_cast<uint8_t>(len ? 72 : 0),
          72 + len};
  c.sqe = sqe;
  Append(v, &c, sizeof(c));
  if (len) Append(v, data, len);
}

void AppendConnect(std::vector<uint8_t>& v, uint16_t qid, uint16_t cntlid) {
  Sqe s{};
  s.opc = fabrics::kOpFabrics;
  s.cid = 0x100 + qid;
  s.nsid = static_cast<uint8_t>(fabrics::Fctype::kConnect);
  s.cdw10 = static_cast<uint32_t>(qid) << 16;
  s.cdw11 = 15;  // SQSIZE 15
  fabrics::ConnectData d{};
  d.cntlid = cntlid;
  std::strcpy(d.subnqn, kNqn);
  std::strcpy(d.hostnqn, kHost);
  AppendCapsule(v, s, &d, sizeof(d));
}

void AppendEnable(std::vector<uint8_t>& v) {
  Sqe s{};
  s.opc = fabrics::kOpFabrics;
  s.cid = 0x200;
  s.nsid = static_cast<uint8_t>(fabrics::Fctype::kPropertySet);
  s.cdw11 = 0x14;  // CC
  s.cdw12 = (6u << 16) | (4u << 20) | 1u;
  AppendCapsule(v, s, nullptr, 0);
}

struct Harness {
  SystemClock clock;
  std::unique_ptr<fabrics::TargetCore> core;
  std::unique_ptr<engine::Reactor> reactor;  // never started: Post() runs inline
  std::unique_ptr<TcpPoller> poller;
  int admin_host = -1;  // the harness's own admin association (kept for I/O Connects)
  uint16_t cntlid = 0;

  Harness() {
    spdlog::set_level(spdlog::level::off);
    TargetConfig c;
    c.reactors = 1;
    SubsystemConfig s;
    s.nqn = kNqn;
    NamespaceConfig ns;
    ns.size_bytes = 1 << 20;
    s.namespaces = {ns};
    c.subsystems = {s};
    c.max_r2t_bytes = 8192;
    c.controller.mdts = 3;  // 32 KiB transfers keep slot buffers small
    auto r = fabrics::TargetCore::Create(c, clock);
    if (!r.ok()) std::abort();
    core = std::move(r.value());
    engine::ReactorOptions o;
    o.mode = ProcessingMode::kPoll;
    reactor = std::make_unique<engine::Reactor>(o);
    poller = std::make_unique<TcpPoller>(*reactor, *core, MakeLimits(c));
    // The harness's admin association: ICReq, Connect, CC.EN.
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) std::abort();
    poller->Adopt(UniqueFd(sv[0]));
    admin_host = sv[1];
    std::vector<uint8_t> v;
    AppendIcReq(v);
    AppendConnect(v, 0, 0xffff);
    AppendEnable(v);
    if (write(admin_host, v.data(), v.size()) != static_cast<ssize_t>(v.size())) std::abort();
    for (int i = 0; i < 100; ++i) poller->Poll(64);
    // ICResp (128) then the Connect CapsuleResp: CNTLID in DW0.
    uint8_t buf[4096];
    ssize_t n = read(admin_host, buf, sizeof(buf));
    if (n < 128 + 24) std::abort();
    CapsuleResp resp;
    std::memcpy(&resp, buf + 128, sizeof(resp));
    cntlid = static_cast<uint16_t>(resp.cqe.dw0);
    if (cntlid == 0 || core->controller_count() != 1) std::abort();
  }
};

Harness& H() {
  static Harness* h = new Harness();
  return *h;
}

void Drain(int fd) {
  uint8_t buf[65536];
  while (read(fd, buf, sizeof(buf)) > 0) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Harness& h = H();
  std::vector<uint8_t> stream;
  switch (data[0] & 3) {
    case 0:
      break;
    case 1:
      AppendIcReq(stream);
      break;
    case 2:
      AppendIcReq(stream);
      AppendConnect(stream, 0, 0xffff);
      if (data[0] & 4) AppendEnable(stream);
      break;
    case 3:
      AppendIcReq(stream);
      AppendConnect(stream, 1 + ((data[0] >> 2) & 7), h.cntlid);
      break;
  }
  stream.insert(stream.end(), data + 1, data + size);

  const size_t before = h.poller->connection_count();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) std::abort();
  h.poller->Adopt(UniqueFd(sv[0]));
  const int host = sv[1];
  // The host writes in chunks (bits 7:5 of the mode byte: 64 B .. 8 KiB) so that replies such as
  // R2Ts go out between them, as with a real host.
  const size_t chunk = size_t{64} << ((data[0] >> 5) & 7);
  size_t off = 0;
  for (int round = 0; round < 10000 && h.poller->connection_count() > before; ++round) {
    if (off < stream.size()) {
      ssize_t n = write(host, stream.data() + off, std::min(chunk, stream.size() - off));
      if (n > 0) off += static_cast<size_t>(n);
      if (off == stream.size()) shutdown(host, SHUT_WR);  // the host is done: EOF follows
    }
    h.poller->Poll(64);
    Drain(host);
  }
  close(host);
  for (int i = 0; i < 100 && h.poller->connection_count() > before; ++i) h.poller->Poll(64);
  if (h.poller->connection_count() != before) std::abort();  // a connection outlived its socket
  Drain(h.admin_host);
  // The harness's controller is untouched (only case 2 inputs create others, and they end).
  if (h.core->controller_count() != 1) std::abort();
  return 0;
}
