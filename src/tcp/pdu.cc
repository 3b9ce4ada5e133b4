#include "tcp/pdu.h"

#include <cstring>

#include "tcp/digest.h"

namespace nvemu::tcp {
namespace {

constexpr uint32_t kOffsetType = offsetof(CommonHeader, type);
constexpr uint32_t kOffsetFlags = offsetof(CommonHeader, flags);
constexpr uint32_t kOffsetHlen = offsetof(CommonHeader, hlen);
constexpr uint32_t kOffsetPdo = offsetof(CommonHeader, pdo);
constexpr uint32_t kOffsetPlen = offsetof(CommonHeader, plen);

PduError Fail(Fes fes, uint32_t fei, const char* what) { return PduError{fes, fei, what}; }

// The PSH length each PDU type must declare in HLEN (NVMe/TCP 1.0, 3.6.2.x), or 0 when unknown.
uint8_t ExpectedHlen(uint8_t type) {
  switch (static_cast<PduType>(type)) {
    case PduType::kIcReq:
    case PduType::kIcResp:
      return 128;
    case PduType::kCapsuleCmd:
      return sizeof(CapsuleCmd);
    case PduType::kH2CTermReq:
    case PduType::kC2HTermReq:
    case PduType::kCapsuleResp:
    case PduType::kH2CData:
    case PduType::kC2HData:
    case PduType::kR2T:
      return 24;
  }
  return 0;
}

// PDU types a receiver in `role` accepts (the others travel in the opposite direction).
bool ValidForRole(uint8_t type, Role role) {
  switch (static_cast<PduType>(type)) {
    case PduType::kIcReq:
    case PduType::kH2CTermReq:
    case PduType::kCapsuleCmd:
    case PduType::kH2CData:
      return role == Role::kController;
    case PduType::kIcResp:
    case PduType::kC2HTermReq:
    case PduType::kCapsuleResp:
    case PduType::kC2HData:
    case PduType::kR2T:
      return role == Role::kHost;
  }
  return false;
}

bool IsInitPdu(PduType t) { return t == PduType::kIcReq || t == PduType::kIcResp; }
bool IsTermPdu(PduType t) { return t == PduType::kH2CTermReq || t == PduType::kC2HTermReq; }
bool CarriesData(PduType t) {
  return t == PduType::kCapsuleCmd || t == PduType::kH2CData || t == PduType::kC2HData;
}

// 3.6.1 / 3.3: data PDUs must not exceed what the receiver advertised.
uint32_t DataLimit(PduType t, const RecvContext& ctx) {
  switch (t) {
    case PduType::kCapsuleCmd:
      return ctx.max_capsule_data;
    case PduType::kH2CData:
      return ctx.max_h2c_data;
    case PduType::kC2HData:
      return ctx.max_c2h_data;
    default:
      return 0;
  }
}

}  // namespace

const char* FesName(Fes fes) {
  switch (fes) {
    case Fes::kNone:
      return "none";
    case Fes::kInvalidHeaderField:
      return "Invalid PDU Header Field";
    case Fes::kPduSequenceError:
      return "PDU Sequence Error";
    case Fes::kHeaderDigestError:
      return "Header Digest Error";
    case Fes::kDataOutOfRange:
      return "Data Transfer Out of Range";
    case Fes::kDataLimitExceeded:
      return "Data Transfer Limit Exceeded";
    case Fes::kUnsupportedParameter:
      return "Unsupported Parameter";
  }
  return "unknown";
}

const char* PduTypeName(uint8_t type) {
  switch (static_cast<PduType>(type)) {
    case PduType::kIcReq:
      return "ICReq";
    case PduType::kIcResp:
      return "ICResp";
    case PduType::kH2CTermReq:
      return "H2CTermReq";
    case PduType::kC2HTermReq:
      return "C2HTermReq";
    case PduType::kCapsuleCmd:
      return "CapsuleCmd";
    case PduType::kCapsuleResp:
      return "CapsuleResp";
    case PduType::kH2CData:
      return "H2CData";
    case PduType::kC2HData:
      return "C2HData";
    case PduType::kR2T:
      return "R2T";
  }
  return "unknown";
}

// NVMe/TCP 1.0, 3.6.2 (common header) and 7.4.x (fatal errors): everything that can be decided from
// the 8 bytes of the common header and the connection's negotiated parameters.
PduError ValidateCommonHeader(const CommonHeader& ch, const RecvContext& ctx, PduLayout* out) {
  if (!ValidForRole(ch.type, ctx.role)) {
    return Fail(Fes::kInvalidHeaderField, kOffsetType, "PDU type not valid in this direction");
  }
  const auto type = static_cast<PduType>(ch.type);
  // 3.3: the connection starts with ICReq/ICResp; no second initialization.
  if (!ctx.initialized && !IsInitPdu(type) && !IsTermPdu(type)) {
    return Fail(Fes::kPduSequenceError, kOffsetType, "PDU before connection initialization");
  }
  if (ctx.initialized && IsInitPdu(type)) {
    return Fail(Fes::kPduSequenceError, kOffsetType, "second initialization PDU");
  }
  if (ch.hlen != ExpectedHlen(ch.type)) {
    return Fail(Fes::kInvalidHeaderField, kOffsetHlen, "HLEN does not match the PDU type");
  }

  PduLayout l;
  l.type = type;
  l.flags = ch.flags;
  l.hlen = ch.hlen;
  l.plen = ch.plen;
  l.hdgst = (ch.flags & kFlagHdgst) != 0;
  l.ddgst = (ch.flags & kFlagDdgst) != 0;

  // ICReq, ICResp and the TermReqs never carry digests (3.6.2.2-3.6.2.5).
  if (IsInitPdu(type) || IsTermPdu(type)) {
    if (l.hdgst || l.ddgst) {
      return Fail(Fes::kInvalidHeaderField, kOffsetFlags, "digest flag on an IC/TermReq PDU");
    }
    if (IsInitPdu(type) && ch.plen != 128) {
      return Fail(Fes::kInvalidHeaderField, kOffsetPlen, "IC PDU PLEN is not 128");
    }
    if (IsTermPdu(type) && (ch.plen < 24 || ch.plen > 24 + kTermReqMaxData)) {
      return Fail(Fes::kInvalidHeaderField, kOffsetPlen, "TermReq PLEN outside 24..152");
    }
    l.header_bytes = ch.hlen;
    l.data_len = ch.plen - ch.hlen;  // TermReq: the copied header of the PDU in error
    *out = l;
    return {};
  }

  // 3.6.2.1: with header digests negotiated every other PDU carries one; without, none does.
  if (l.hdgst != ctx.hdgst) {
    return Fail(Fes::kInvalidHeaderField, kOffsetFlags, "HDGSTF does not match negotiation");
  }
  l.header_bytes = ch.hlen + (l.hdgst ? kDigestLen : 0);
  if (ch.plen < l.header_bytes) {
    return Fail(Fes::kInvalidHeaderField, kOffsetPlen, "PLEN shorter than the header");
  }
  if (!CarriesData(type)) {  // CapsuleResp, R2T: fixed size
    if (ch.plen != l.header_bytes) {
      return Fail(Fes::kInvalidHeaderField, kOffsetPlen, "data on a PDU type without data");
    }
    if (l.ddgst) return Fail(Fes::kInvalidHeaderField, kOffsetFlags, "DDGSTF without data");
    *out = l;
    return {};
  }

  if (ch.plen == l.header_bytes) {
    // No data section. H2CData/C2HData exist only to carry data.
    if (type != PduType::kCapsuleCmd) {
      return Fail(Fes::kInvalidHeaderField, kOffsetPlen, "data PDU without data");
    }
    if (l.ddgst) return Fail(Fes::kInvalidHeaderField, kOffsetFlags, "DDGSTF without data");
    *out = l;
    return {};
  }
  if (l.ddgst != ctx.ddgst) {
    return Fail(Fes::kInvalidHeaderField, kOffsetFlags, "DDGSTF does not match negotiation");
  }
  const uint32_t ddgst_len = l.ddgst ? kDigestLen : 0;
  // PDO: data starts after the header (and its digest) and before the data digest.
  if (ch.pdo < l.header_bytes || static_cast<uint64_t>(ch.pdo) + ddgst_len >= ch.plen) {
    return Fail(Fes::kInvalidHeaderField, kOffsetPdo, "PDO outside the PDU");
  }
  l.pad = ch.pdo - l.header_bytes;
  l.data_len = ch.plen - ch.pdo - ddgst_len;
  if (l.data_len > DataLimit(type, ctx)) {
    return Fail(Fes::kDataLimitExceeded, kOffsetPlen, "PDU data exceeds the advertised limit");
  }
  *out = l;
  return {};
}

PduError VerifyHeaderDigest(const uint8_t* hdr, const PduLayout& layout) {
  if (!layout.hdgst) return {};
  uint32_t want = Crc32c(hdr, layout.hlen);
  uint32_t got;
  std::memcpy(&got, hdr + layout.hlen, sizeof(got));
  if (want != got) return Fail(Fes::kHeaderDigestError, 0, "header digest mismatch");
  return {};
}

void SetHeaderDigest(uint8_t* hdr, uint8_t hlen) {
  uint32_t d = Crc32c(hdr, hlen);
  std::memcpy(hdr + hlen, &d, sizeof(d));
}

// Field checks of a complete PSH (3.6.2.2 ICReq, 3.6.2.3 ICResp, 3.6.2.8-10 data PDUs and R2T).
PduError ValidatePsh(const uint8_t* hdr, const PduLayout& layout, const RecvContext& ctx) {
  switch (layout.type) {
    case PduType::kIcReq: {
      IcReq r;
      std::memcpy(&r, hdr, sizeof(r));
      if (r.pfv != kPfv10) {
        return Fail(Fes::kUnsupportedParameter, offsetof(IcReq, pfv), "unsupported PFV");
      }
      if (r.hpda > 31) {
        return Fail(Fes::kUnsupportedParameter, offsetof(IcReq, hpda), "HPDA above 31");
      }
      return {};
    }
    case PduType::kIcResp: {
      IcResp r;
      std::memcpy(&r, hdr, sizeof(r));
      if (r.pfv != kPfv10) {
        return Fail(Fes::kUnsupportedParameter, offsetof(IcResp, pfv), "unsupported PFV");
      }
      if (r.cpda > 31) {
        return Fail(Fes::kUnsupportedParameter, offsetof(IcResp, cpda), "CPDA above 31");
      }
      if (r.maxh2cdata < 4096 || (r.maxh2cdata & 3) != 0) {
        return Fail(Fes::kUnsupportedParameter, offsetof(IcResp, maxh2cdata),
                    "MAXH2CDATA below 4096 or not a multiple of 4");
      }
      return {};
    }
    case PduType::kH2CData:
    case PduType::kC2HData: {
      DataPdu d;
      std::memcpy(&d, hdr, sizeof(d));
      if (d.datal != layout.data_len) {
        return Fail(Fes::kInvalidHeaderField, offsetof(DataPdu, datal),
                    "DATAL does not match PLEN");
      }
      return {};
    }
    case PduType::kR2T: {
      R2tPdu r;
      std::memcpy(&r, hdr, sizeof(r));
      if (r.r2tl == 0) return Fail(Fes::kInvalidHeaderField, offsetof(R2tPdu, r2tl), "R2TL is 0");
      return {};
    }
    default:
      (void)ctx;
      return {};
  }
}

}  // namespace nvemu::tcp
