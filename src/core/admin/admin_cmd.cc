#include "core/admin/admin_cmd.h"

#include <array>

#include "core/controller.h"

namespace nvemu {
namespace {

// NVMe Base 2.0, Figure 139: Opcodes for Admin Commands.
constexpr uint8_t kOpDeleteIoSq = 0x00;
constexpr uint8_t kOpCreateIoSq = 0x01;
constexpr uint8_t kOpDeleteIoCq = 0x04;
constexpr uint8_t kOpCreateIoCq = 0x05;
constexpr uint8_t kOpIdentify = 0x06;
constexpr uint8_t kOpSetFeatures = 0x09;
constexpr uint8_t kOpGetFeatures = 0x0a;

using AdminHandler = Status (*)(Controller&, Request&);

constexpr std::array<AdminHandler, 256> MakeAdminTable() {
  std::array<AdminHandler, 256> t{};
  t[kOpDeleteIoSq] = AdminDeleteIoSq;
  t[kOpCreateIoSq] = AdminCreateIoSq;
  t[kOpDeleteIoCq] = AdminDeleteIoCq;
  t[kOpCreateIoCq] = AdminCreateIoCq;
  t[kOpIdentify] = AdminIdentify;
  t[kOpSetFeatures] = AdminSetFeatures;
  t[kOpGetFeatures] = AdminGetFeatures;
  return t;
}
constexpr std::array<AdminHandler, 256> kAdminTable = MakeAdminTable();

}  // namespace

Status ExecuteAdminCommand(Controller& ctrl, Request& req) {
  AdminHandler handler = kAdminTable[req.sqe.opc];
  if (handler == nullptr) return sc::kInvalidOpcode;
  // 3.4.2: fused operations are I/O commands; admin commands with FUSE set are invalid.
  if (req.sqe.fuse() != 0) return sc::kInvalidField;
  return handler(ctrl, req);
}

}  // namespace nvemu
