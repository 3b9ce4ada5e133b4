// NVMe/TCP PDU wire formats and header validation (NVMe/TCP Transport Specification 1.0, chapter
// 3).
//
// Every PDU starts with an 8-byte common header (CH); the PDU Specific Header (PSH) follows, then
// an optional header digest (HDGST), padding up to PDO, the PDU data and an optional data digest
// (DDGST). The structs below are plain little-endian wire images (static_assert'ed);
// ValidateHeader() checks a received header against the negotiated connection parameters and
// reports the Fatal Error Status (FES) and Fatal Error Information (FEI, the offending byte offset)
// that a C2HTermReq/H2CTermReq carries, instead of trusting the peer. Both the target (receives H2C
// PDUs) and the host initiator (receives C2H PDUs) use it.
//
// Threading: pure functions and plain data.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "nvemu/command.h"

namespace nvemu::tcp {

static_assert(std::endian::native == std::endian::little,
              "wire structs assume a little-endian host");

// NVMe/TCP 1.0, Figure 21: PDU types.
enum class PduType : uint8_t {
  kIcReq = 0x00,
  kIcResp = 0x01,
  kH2CTermReq = 0x02,
  kC2HTermReq = 0x03,
  kCapsuleCmd = 0x04,
  kCapsuleResp = 0x05,
  kH2CData = 0x06,
  kC2HData = 0x07,
  kR2T = 0x09,
};

// NVMe/TCP 1.0, Figure 20: common header FLAGS.
inline constexpr uint8_t kFlagHdgst = 1u << 0;    // HDGSTF: a header digest follows the PSH
inline constexpr uint8_t kFlagDdgst = 1u << 1;    // DDGSTF: a data digest follows the data
inline constexpr uint8_t kFlagLastPdu = 1u << 2;  // LAST_PDU (H2CData, C2HData)
inline constexpr uint8_t kFlagSuccess = 1u << 3;  // SUCCESS (C2HData): no CapsuleResp follows

inline constexpr uint32_t kDigestLen = 4;
inline constexpr uint16_t kPfv10 = 0;  // PDU format version 1.0

// NVMe/TCP 1.0, Figure 32 (H2CTermReq) / Figure 26 (C2HTermReq): Fatal Error Status.
enum class Fes : uint16_t {
  kNone = 0x00,
  kInvalidHeaderField = 0x01,    // FEI = byte offset of the invalid field in the PDU header
  kPduSequenceError = 0x02,      // a PDU that is not valid in the current state
  kHeaderDigestError = 0x03,     // HDGST mismatch
  kDataOutOfRange = 0x04,        // H2CData/C2HData outside the transfer or the R2T window
  kDataLimitExceeded = 0x05,     // more data than MAXH2CDATA / the in-capsule limit allows
  kUnsupportedParameter = 0x06,  // FEI = byte offset of the unsupported ICReq/ICResp field
};
const char* FesName(Fes fes);

// 3.6.2 Common header.
struct CommonHeader {
  uint8_t type;
  uint8_t flags;
  uint8_t hlen;   // header length (CH + PSH), without HDGST
  uint8_t pdo;    // PDU data offset from the start of the PDU (0 = no data)
  uint32_t plen;  // total PDU length including digests
};
static_assert(sizeof(CommonHeader) == 8);
static_assert(offsetof(CommonHeader, flags) == 1 && offsetof(CommonHeader, hlen) == 2);
static_assert(offsetof(CommonHeader, pdo) == 3 && offsetof(CommonHeader, plen) == 4);

// 3.6.2.2 ICReq.
struct IcReq {
  CommonHeader ch;
  uint16_t pfv;
  uint8_t hpda;     // host PDU data alignment, 0's based dwords (0..31)
  uint8_t dgst;     // bit 0 HDGST_ENABLE, bit 1 DDGST_ENABLE
  uint32_t maxr2t;  // max outstanding R2Ts per command, 0's based
  uint8_t rsvd[112];
};
static_assert(sizeof(IcReq) == 128);
static_assert(offsetof(IcReq, pfv) == 8 && offsetof(IcReq, hpda) == 10);
static_assert(offsetof(IcReq, dgst) == 11 && offsetof(IcReq, maxr2t) == 12);

// 3.6.2.3 ICResp.
struct IcResp {
  CommonHeader ch;
  uint16_t pfv;
  uint8_t cpda;  // controller PDU data alignment, 0's based dwords
  uint8_t dgst;
  uint32_t maxh2cdata;  // max H2CData PDU data bytes (multiple of 4, >= 4096)
  uint8_t rsvd[112];
};
static_assert(sizeof(IcResp) == 128);
static_assert(offsetof(IcResp, cpda) == 10 && offsetof(IcResp, maxh2cdata) == 12);
inline constexpr uint8_t kDgstHeader = 1u << 0;
inline constexpr uint8_t kDgstData = 1u << 1;

// 3.6.2.4 / 3.6.2.5 H2CTermReq / C2HTermReq (header; up to 128 bytes of the offending PDU header
// follow as data, so PLEN is 24..152).
struct TermReq {
  CommonHeader ch;
  uint16_t fes;
  uint32_t fei;  // unaligned in the wire format: bytes 10..13
  uint8_t rsvd[10];
} __attribute__((packed));
static_assert(sizeof(TermReq) == 24);
static_assert(offsetof(TermReq, fes) == 8 && offsetof(TermReq, fei) == 10);
inline constexpr uint32_t kTermReqMaxData = 128;

// 3.6.2.6 CapsuleCmd: CH + the 64-byte SQE; in-capsule data at PDO.
struct CapsuleCmd {
  CommonHeader ch;
  Sqe sqe;
};
static_assert(sizeof(CapsuleCmd) == 72);

// 3.6.2.7 CapsuleResp: CH + the 16-byte CQE.
struct CapsuleResp {
  CommonHeader ch;
  Cqe cqe;
};
static_assert(sizeof(CapsuleResp) == 24);

// 3.6.2.8 H2CData / 3.6.2.9 C2HData (C2HData has no TTAG: those bytes are reserved).
struct DataPdu {
  CommonHeader ch;
  uint16_t cccid;  // command capsule CID
  uint16_t ttag;   // H2CData: transfer tag from the R2T
  uint32_t datao;  // data offset within the command's data
  uint32_t datal;  // data length in this PDU
  uint32_t rsvd;
};
static_assert(sizeof(DataPdu) == 24);
static_assert(offsetof(DataPdu, cccid) == 8 && offsetof(DataPdu, ttag) == 10);
static_assert(offsetof(DataPdu, datao) == 12 && offsetof(DataPdu, datal) == 16);

// 3.6.2.10 R2T.
struct R2tPdu {
  CommonHeader ch;
  uint16_t cccid;
  uint16_t ttag;
  uint32_t r2to;  // offset of the requested data
  uint32_t r2tl;  // length of the requested data
  uint32_t rsvd;
};
static_assert(sizeof(R2tPdu) == 24);
static_assert(offsetof(R2tPdu, r2to) == 12 && offsetof(R2tPdu, r2tl) == 16);

// The largest header (with its digest) a receiver must buffer: ICReq/ICResp.
inline constexpr uint32_t kMaxHeaderBytes = 128 + kDigestLen;

// Which end of the connection is receiving.
enum class Role {
  kController,  // receives ICReq, CapsuleCmd, H2CData, H2CTermReq
  kHost,        // receives ICResp, CapsuleResp, C2HData, R2T, C2HTermReq
};

// What a receiver knows when a header arrives.
struct RecvContext {
  Role role = Role::kController;
  bool initialized = false;            // ICReq/ICResp exchanged: digests below are in force
  bool hdgst = false;                  // header digests negotiated
  bool ddgst = false;                  // data digests negotiated
  uint32_t max_capsule_data = 8192;    // controller: in-capsule data limit on this queue
  uint32_t max_h2c_data = 131072;      // controller: MAXH2CDATA it advertised
  uint32_t max_c2h_data = UINT32_MAX;  // host: the largest C2HData it accepts
};

// A header that passed the common-header checks, with the PDU's layout.
struct PduLayout {
  PduType type = PduType::kIcReq;
  uint8_t flags = 0;
  uint8_t hlen = 0;
  uint32_t plen = 0;
  uint32_t header_bytes = 0;  // hlen + header digest: what to read before the PSH can be parsed
  uint32_t pad = 0;           // bytes between the header digest and PDO
  uint32_t data_len = 0;      // PDU data bytes
  bool hdgst = false;         // a header digest follows the PSH
  bool ddgst = false;         // a data digest follows the data
};

// A fatal transport error: what the TermReq carries.
struct PduError {
  Fes fes = Fes::kNone;
  uint32_t fei = 0;
  const char* what = "";
  bool ok() const { return fes == Fes::kNone; }
};

// Validates the common header `ch` (type valid for the role and state, HLEN for the type, digest
// flags as negotiated, PLEN and PDO consistent and within limits). On success fills `*out`.
PduError ValidateCommonHeader(const CommonHeader& ch, const RecvContext& ctx, PduLayout* out);

// Verifies the header digest of a complete header (`hdr` holds layout.header_bytes bytes).
PduError VerifyHeaderDigest(const uint8_t* hdr, const PduLayout& layout);

// Fills the header digest after `hlen` bytes of `hdr` (which must have room for it).
void SetHeaderDigest(uint8_t* hdr, uint8_t hlen);

// Type-specific checks of a complete PSH that need no queue state: ICReq/ICResp fields, DATAL vs
// PLEN for data PDUs, TermReq lengths.
PduError ValidatePsh(const uint8_t* hdr, const PduLayout& layout, const RecvContext& ctx);

const char* PduTypeName(uint8_t type);

}  // namespace nvemu::tcp
