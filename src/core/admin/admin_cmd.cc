#include "core/admin/admin_cmd.h"

#include <array>

#include "core/controller.h"

namespace nvemu {
namespace {

// Commands Supported and Effects (NVMe Base 2.0, Figure 210).
constexpr uint32_t kCsupp = 1u << 0;    // command supported
constexpr uint32_t kLbcc = 1u << 1;     // logical block content change
constexpr uint32_t kNcc = 1u << 2;      // namespace capability change
constexpr uint32_t kNic = 1u << 3;      // namespace inventory change
constexpr uint32_t kCcc = 1u << 4;      // controller capability change
constexpr uint32_t kCseNs = 1u << 16;   // CSE 001b: no other command to the same namespace
constexpr uint32_t kCseAll = 2u << 16;  // CSE 010b: no other command at all

using AdminHandler = Status (*)(Controller&, Request&);

struct AdminCommand {
  AdminHandler handler = nullptr;
  uint32_t effects = 0;
};

// NVMe Base 2.0, Figure 139: Opcodes for Admin Commands.
constexpr std::array<AdminCommand, 256> MakeAdminTable() {
  std::array<AdminCommand, 256> t{};
  t[0x00] = {AdminDeleteIoSq, kCsupp};
  t[0x01] = {AdminCreateIoSq, kCsupp};
  t[0x02] = {AdminGetLogPage, kCsupp};
  t[0x04] = {AdminDeleteIoCq, kCsupp};
  t[0x05] = {AdminCreateIoCq, kCsupp};
  t[0x06] = {AdminIdentify, kCsupp};
  t[0x08] = {AdminAbort, kCsupp};
  t[0x09] = {AdminSetFeatures, kCsupp};
  t[0x0a] = {AdminGetFeatures, kCsupp};
  t[0x0c] = {AdminAsyncEventRequest, kCsupp};
  t[0x0d] = {AdminNamespaceManagement, kCsupp | kNic | kCseAll};
  t[0x10] = {AdminFirmwareCommit, kCsupp | kCcc};
  t[0x11] = {AdminFirmwareDownload, kCsupp};
  t[0x14] = {AdminDeviceSelfTest, kCsupp};
  t[0x15] = {AdminNamespaceAttachment, kCsupp | kNic | kCseAll};
  t[0x18] = {AdminKeepAlive, kCsupp};
  t[0x7c] = {AdminDoorbellBufferConfig, kCsupp};
  t[0x80] = {AdminFormatNvm, kCsupp | kLbcc | kNcc | kCseNs};
  return t;
}
constexpr std::array<AdminCommand, 256> kAdminTable = MakeAdminTable();

}  // namespace

uint32_t AdminCommandEffects(uint8_t opc) { return kAdminTable[opc].effects; }

Status InvalidFieldAt(Request& req, uint16_t byte, uint8_t bit) {
  req.error_loc = static_cast<uint16_t>((byte & 0xff) | (bit & 0x7) << 8);
  return sc::kInvalidField;
}

Status ExecuteAdminCommand(Controller& ctrl, Request& req) {
  AdminHandler handler = kAdminTable[req.sqe.opc].handler;
  if (handler == nullptr) return sc::kInvalidOpcode;
  // 3.4.2: fused operations are I/O commands; admin commands with FUSE set are invalid.
  if (req.sqe.fuse() != 0) return InvalidFieldAt(req, 1);
  return handler(ctrl, req);
}

}  // namespace nvemu
