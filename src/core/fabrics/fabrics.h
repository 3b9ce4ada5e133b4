// NVMe over Fabrics command set definitions (NVMe Base 2.0, chapter 6: Fabrics Command Set).
//
// Fabrics commands share opcode 7Fh and are told apart by FCTYPE (SQE byte 4). This header holds
// the wire layouts (static_assert'ed) and status codes the fabrics layer uses. Plain data.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvemu/command.h"
#include "nvemu/status.h"

namespace nvemu::fabrics {

inline constexpr uint8_t kOpFabrics = 0x7f;

// NVMe Base 2.0, Figure 541: Fabrics Command Type (FCTYPE).
enum class Fctype : uint8_t {
  kPropertySet = 0x00,
  kConnect = 0x01,
  kPropertyGet = 0x04,
  kAuthenticationSend = 0x05,
  kAuthenticationReceive = 0x06,
  kDisconnect = 0x08,
};
inline uint8_t FctypeOf(const Sqe& sqe) { return sqe.nsid & 0xff; }  // SQE byte 4

inline constexpr char kDiscoveryNqn[] = "nqn.2014-08.org.nvmexpress.discovery";
inline constexpr size_t kNqnField = 256;

// NVMe Base 2.0, 6.3 Connect command: SQE fields (Figure 545).
struct ConnectFields {
  uint16_t recfmt;  // CDW10[15:00]
  uint16_t qid;     // CDW10[31:16]
  uint16_t sqsize;  // CDW11[15:00], 0's based
  uint8_t cattr;    // CDW11[23:16]
  uint32_t kato;    // CDW12, milliseconds
};
inline ConnectFields ParseConnect(const Sqe& sqe) {
  return ConnectFields{static_cast<uint16_t>(sqe.cdw10), static_cast<uint16_t>(sqe.cdw10 >> 16),
                       static_cast<uint16_t>(sqe.cdw11), static_cast<uint8_t>(sqe.cdw11 >> 16),
                       sqe.cdw12};
}
// Byte offsets in the Connect SQE, reported in Connect Invalid Parameters (IATTR = 0).
inline constexpr uint16_t kConnectSqeRecfmt = 40;
inline constexpr uint16_t kConnectSqeQid = 42;
inline constexpr uint16_t kConnectSqeSqsize = 44;
inline constexpr uint16_t kConnectSqeCattr = 46;
inline constexpr uint8_t kCattrDisableSqFlow = 1u << 2;  // CATTR bit 2: SQ flow control disable

// NVMe Base 2.0, Figure 546: Connect Command Data (1024 bytes).
struct ConnectData {
  uint8_t hostid[16];
  uint16_t cntlid;
  uint8_t rsvd18[238];
  char subnqn[kNqnField];
  char hostnqn[kNqnField];
  uint8_t rsvd768[256];
};
static_assert(sizeof(ConnectData) == 1024);
static_assert(offsetof(ConnectData, cntlid) == 16);
static_assert(offsetof(ConnectData, subnqn) == 256 && offsetof(ConnectData, hostnqn) == 512);

inline constexpr uint16_t kCntlidDynamic = 0xffff;  // "allocate a controller" (dynamic model)

// Connect response DW0 for Connect Invalid Parameters (Figure 548): IATTR bit 16 (1 = the field is
// in the Connect data, 0 = in the SQE), IPO bits 15:0 = its byte offset.
inline uint32_t InvalidParameterDw0(bool in_data, uint16_t offset) {
  return (in_data ? 1u << 16 : 0u) | offset;
}

// NVMe Base 2.0, 6.1.x Property Get/Set SQE fields (Figures 553, 556).
inline uint8_t PropertyAttrib(const Sqe& sqe) { return sqe.cdw10 & 0x7; }  // 0: 4 bytes, 1: 8 bytes
inline uint32_t PropertyOffset(const Sqe& sqe) { return sqe.cdw11; }
inline uint64_t PropertyValue(const Sqe& sqe) {
  return (static_cast<uint64_t>(sqe.cdw13) << 32) | sqe.cdw12;
}

// NVMe Base 2.0, Figure 95: Command Specific status values of the Fabrics commands.
namespace sc {
inline constexpr Status kIncompatibleFormat = Status::CommandSpecific(0x80);
inline constexpr Status kControllerBusy = Status::CommandSpecific(0x81);
inline constexpr Status kConnectInvalidParameters = Status::CommandSpecific(0x82);
inline constexpr Status kConnectRestartDiscovery = Status::CommandSpecific(0x83);
inline constexpr Status kConnectInvalidHost = Status::CommandSpecific(0x84);
// NVMe Base 2.0, Figure 94: Generic 22h, retryable (a data digest error, 3.3.x of NVMe/TCP).
inline constexpr Status kTransientTransportError = Status::Generic(0x22, false);
}  // namespace sc

// Admin opcodes the fabrics layer handles itself (NVMe Base 2.0, Figure 139).
inline constexpr uint8_t kOpDeleteIoSq = 0x00;
inline constexpr uint8_t kOpCreateIoSq = 0x01;
inline constexpr uint8_t kOpGetLogPage = 0x02;
inline constexpr uint8_t kOpDeleteIoCq = 0x04;
inline constexpr uint8_t kOpCreateIoCq = 0x05;
inline constexpr uint8_t kOpIdentify = 0x06;
inline constexpr uint8_t kOpSetFeatures = 0x09;
inline constexpr uint8_t kOpGetFeatures = 0x0a;
inline constexpr uint8_t kOpAsyncEventRequest = 0x0c;
inline constexpr uint8_t kOpKeepAlive = 0x18;
inline constexpr uint8_t kFidKeepAliveTimer = 0x0f;
inline constexpr uint8_t kFidAsyncEventConfig = 0x0b;
inline constexpr uint8_t kFidHostIdentifier = 0x81;
inline constexpr uint8_t kLidDiscovery = 0x70;

}  // namespace nvemu::fabrics
