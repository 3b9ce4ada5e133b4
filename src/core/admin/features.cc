// NVMe Base 2.0, 5.27 Set Features and 5.15 Get Features: one small handler per Feature Identifier,
// selected through a table. Issue #3 extends the table to the whole feature set and saved values.
#include <spdlog/spdlog.h>

#include <array>

#include "core/admin/admin_cmd.h"
#include "core/controller.h"

namespace nvemu {
namespace {

// NVMe Base 2.0, Figure 317: Feature Identifiers.
constexpr uint8_t kFidVolatileWriteCache = 0x06;
constexpr uint8_t kFidNumberOfQueues = 0x07;

// Get Features SEL (Figure 193).
constexpr uint8_t kSelCurrent = 0;
constexpr uint8_t kSelDefault = 1;
constexpr uint8_t kSelSaved = 2;
constexpr uint8_t kSelCapabilities = 3;

// Supported capabilities bits (Figure 194).
constexpr uint32_t kCapSaveable = 1u << 0;
constexpr uint32_t kCapNamespaceSpecific = 1u << 1;
constexpr uint32_t kCapChangeable = 1u << 2;

struct FeatureOps {
  // Set: validates CDW11.., applies, sets dw0. Null = not settable.
  Status (*set)(Controller&, Request&);
  // Current and default values (dw0).
  uint32_t (*current)(const Controller&);
  uint32_t (*default_value)(const Controller&);
  uint32_t capabilities;
};

// 5.27.1.7 Number of Queues: CDW11 NSQR[15:0], NCQR[31:16], 0's based; dw0 NSQA/NCQA.
uint32_t QueuesDword(uint32_t sqs, uint32_t cqs) { return (sqs - 1) | ((cqs - 1) << 16); }

Status SetNumberOfQueues(Controller& ctrl, Request& req) {
  uint32_t nsqr = req.sqe.cdw11 & 0xffff;
  uint32_t ncqr = req.sqe.cdw11 >> 16;
  if (nsqr == 0xffff || ncqr == 0xffff) return sc::kInvalidField;
  // The allocation may not change once I/O queues exist (5.27.1.7).
  if (ctrl.front_end()->HasIoQueues()) return sc::kCommandSequenceError;
  uint32_t max = ctrl.config().max_io_queues;
  uint32_t sqs = std::min(nsqr + 1, max);
  uint32_t cqs = std::min(ncqr + 1, max);
  ctrl.set_allocated_queues(sqs, cqs);
  req.dw0 = QueuesDword(sqs, cqs);
  return Status::Success();
}

uint32_t CurrentNumberOfQueues(const Controller& ctrl) {
  return QueuesDword(ctrl.allocated_sqs(), ctrl.allocated_cqs());
}
uint32_t DefaultNumberOfQueues(const Controller& ctrl) {
  return QueuesDword(ctrl.config().max_io_queues, ctrl.config().max_io_queues);
}

// 5.27.1.5 Volatile Write Cache: CDW11[0] WCE.
Status SetVolatileWriteCache(Controller& ctrl, Request& req) {
  ctrl.set_volatile_write_cache(req.sqe.cdw11 & 1);
  return Status::Success();
}
uint32_t CurrentVolatileWriteCache(const Controller& ctrl) {
  return ctrl.volatile_write_cache() ? 1 : 0;
}
uint32_t DefaultVolatileWriteCache(const Controller&) { return 1; }

const FeatureOps* LookupFeature(uint8_t fid) {
  static constexpr FeatureOps kVwc{SetVolatileWriteCache, CurrentVolatileWriteCache,
                                   DefaultVolatileWriteCache, kCapChangeable};
  static constexpr FeatureOps kQueues{SetNumberOfQueues, CurrentNumberOfQueues,
                                      DefaultNumberOfQueues, kCapChangeable};
  switch (fid) {
    case kFidVolatileWriteCache:
      return &kVwc;
    case kFidNumberOfQueues:
      return &kQueues;
    default:
      return nullptr;
  }
}

}  // namespace

Status AdminSetFeatures(Controller& ctrl, Request& req) {
  uint8_t fid = req.sqe.cdw10 & 0xff;
  bool save = (req.sqe.cdw10 >> 31) & 1;
  const FeatureOps* ops = LookupFeature(fid);
  if (ops == nullptr || ops->set == nullptr) {
    spdlog::debug("admin: Set Features FID {:#x} not supported", fid);
    return sc::kInvalidField;
  }
  if (save && !(ops->capabilities & kCapSaveable)) return sc::kFeatureIdNotSaveable;
  if (req.sqe.nsid != 0 && req.sqe.nsid != 0xffffffff &&
      !(ops->capabilities & kCapNamespaceSpecific)) {
    return sc::kFeatureNotNamespaceSpecific;
  }
  return ops->set(ctrl, req);
}

Status AdminGetFeatures(Controller& ctrl, Request& req) {
  uint8_t fid = req.sqe.cdw10 & 0xff;
  uint8_t sel = (req.sqe.cdw10 >> 8) & 0x7;
  const FeatureOps* ops = LookupFeature(fid);
  if (ops == nullptr) {
    spdlog::debug("admin: Get Features FID {:#x} not supported", fid);
    return sc::kInvalidField;
  }
  switch (sel) {
    case kSelCurrent:
      req.dw0 = ops->current(ctrl);
      return Status::Success();
    case kSelDefault:
    case kSelSaved:  // not saveable: the saved value is the default (5.15.1)
      req.dw0 = ops->default_value(ctrl);
      return Status::Success();
    case kSelCapabilities:
      req.dw0 = ops->capabilities;
      return Status::Success();
    default:
      return sc::kInvalidField;
  }
}

}  // namespace nvemu
