// The PDU header parser (tcp/pdu.h): every malformed case gets the right Fatal Error Status and
// Fatal Error Information (offset of the bad field), valid headers get the right layout.
#include "tcp/pdu.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tcp/digest.h"

namespace nvemu::tcp {
namespace {

CommonHeader Ch(PduType t, uint8_t flags, uint8_t hlen, uint8_t pdo, uint32_t plen) {
  return CommonHeader{static_cast<uint8_t>(t), flags, hlen, pdo, plen};
}

RecvContext Live(bool hdgst = false, bool ddgst = false) {
  RecvContext c;
  c.role = Role::kController;
  c.initialized = true;
  c.hdgst = hdgst;
  c.ddgst = ddgst;
  c.max_capsule_data = 8192;
  c.max_h2c_data = 131072;
  return c;
}

void ExpectFes(const CommonHeader& ch, const RecvContext& ctx, Fes fes, uint32_t fei) {
  PduLayout l;
  PduError e = ValidateCommonHeader(ch, ctx, &l);
  EXPECT_EQ(e.fes, fes) << e.what;
  EXPECT_EQ(e.fei, fei) << e.what;
}

TEST(PduLayout, WireSizesAndOffsets) {
  EXPECT_EQ(sizeof(CommonHeader), 8u);
  EXPECT_EQ(sizeof(IcReq), 128u);
  EXPECT_EQ(sizeof(IcResp), 128u);
  EXPECT_EQ(sizeof(CapsuleCmd), 72u);
  EXPECT_EQ(sizeof(CapsuleResp), 24u);
  EXPECT_EQ(sizeof(DataPdu), 24u);
  EXPECT_EQ(sizeof(R2tPdu), 24u);
  EXPECT_EQ(sizeof(TermReq), 24u);
  EXPECT_EQ(offsetof(TermReq, fei), 10u);
}

TEST(PduParse, ValidIcReq) {
  RecvContext ctx;  // not initialized yet
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(Ch(PduType::kIcReq, 0, 128, 0, 128), ctx, &l).ok());
  EXPECT_EQ(l.header_bytes, 128u);
  EXPECT_EQ(l.data_len, 0u);
}

TEST(PduParse, ValidCapsuleWithDataAndDigests) {
  PduLayout l;
  // hlen 72 + hdgst 4 = 76, PDO 76, 4096 data, ddgst 4.
  auto ch = Ch(PduType::kCapsuleCmd, kFlagHdgst | kFlagDdgst, 72, 76, 76 + 4096 + 4);
  ASSERT_TRUE(ValidateCommonHeader(ch, Live(true, true), &l).ok());
  EXPECT_EQ(l.header_bytes, 76u);
  EXPECT_EQ(l.pad, 0u);
  EXPECT_EQ(l.data_len, 4096u);
  EXPECT_TRUE(l.hdgst && l.ddgst);
}

TEST(PduParse, CapsulePaddingBeforeData) {
  PduLayout l;
  ASSERT_TRUE(
      ValidateCommonHeader(Ch(PduType::kCapsuleCmd, 0, 72, 128, 128 + 512), Live(), &l).ok());
  EXPECT_EQ(l.pad, 56u);
  EXPECT_EQ(l.data_len, 512u);
}

TEST(PduParse, CapsuleWithoutData) {
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(Ch(PduType::kCapsuleCmd, 0, 72, 0, 72), Live(), &l).ok());
  EXPECT_EQ(l.data_len, 0u);
}

TEST(PduParse, UnknownTypeIsInvalidHeaderFieldAtOffset0) {
  ExpectFes(Ch(static_cast<PduType>(0x08), 0, 24, 0, 24), Live(), Fes::kInvalidHeaderField, 0);
  ExpectFes(Ch(static_cast<PduType>(0x0a), 0, 24, 0, 24), Live(), Fes::kInvalidHeaderField, 0);
  ExpectFes(Ch(static_cast<PduType>(0xff), 0, 24, 0, 24), Live(), Fes::kInvalidHeaderField, 0);
}

TEST(PduParse, ControllerToHostTypesRejectedByController) {
  for (PduType t : {PduType::kIcResp, PduType::kC2HTermReq, PduType::kCapsuleResp,
                    PduType::kC2HData, PduType::kR2T}) {
    ExpectFes(Ch(t, 0, 24, 0, 24), Live(), Fes::kInvalidHeaderField, 0);
  }
}

TEST(PduParse, HostToControllerTypesRejectedByHost) {
  RecvContext ctx = Live();
  ctx.role = Role::kHost;
  for (PduType t :
       {PduType::kIcReq, PduType::kH2CTermReq, PduType::kCapsuleCmd, PduType::kH2CData}) {
    ExpectFes(Ch(t, 0, 24, 0, 24), ctx, Fes::kInvalidHeaderField, 0);
  }
}

TEST(PduParse, SequenceErrors) {
  RecvContext fresh;
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 0, 72), fresh, Fes::kPduSequenceError, 0);
  ExpectFes(Ch(PduType::kH2CData, 0, 24, 24, 28), fresh, Fes::kPduSequenceError, 0);
  ExpectFes(Ch(PduType::kIcReq, 0, 128, 0, 128), Live(), Fes::kPduSequenceError, 0);
}

TEST(PduParse, WrongHlenPerType) {
  RecvContext fresh;
  ExpectFes(Ch(PduType::kIcReq, 0, 127, 0, 128), fresh, Fes::kInvalidHeaderField, 2);
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 64, 0, 64), Live(), Fes::kInvalidHeaderField, 2);
  ExpectFes(Ch(PduType::kH2CData, 0, 72, 72, 80), Live(), Fes::kInvalidHeaderField, 2);
  ExpectFes(Ch(PduType::kH2CTermReq, 0, 0, 0, 24), Live(), Fes::kInvalidHeaderField, 2);
}

TEST(PduParse, IcPlenMustBe128) {
  ExpectFes(Ch(PduType::kIcReq, 0, 128, 0, 132), RecvContext{}, Fes::kInvalidHeaderField, 4);
}

TEST(PduParse, DigestFlagsOnIcAndTermReq) {
  ExpectFes(Ch(PduType::kIcReq, kFlagHdgst, 128, 0, 128), RecvContext{}, Fes::kInvalidHeaderField,
            1);
  ExpectFes(Ch(PduType::kH2CTermReq, kFlagDdgst, 24, 0, 24), Live(), Fes::kInvalidHeaderField, 1);
}

TEST(PduParse, TermReqPlenRange) {
  ExpectFes(Ch(PduType::kH2CTermReq, 0, 24, 0, 23), Live(), Fes::kInvalidHeaderField, 4);
  ExpectFes(Ch(PduType::kH2CTermReq, 0, 24, 0, 153), Live(), Fes::kInvalidHeaderField, 4);
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(Ch(PduType::kH2CTermReq, 0, 24, 0, 152), Live(), &l).ok());
  EXPECT_EQ(l.data_len, 128u);
}

TEST(PduParse, HeaderDigestFlagMustMatchNegotiation) {
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 0, 72), Live(true, false), Fes::kInvalidHeaderField, 1);
  ExpectFes(Ch(PduType::kCapsuleCmd, kFlagHdgst, 72, 0, 76), Live(false, false),
            Fes::kInvalidHeaderField, 1);
}

TEST(PduParse, DataDigestFlagMustMatchNegotiation) {
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 72, 72 + 16), Live(false, true),
            Fes::kInvalidHeaderField, 1);
  ExpectFes(Ch(PduType::kCapsuleCmd, kFlagDdgst, 72, 72, 72 + 16 + 4), Live(false, false),
            Fes::kInvalidHeaderField, 1);
  // DDGSTF on a PDU without data.
  ExpectFes(Ch(PduType::kCapsuleCmd, kFlagDdgst, 72, 0, 72), Live(false, true),
            Fes::kInvalidHeaderField, 1);
}

TEST(PduParse, PlenShorterThanHeader) {
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 0, 71), Live(), Fes::kInvalidHeaderField, 4);
  ExpectFes(Ch(PduType::kCapsuleCmd, kFlagHdgst, 72, 0, 72), Live(true), Fes::kInvalidHeaderField,
            4);
}

TEST(PduParse, PdoInsideHeaderOrPastData) {
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 40, 72 + 64), Live(), Fes::kInvalidHeaderField, 3);
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 200, 150), Live(), Fes::kInvalidHeaderField, 3);
  // PDO right at the end: padding but no data.
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 100, 100), Live(), Fes::kInvalidHeaderField, 3);
  // Header digest present: data may not start inside it.
  ExpectFes(Ch(PduType::kCapsuleCmd, kFlagHdgst, 72, 72, 76 + 64), Live(true),
            Fes::kInvalidHeaderField, 3);
}

TEST(PduParse, DataPduWithoutData) {
  ExpectFes(Ch(PduType::kH2CData, 0, 24, 0, 24), Live(), Fes::kInvalidHeaderField, 4);
}

TEST(PduParse, InCapsuleDataBeyondLimit) {
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 72, 72 + 8193), Live(), Fes::kDataLimitExceeded, 4);
  PduLayout l;
  EXPECT_TRUE(
      ValidateCommonHeader(Ch(PduType::kCapsuleCmd, 0, 72, 72, 72 + 8192), Live(), &l).ok());
}

TEST(PduParse, H2CDataBeyondMaxh2cdata) {
  ExpectFes(Ch(PduType::kH2CData, 0, 24, 24, 24 + 131072 + 4), Live(), Fes::kDataLimitExceeded, 4);
}

TEST(PduParse, HugePlenDoesNotOverflow) {
  ExpectFes(Ch(PduType::kCapsuleCmd, 0, 72, 72, 0xffffffffu), Live(), Fes::kDataLimitExceeded, 4);
  ExpectFes(Ch(PduType::kCapsuleCmd, kFlagDdgst, 72, 255, 0xffffffffu), Live(false, true),
            Fes::kDataLimitExceeded, 4);
}

TEST(PduParse, FixedSizeHostPdusWithData) {
  RecvContext ctx = Live();
  ctx.role = Role::kHost;
  ExpectFes(Ch(PduType::kCapsuleResp, 0, 24, 0, 28), ctx, Fes::kInvalidHeaderField, 4);
  ExpectFes(Ch(PduType::kR2T, kFlagDdgst, 24, 0, 24), ctx, Fes::kInvalidHeaderField, 1);
}

TEST(PduParse, HeaderDigestVerification) {
  uint8_t hdr[76] = {};
  CapsuleCmd c{};
  c.ch = Ch(PduType::kCapsuleCmd, kFlagHdgst, 72, 0, 76);
  c.sqe.opc = 0x06;
  std::memcpy(hdr, &c, sizeof(c));
  SetHeaderDigest(hdr, 72);
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(c.ch, Live(true), &l).ok());
  EXPECT_TRUE(VerifyHeaderDigest(hdr, l).ok());
  hdr[20] ^= 1;
  PduError e = VerifyHeaderDigest(hdr, l);
  EXPECT_EQ(e.fes, Fes::kHeaderDigestError);
}

TEST(PduPsh, IcReqFields) {
  IcReq r{};
  r.ch = Ch(PduType::kIcReq, 0, 128, 0, 128);
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(r.ch, RecvContext{}, &l).ok());
  auto* p = reinterpret_cast<const uint8_t*>(&r);
  EXPECT_TRUE(ValidatePsh(p, l, RecvContext{}).ok());
  r.pfv = 1;
  PduError e = ValidatePsh(p, l, RecvContext{});
  EXPECT_EQ(e.fes, Fes::kUnsupportedParameter);
  EXPECT_EQ(e.fei, 8u);
  r.pfv = 0;
  r.hpda = 32;
  e = ValidatePsh(p, l, RecvContext{});
  EXPECT_EQ(e.fes, Fes::kUnsupportedParameter);
  EXPECT_EQ(e.fei, 10u);
}

TEST(PduPsh, IcRespFields) {
  RecvContext ctx;
  ctx.role = Role::kHost;
  IcResp r{};
  r.ch = Ch(PduType::kIcResp, 0, 128, 0, 128);
  r.maxh2cdata = 131072;
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(r.ch, ctx, &l).ok());
  auto* p = reinterpret_cast<const uint8_t*>(&r);
  EXPECT_TRUE(ValidatePsh(p, l, ctx).ok());
  r.maxh2cdata = 4095;
  EXPECT_EQ(ValidatePsh(p, l, ctx).fei, 12u);
  r.maxh2cdata = 4098;
  EXPECT_EQ(ValidatePsh(p, l, ctx).fes, Fes::kUnsupportedParameter);
  r.maxh2cdata = 4096;
  r.cpda = 40;
  EXPECT_EQ(ValidatePsh(p, l, ctx).fei, 10u);
}

TEST(PduPsh, DatalMustMatchPlen) {
  DataPdu d{};
  d.ch = Ch(PduType::kH2CData, kFlagLastPdu, 24, 24, 24 + 512);
  d.datal = 512;
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(d.ch, Live(), &l).ok());
  auto* p = reinterpret_cast<const uint8_t*>(&d);
  EXPECT_TRUE(ValidatePsh(p, l, Live()).ok());
  d.datal = 511;
  PduError e = ValidatePsh(p, l, Live());
  EXPECT_EQ(e.fes, Fes::kInvalidHeaderField);
  EXPECT_EQ(e.fei, 16u);
}

TEST(PduPsh, R2tLengthZero) {
  RecvContext ctx = Live();
  ctx.role = Role::kHost;
  R2tPdu r{};
  r.ch = Ch(PduType::kR2T, 0, 24, 0, 24);
  PduLayout l;
  ASSERT_TRUE(ValidateCommonHeader(r.ch, ctx, &l).ok());
  EXPECT_EQ(ValidatePsh(reinterpret_cast<const uint8_t*>(&r), l, ctx).fei, 16u);
}

}  // namespace
}  // namespace nvemu::tcp
