// Bad input on the wire: each malformed PDU gets a C2HTermReq with the right Fatal Error Status and
// Fatal Error Information, then the connection closes, while other connections keep working. A bad
// data digest fails only its command. Raw PDUs are built here byte by byte.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/fabrics/fabrics.h"
#include "tcp/digest.h"
#include "tcp/pdu.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using host::TcpQueue;
using std::chrono::milliseconds;

std::vector<uint8_t> Bytes(const void* p, size_t n) {
  auto* b = static_cast<const uint8_t*>(p);
  return std::vector<uint8_t>(b, b + n);
}

std::vector<uint8_t> IcReqPdu(uint8_t dgst = 0, uint16_t pfv = 0, uint8_t hpda = 0) {
  IcReq r{};
  r.ch = {static_cast<uint8_t>(PduType::kIcReq), 0, 128, 0, 128};
  r.pfv = pfv;
  r.hpda = hpda;
  r.dgst = dgst;
  return Bytes(&r, sizeof(r));
}

// A CapsuleCmd with optional in-capsule data; `sgl_len`/`sgl_id` describe the data pointer.
std::vector<uint8_t> CapsulePdu(Sqe sqe, const std::vector<uint8_t>& data, bool hdgst, bool ddgst,
                                uint32_t sgl_len, uint8_t sgl_id, bool corrupt_ddgst = false) {
  sqe.flags = 0x40;
  sqe.prp1 = 0;
  sqe.prp2 = sgl_len | (static_cast<uint64_t>(sgl_id) << 56);
  const uint32_t hd = hdgst ? 4 : 0;
  const uint32_t dd = (ddgst && !data.empty()) ? 4 : 0;
  CapsuleCmd c{};
  uint8_t flags = (hdgst ? kFlagHdgst : 0) | (dd ? kFlagDdgst : 0);
  uint32_t pdo = data.empty() ? 0 : 72 + hd;
  c.ch = {static_cast<uint8_t>(PduType::kCapsuleCmd), flags, 72, static_cast<uint8_t>(pdo),
          static_cast<uint32_t>(72 + hd + data.size() + dd)};
  c.sqe = sqe;
  std::vector<uint8_t> out(72 + hd);
  std::memcpy(out.data(), &c, 72);
  if (hdgst) SetHeaderDigest(out.data(), 72);
  out.insert(out.end(), data.begin(), data.end());
  if (dd) {
    uint32_t d = Crc32c(data.data(), data.size()) ^ (corrupt_ddgst ? 1u : 0u);
    auto b = Bytes(&d, 4);
    out.insert(out.end(), b.begin(), b.end());
  }
  return out;
}

std::vector<uint8_t> H2CDataPdu(uint16_t cccid, uint16_t ttag, uint32_t datao,
                                const std::vector<uint8_t>& data, bool last, uint32_t datal = 0) {
  DataPdu d{};
  d.ch = {static_cast<uint8_t>(PduType::kH2CData), static_cast<uint8_t>(last ? kFlagLastPdu : 0),
          24, 24, static_cast<uint32_t>(24 + data.size())};
  d.cccid = cccid;
  d.ttag = ttag;
  d.datao = datao;
  d.datal = datal ? datal : static_cast<uint32_t>(data.size());
  auto out = Bytes(&d, sizeof(d));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

std::unique_ptr<TcpQueue> Raw(const Target& t) {
  host::TcpQueueOptions o;
  o.timeout = milliseconds(3000);
  auto q = TcpQueue::OpenRaw("127.0.0.1", t.port(), o);
  EXPECT_TRUE(q.ok());
  return q.ok() ? std::move(q.value()) : nullptr;
}

// Reads the C2HTermReq that must come next, then expects the connection to close.
TermReq ExpectTermReq(TcpQueue& q, Fes fes, uint32_t fei, std::vector<uint8_t>* copied = nullptr) {
  TermReq t{};
  auto r = q.RecvRaw(&t, sizeof(t), milliseconds(3000));
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return t;
  EXPECT_EQ(t.ch.type, static_cast<uint8_t>(PduType::kC2HTermReq));
  EXPECT_EQ(t.ch.hlen, 24);
  EXPECT_GE(t.ch.plen, 24u);
  EXPECT_LE(t.ch.plen, 152u);
  const unsigned got_fes = t.fes;
  const uint32_t got_fei = t.fei;
  EXPECT_EQ(got_fes, static_cast<unsigned>(fes));
  EXPECT_EQ(got_fei, fei);
  std::vector<uint8_t> rest(t.ch.plen - 24);
  if (!rest.empty()) {
    EXPECT_TRUE(q.RecvRaw(rest.data(), rest.size(), milliseconds(3000)).ok());
  }
  if (copied) *copied = rest;
  EXPECT_TRUE(q.WaitClosed(milliseconds(3000)));
  return t;
}

void Initialize(TcpQueue& q, uint8_t dgst = 0) {
  ASSERT_TRUE(q.SendRaw(IcReqPdu(dgst).data(), 128).ok());
  IcResp resp{};
  ASSERT_TRUE(q.RecvRaw(&resp, sizeof(resp), milliseconds(3000)).ok());
  ASSERT_EQ(resp.ch.type, static_cast<uint8_t>(PduType::kIcResp));
  ASSERT_EQ(resp.dgst, dgst);
}

// A live I/O queue of an enabled controller, spoken to with raw PDUs after Connect.
struct LiveQueue {
  std::unique_ptr<TcpDriver> driver;
  std::unique_ptr<TcpQueue> q;
};

LiveQueue ConnectIo(const Target& t, bool digests = false, uint16_t sqsize = 31) {
  LiveQueue l;
  auto o = DriverOptions(t);
  auto d = TcpDriver::ConnectAndEnable(o);
  EXPECT_TRUE(d.ok());
  if (!d.ok()) return l;
  l.driver = std::move(d.value());
  host::TcpQueueOptions qo;
  qo.header_digest = digests;
  qo.data_digest = digests;
  qo.timeout = milliseconds(3000);
  auto q = TcpQueue::Open("127.0.0.1", t.port(), qo);
  EXPECT_TRUE(q.ok());
  if (!q.ok()) return l;
  auto c = host::FabricsConnect(*q.value(), o, 1, sqsize, l.driver->cntlid());
  EXPECT_TRUE(c.ok() && StatusOf(c.value()).ok());
  l.q = std::move(q.value());
  return l;
}

Sqe WriteSqe(uint16_t cid, uint32_t nlb) {
  Sqe s = TcpDriver::ReadWriteSqe(0x01, 1, 0, nlb);
  s.cid = cid;
  return s;
}

R2tPdu ReadR2T(TcpQueue& q) {
  R2tPdu r{};
  EXPECT_TRUE(q.RecvRaw(&r, sizeof(r), milliseconds(3000)).ok());
  EXPECT_EQ(r.ch.type, static_cast<uint8_t>(PduType::kR2T));
  return r;
}

TEST(TcpProtocol, GarbageGetsTermReqWhileOtherConnectionsWork) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  LiveQueue good = ConnectIo(*t);
  ASSERT_TRUE(good.q);
  auto bad = Raw(*t);
  std::vector<uint8_t> garbage(200);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(0x55 + i * 7);
  ASSERT_TRUE(bad->SendRaw(garbage.data(), garbage.size()).ok());
  std::vector<uint8_t> copied;
  ExpectTermReq(*bad, Fes::kInvalidHeaderField, 0, &copied);
  ASSERT_GE(copied.size(), 8u);  // the offending header travels back
  EXPECT_EQ(copied[0], garbage[0]);
  // The other queue is unaffected.
  std::vector<uint8_t> data(4096, 0x5a), back(4096);
  auto w = good.q->Execute(TcpDriver::ReadWriteSqe(0x01, 1, 0, 8), data);
  ASSERT_TRUE(w.ok());
  auto r = good.q->Execute(TcpDriver::ReadWriteSqe(0x02, 1, 0, 8), {}, back);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(back, data);
  EXPECT_TRUE(good.driver->IdentifyController().ok());
}

TEST(TcpProtocol, CapsuleBeforeIcReqIsASequenceError) {
  auto t = StartTarget();
  auto q = Raw(*t);
  Sqe s{};
  s.opc = 0x06;
  auto p = CapsulePdu(s, {}, false, false, 0, 0);
  ASSERT_TRUE(q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*q, Fes::kPduSequenceError, 0);
}

TEST(TcpProtocol, SecondIcReqIsASequenceError) {
  auto t = StartTarget();
  auto q = Raw(*t);
  Initialize(*q);
  ASSERT_TRUE(q->SendRaw(IcReqPdu().data(), 128).ok());
  ExpectTermReq(*q, Fes::kPduSequenceError, 0);
}

TEST(TcpProtocol, IcReqUnsupportedParameters) {
  auto t = StartTarget();
  auto q = Raw(*t);
  ASSERT_TRUE(q->SendRaw(IcReqPdu(0, 1).data(), 128).ok());
  ExpectTermReq(*q, Fes::kUnsupportedParameter, 8);
  q = Raw(*t);
  ASSERT_TRUE(q->SendRaw(IcReqPdu(0, 0, 32).data(), 128).ok());
  ExpectTermReq(*q, Fes::kUnsupportedParameter, 10);
}

TEST(TcpProtocol, BadHlenCarriesTheHeaderBack) {
  auto t = StartTarget();
  auto q = Raw(*t);
  Initialize(*q);
  Sqe s{};
  auto p = CapsulePdu(s, {}, false, false, 0, 0);
  p[2] = 64;  // HLEN
  ASSERT_TRUE(q->SendRaw(p.data(), p.size()).ok());
  std::vector<uint8_t> copied;
  ExpectTermReq(*q, Fes::kInvalidHeaderField, 2, &copied);
  ASSERT_EQ(copied.size(), 8u);
  EXPECT_TRUE(std::equal(copied.begin(), copied.end(), p.begin()));
}

TEST(TcpProtocol, HeaderDigestErrors) {
  auto t = StartTarget();
  auto q = Raw(*t);
  Initialize(*q, kDgstHeader);
  Sqe s{};
  s.opc = 0x06;
  auto p = CapsulePdu(s, {}, true, false, 0, 0);
  p[72] ^= 0xff;  // corrupt HDGST
  ASSERT_TRUE(q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*q, Fes::kHeaderDigestError, 0);
  // Negotiated but missing.
  q = Raw(*t);
  Initialize(*q, kDgstHeader);
  p = CapsulePdu(s, {}, false, false, 0, 0);
  ASSERT_TRUE(q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*q, Fes::kInvalidHeaderField, 1);
}

TEST(TcpProtocol, InCapsuleDataBeyondTheLimit) {
  auto t = StartTarget();
  auto q = Raw(*t);
  Initialize(*q);
  std::vector<uint8_t> data(8192 + 512, 1);
  auto p = CapsulePdu(WriteSqe(1, 17), data, false, false, data.size(), 0x01);
  ASSERT_TRUE(q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*q, Fes::kDataLimitExceeded, 4);
}

TEST(TcpProtocol, H2CDataWithUnknownTtag) {
  auto t = StartTarget();
  LiveQueue l = ConnectIo(*t);
  ASSERT_TRUE(l.q);
  auto p = H2CDataPdu(1, 20, 0, std::vector<uint8_t>(512), true);
  ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*l.q, Fes::kInvalidHeaderField, 10);
  p = H2CDataPdu(1, 5000, 0, std::vector<uint8_t>(512), true);
  l = ConnectIo(*t);
  ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*l.q, Fes::kInvalidHeaderField, 10);
}

// Sends a write that needs an R2T and returns the R2T.
R2tPdu StartR2TWrite(TcpQueue& q, uint16_t cid, uint32_t bytes) {
  auto p = CapsulePdu(WriteSqe(cid, bytes / 512), {}, false, false, bytes, 0x5a);
  EXPECT_TRUE(q.SendRaw(p.data(), p.size()).ok());
  return ReadR2T(q);
}

TEST(TcpProtocol, H2CDataOutsideTheR2T) {
  auto t = StartTarget();
  LiveQueue l = ConnectIo(*t);
  ASSERT_TRUE(l.q);
  R2tPdu r = StartR2TWrite(*l.q, 0x42, 16384);
  EXPECT_EQ(r.cccid, 0x42);
  EXPECT_EQ(r.r2to, 0u);
  EXPECT_EQ(r.r2tl, 16384u);
  auto p = H2CDataPdu(0x42, r.ttag, 12288, std::vector<uint8_t>(8192), true);
  ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*l.q, Fes::kDataOutOfRange, 12);
}

TEST(TcpProtocol, H2CDataFieldErrors) {
  auto t = StartTarget();
  {  // CCCID does not match the R2T's command.
    LiveQueue l = ConnectIo(*t);
    R2tPdu r = StartR2TWrite(*l.q, 7, 16384);
    auto p = H2CDataPdu(8, r.ttag, 0, std::vector<uint8_t>(4096), false);
    ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
    ExpectTermReq(*l.q, Fes::kInvalidHeaderField, 8);
  }
  {  // Out of order DATAO.
    LiveQueue l = ConnectIo(*t);
    R2tPdu r = StartR2TWrite(*l.q, 7, 16384);
    auto p = H2CDataPdu(7, r.ttag, 4096, std::vector<uint8_t>(4096), false);
    ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
    ExpectTermReq(*l.q, Fes::kInvalidHeaderField, 12);
  }
  {  // LAST_PDU before the R2T is satisfied.
    LiveQueue l = ConnectIo(*t);
    R2tPdu r = StartR2TWrite(*l.q, 7, 16384);
    auto p = H2CDataPdu(7, r.ttag, 0, std::vector<uint8_t>(4096), true);
    ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
    ExpectTermReq(*l.q, Fes::kPduSequenceError, 0);
  }
  {  // DATAL disagrees with PLEN.
    LiveQueue l = ConnectIo(*t);
    R2tPdu r = StartR2TWrite(*l.q, 7, 16384);
    auto p = H2CDataPdu(7, r.ttag, 0, std::vector<uint8_t>(4096), false, 4000);
    ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
    ExpectTermReq(*l.q, Fes::kInvalidHeaderField, 16);
  }
  {  // More than MAXH2CDATA in one PDU.
    LiveQueue l = ConnectIo(*t);
    R2tPdu r = StartR2TWrite(*l.q, 7, 256 * 1024);
    auto p = H2CDataPdu(7, r.ttag, 0, std::vector<uint8_t>(192 * 1024), false);
    ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
    ExpectTermReq(*l.q, Fes::kDataLimitExceeded, 4);
  }
}

TEST(TcpProtocol, H2CDataAnsweringTheR2TCompletesTheWrite) {
  auto t = StartTarget();
  LiveQueue l = ConnectIo(*t);
  R2tPdu r = StartR2TWrite(*l.q, 9, 8192);
  auto a = H2CDataPdu(9, r.ttag, 0, std::vector<uint8_t>(4096, 1), false);
  auto b = H2CDataPdu(9, r.ttag, 4096, std::vector<uint8_t>(4096, 2), true);
  ASSERT_TRUE(l.q->SendRaw(a.data(), a.size()).ok());
  ASSERT_TRUE(l.q->SendRaw(b.data(), b.size()).ok());
  CapsuleResp resp{};
  ASSERT_TRUE(l.q->RecvRaw(&resp, sizeof(resp), milliseconds(3000)).ok());
  EXPECT_EQ(resp.ch.type, static_cast<uint8_t>(PduType::kCapsuleResp));
  EXPECT_EQ(resp.cqe.cid, 9);
  EXPECT_EQ(resp.cqe.sqid, 1);
  EXPECT_EQ(resp.cqe.status, 0);
}

TEST(TcpProtocol, DataDigestErrorFailsOnlyThatCommand) {
  auto t = StartTarget();
  LiveQueue l = ConnectIo(*t, true);
  ASSERT_TRUE(l.q);
  std::vector<uint8_t> data(512, 0x33);
  auto p = CapsulePdu(WriteSqe(0x60, 1), data, true, true, 512, 0x01, /*corrupt_ddgst=*/true);
  ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
  uint8_t buf[28];
  ASSERT_TRUE(l.q->RecvRaw(buf, sizeof(buf), milliseconds(3000)).ok());
  CapsuleResp resp;
  std::memcpy(&resp, buf, sizeof(resp));
  ASSERT_EQ(resp.ch.type, static_cast<uint8_t>(PduType::kCapsuleResp));
  EXPECT_EQ(resp.cqe.cid, 0x60);
  Status st = Status::FromField(resp.cqe.status >> 1);
  EXPECT_TRUE(st.same_code(fabrics::sc::kTransientTransportError)) << st.ToString();
  EXPECT_FALSE(st.dnr());
  // The same write with a good digest succeeds on the same connection.
  p = CapsulePdu(WriteSqe(0x61, 1), data, true, true, 512, 0x01);
  ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
  ASSERT_TRUE(l.q->RecvRaw(buf, sizeof(buf), milliseconds(3000)).ok());
  std::memcpy(&resp, buf, sizeof(resp));
  EXPECT_EQ(resp.cqe.cid, 0x61);
  EXPECT_EQ(resp.cqe.status, 0);
}

TEST(TcpProtocol, HostTermReqClosesSilently) {
  auto t = StartTarget();
  auto q = Raw(*t);
  Initialize(*q);
  TermReq tr{};
  tr.ch = {static_cast<uint8_t>(PduType::kH2CTermReq), 0, 24, 0, 24};
  tr.fes = 1;
  ASSERT_TRUE(q->SendRaw(&tr, sizeof(tr)).ok());
  uint8_t b;
  auto r = q->RecvRaw(&b, 1, milliseconds(3000));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(q->failed());  // closed, not timed out
}

TEST(TcpProtocol, PeerVanishingMidPduIsHarmless) {
  auto t = StartTarget();
  ASSERT_TRUE(WaitFor([&] { return t->connection_count() == 0; }));
  {
    auto q = Raw(*t);
    Initialize(*q);
    auto p = CapsulePdu(WriteSqe(1, 8), std::vector<uint8_t>(4096), false, false, 4096, 0x01);
    ASSERT_TRUE(q->SendRaw(p.data(), 100).ok());  // half a PDU, then close
  }
  EXPECT_TRUE(WaitFor([&] { return t->connection_count() == 0; }));
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  EXPECT_TRUE(d.ok());
}

TEST(TcpProtocol, MoreCommandsThanTheQueueHolds) {
  auto t = StartTarget();
  LiveQueue l = ConnectIo(*t, false, /*sqsize=*/3);  // 4 slots
  ASSERT_TRUE(l.q);
  for (uint16_t cid = 0; cid < 4; ++cid) {
    (void)StartR2TWrite(*l.q, cid, 16384);  // each holds its slot waiting for data
  }
  auto p = CapsulePdu(WriteSqe(4, 32), {}, false, false, 16384, 0x5a);
  ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
  ExpectTermReq(*l.q, Fes::kPduSequenceError, 0);
}

TEST(TcpProtocol, BadSglsCompleteWithAStatus) {
  auto t = StartTarget();
  LiveQueue l = ConnectIo(*t);
  ASSERT_TRUE(l.q);
  auto expect_status = [&](std::vector<uint8_t> p, Status want) {
    ASSERT_TRUE(l.q->SendRaw(p.data(), p.size()).ok());
    CapsuleResp resp{};
    ASSERT_TRUE(l.q->RecvRaw(&resp, sizeof(resp), milliseconds(3000)).ok());
    ASSERT_EQ(resp.ch.type, static_cast<uint8_t>(PduType::kCapsuleResp));
    EXPECT_TRUE(Status::FromField(resp.cqe.status >> 1).same_code(want))
        << Status::FromField(resp.cqe.status >> 1).ToString();
  };
  // Unknown SGL descriptor type.
  expect_status(CapsulePdu(WriteSqe(1, 1), {}, false, false, 512, 0x20), sc::kSglTypeInvalid);
  // In-capsule data shorter than the SGL says.
  expect_status(CapsulePdu(WriteSqe(2, 2), std::vector<uint8_t>(512), false, false, 1024, 0x01),
                sc::kDataSglLengthInvalid);
  // A read described as in-capsule data.
  Sqe rd = TcpDriver::ReadWriteSqe(0x02, 1, 0, 1);
  rd.cid = 3;
  expect_status(CapsulePdu(rd, std::vector<uint8_t>(512), false, false, 512, 0x01),
                sc::kInvalidField);
  // PRPs instead of SGLs.
  auto prp = CapsulePdu(WriteSqe(4, 1), {}, false, false, 512, 0x5a);
  prp[8 + 1] = 0x00;  // SQE flags: PSDT 00b
  expect_status(prp, sc::kInvalidField);
  // Transport data block larger than MDTS.
  expect_status(CapsulePdu(WriteSqe(5, 8), {}, false, false, 1u << 24, 0x5a),
                sc::kDataSglLengthInvalid);
}

}  // namespace
}  // namespace nvemu::tcp::testing
