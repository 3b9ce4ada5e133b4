// NVMe Base 2.0, 6.5 Property Get and 6.6 Property Set (FCTYPE 04h / 00h): the controller
// properties of a message-based controller, read and written through the same register model as
// PCIe MMIO (Controller::ReadRegister / WriteRegister), so CC.EN and CC.SHN edges behave
// identically.
//
// Properties (Figure 35 with the fabrics column): CAP (8 bytes), VS, CC, CSTS, NSSR (4 bytes).
// INTMS/INTMC, AQA/ASQ/ACQ, CMB, BP and PMR are PCIe-only; accessing them, or any property with a
// size other than its own, is Invalid Field in Command.
#include <spdlog/spdlog.h>

#include "core/fabrics/fabrics.h"
#include "core/fabrics/queue.h"
#include "spec/registers.h"

namespace nvemu::fabrics {
namespace {

struct Property {
  uint32_t offset;
  unsigned size;
  bool writable;
};

constexpr Property kProperties[] = {
    {reg::kCap, 8, false}, {reg::kVs, 4, false},  {reg::kCc, 4, true},
    {reg::kCsts, 4, true}, {reg::kNssr, 4, true},
};

// ATTRIB[2:0] = 0: 4 bytes, 1: 8 bytes (Figures 553 and 556).
const Property* Lookup(const Sqe& sqe) {
  uint8_t attrib = PropertyAttrib(sqe);
  if (attrib > 1) return nullptr;
  unsigned size = attrib == 0 ? 4 : 8;
  for (const Property& p : kProperties) {
    if (p.offset == PropertyOffset(sqe) && p.size == size) return &p;
  }
  return nullptr;
}

}  // namespace

Status ExecutePropertyGet(FabricsController& ctrl, Request& req) {
  if (Status st = req.data->Prepare(0); !st.ok()) return st;
  const Property* p = Lookup(req.sqe);
  if (p == nullptr) {
    spdlog::debug("fabrics: Property Get of offset {:#x} attrib {} refused",
                  PropertyOffset(req.sqe), PropertyAttrib(req.sqe));
    return nvemu::sc::kInvalidField;
  }
  uint64_t v = ctrl.controller().ReadRegister(p->offset, p->size);
  req.dw0 = static_cast<uint32_t>(v);
  req.dw1 = static_cast<uint32_t>(v >> 32);
  return Status::Success();
}

Status ExecutePropertySet(FabricsController& ctrl, Request& req) {
  if (Status st = req.data->Prepare(0); !st.ok()) return st;
  const Property* p = Lookup(req.sqe);
  if (p == nullptr || !p->writable) {
    spdlog::debug("fabrics: Property Set of offset {:#x} attrib {} refused",
                  PropertyOffset(req.sqe), PropertyAttrib(req.sqe));
    return nvemu::sc::kInvalidField;
  }
  ctrl.controller().WriteRegister(p->offset, p->size, PropertyValue(req.sqe));
  return Status::Success();
}

}  // namespace nvemu::fabrics
