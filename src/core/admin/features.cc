// NVMe Base 2.0, 5.27 Set Features and 5.15 Get Features: one entry per Feature Identifier
// (5.27.1, Figure 317) in a table; the dispatchers only route, check SEL/SV/NSID and keep saved
// values.
//
// Values use each feature's Command Dword 11 layout; Get Features returns the same layout in
// Dword 0. Features with a sub-key select it from CDW11: 04h Temperature Threshold (TMPSEL, THSEL)
// and 09h Interrupt Vector Configuration (IV). Saveable features (SV = 1) keep their saved value in
// the state file; at power-on and Controller Level Reset every feature returns to its saved value,
// or its default (RestoreFeatures). The current values of 01h, 06h, 07h, 08h and 09h live on the
// Controller, where the queue engine and the NVM path read them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/admin/identify_data.h"
#include "core/controller.h"

namespace nvemu {
namespace {

// NVMe Base 2.0, Figure 317: Feature Identifiers.
constexpr uint8_t kFidArbitration = 0x01;
constexpr uint8_t kFidPowerManagement = 0x02;
constexpr uint8_t kFidTemperatureThreshold = 0x04;
constexpr uint8_t kFidErrorRecovery = 0x05;
constexpr uint8_t kFidVolatileWriteCache = 0x06;
constexpr uint8_t kFidNumberOfQueues = 0x07;
constexpr uint8_t kFidInterruptCoalescing = 0x08;
constexpr uint8_t kFidInterruptVectorConfig = 0x09;
constexpr uint8_t kFidWriteAtomicity = 0x0a;
constexpr uint8_t kFidAsyncEventConfig = 0x0b;
constexpr uint8_t kFidTimestamp = 0x0e;
constexpr uint8_t kFidKeepAliveTimer = 0x0f;
constexpr uint8_t kFidHostIdentifier = 0x81;
constexpr uint8_t kFidReservationPersistence = 0x83;

// Get Features SEL (5.15, Figure 193).
constexpr uint8_t kSelCurrent = 0;
constexpr uint8_t kSelDefault = 1;
[[maybe_unused]] constexpr uint8_t kSelSaved = 2;  // the default branches below serve it
constexpr uint8_t kSelCapabilities = 3;

// Supported capabilities (Figure 194).
constexpr uint32_t kCapSaveable = 1u << 0;
constexpr uint32_t kCapNamespaceSpecific = 1u << 1;
constexpr uint32_t kCapChangeable = 1u << 2;

constexpr uint16_t kCdw11 = offsetof(Sqe, cdw11);

struct FeatureDef {
  uint8_t fid;
  uint32_t caps;
  // Sub-key from CDW11 (null: none); fails with Invalid Field for a bad selector.
  Status (*key)(const Controller&, Request&, uint32_t* key);
  uint32_t (*current)(Controller&, uint32_t key);
  uint32_t (*default_value)(const Controller&, uint32_t key);
  // Checks a Set's CDW11 (null: any value).
  Status (*validate)(Controller&, Request&, uint32_t key);
  // Applies a value (from Set Features or a saved value).
  void (*apply)(Controller&, uint32_t key, uint32_t value);
  // Keys that RestoreFeatures visits (0 = key 0 only).
  uint32_t (*key_count)(const Controller&);
  bool set_returns_value;  // 07h: Dword 0 of Set Features reports the allocation
};

FeatureState& F(Controller& c) { return c.admin_state().features; }

// 01h Arbitration: AB[2:0], LPW[15:8], MPW[23:16], HPW[31:24]; the queue engine applies it.
uint32_t ArbCurrent(Controller& c, uint32_t) { return c.arbitration(); }
uint32_t ArbDefault(const Controller&, uint32_t) { return 0x7; }  // AB 111b: no burst limit
void ArbApply(Controller& c, uint32_t, uint32_t v) { c.set_arbitration(v & 0xffffff07u); }

// 02h Power Management: PS[4:0] (at most NPSS), WH[7:5] (0..2).
uint32_t PmCurrent(Controller& c, uint32_t) { return F(c).power_management; }
uint32_t Zero(const Controller&, uint32_t) { return 0; }
Status PmValidate(Controller&, Request& req, uint32_t) {
  if ((req.sqe.cdw11 & 0x1f) > kNpss) return InvalidFieldAt(req, kCdw11);
  if (((req.sqe.cdw11 >> 5) & 0x7) > 2) return InvalidFieldAt(req, kCdw11, 5);
  return Status::Success();
}
void PmApply(Controller& c, uint32_t, uint32_t v) { F(c).power_management = v & 0xff; }

// 04h Temperature Threshold: TMPTH[15:0], TMPSEL[19:16] (0 composite; Fh all sensors on Set),
// THSEL[21:20] (00b over, 01b under). Only the composite temperature is implemented.
Status TempKey(const Controller&, Request& req, uint32_t* key) {
  uint32_t tmpsel = (req.sqe.cdw11 >> 16) & 0xf;
  uint32_t thsel = (req.sqe.cdw11 >> 20) & 0x3;
  bool set = req.sqe.opc == 0x09;
  if (tmpsel != 0 && !(set && tmpsel == 0xf)) return InvalidFieldAt(req, kCdw11 + 2);
  if (thsel > 1) return InvalidFieldAt(req, kCdw11 + 2, 4);
  *key = thsel << 4;
  return Status::Success();
}
uint32_t TempCurrent(Controller& c, uint32_t key) {
  uint32_t t = key ? F(c).temp_under : F(c).temp_over;
  return t | key << 16;
}
uint32_t TempDefault(const Controller&, uint32_t key) {
  return (key ? 0u : FeatureState::kDefaultOverTemp) | key << 16;
}
void TempApply(Controller& c, uint32_t key, uint32_t v) {
  (key ? F(c).temp_under : F(c).temp_over) = static_cast<uint16_t>(v & 0xffff);
  CheckHealth(c);  // a threshold crossed now raises the SMART temperature event
}
uint32_t TempKeys(const Controller&) { return 2; }
uint32_t TempKeyAt(uint32_t i) { return i << 4; }

// 05h Error Recovery: TLER[15:0]; DULBE (bit 16) needs deallocated-block errors (NSFEAT bit 2 = 0).
uint32_t ErCurrent(Controller& c, uint32_t) { return F(c).error_recovery; }
Status ErValidate(Controller&, Request& req, uint32_t) {
  if (req.sqe.cdw11 & (1u << 16)) return InvalidFieldAt(req, kCdw11 + 2);
  return Status::Success();
}
void ErApply(Controller& c, uint32_t, uint32_t v) { F(c).error_recovery = v & 0xffff; }

// 06h Volatile Write Cache: WCE bit 0.
uint32_t VwcCurrent(Controller& c, uint32_t) { return c.volatile_write_cache() ? 1 : 0; }
uint32_t One(const Controller&, uint32_t) { return 1; }
void VwcApply(Controller& c, uint32_t, uint32_t v) { c.set_volatile_write_cache(v & 1); }

// 07h Number of Queues: NSQR[15:0], NCQR[31:16], 0's based; Dword 0 reports NSQA/NCQA.
uint32_t QueuesDword(uint32_t sqs, uint32_t cqs) { return (sqs - 1) | ((cqs - 1) << 16); }
uint32_t QueuesCurrent(Controller& c, uint32_t) {
  return QueuesDword(c.allocated_sqs(), c.allocated_cqs());
}
uint32_t QueuesDefault(const Controller& c, uint32_t) {
  return QueuesDword(c.config().max_io_queues, c.config().max_io_queues);
}
Status QueuesValidate(Controller& c, Request& req, uint32_t) {
  if ((req.sqe.cdw11 & 0xffff) == 0xffff) return InvalidFieldAt(req, kCdw11);
  if ((req.sqe.cdw11 >> 16) == 0xffff) return InvalidFieldAt(req, kCdw11 + 2);
  // The allocation may not change once I/O queues exist (5.27.1, Number of Queues).
  if (c.front_end() != nullptr && c.front_end()->HasIoQueues()) return sc::kCommandSequenceError;
  return Status::Success();
}
void QueuesApply(Controller& c, uint32_t, uint32_t v) {
  uint32_t max = c.config().max_io_queues;
  c.set_allocated_queues(std::min((v & 0xffff) + 1, max), std::min((v >> 16) + 1, max));
}

// 08h Interrupt Coalescing: THR[7:0], TIME[15:8]; the queue engine applies it.
uint32_t IcCurrent(Controller& c, uint32_t) { return c.interrupt_coalescing(); }
void IcApply(Controller& c, uint32_t, uint32_t v) { c.set_interrupt_coalescing(v & 0xffff); }

// 09h Interrupt Vector Configuration: IV[15:0] selects the vector, CD bit 16 disables coalescing.
// The admin vector 0 defaults to CD = 1 (coalescing does not apply to the admin CQ).
Status IvKey(const Controller& c, Request& req, uint32_t* key) {
  uint32_t iv = req.sqe.cdw11 & 0xffff;
  if (iv >= c.config().msix_vectors) return InvalidFieldAt(req, kCdw11);
  *key = iv;
  return Status::Success();
}
uint32_t IvCurrent(Controller& c, uint32_t iv) {
  return iv | (c.coalescing_disabled(static_cast<uint16_t>(iv)) ? 1u << 16 : 0);
}
uint32_t IvDefault(const Controller&, uint32_t iv) { return iv | (iv == 0 ? 1u << 16 : 0); }
void IvApply(Controller& c, uint32_t iv, uint32_t v) {
  c.set_coalescing_disabled(static_cast<uint16_t>(iv), (v >> 16) & 1);
}
uint32_t IvKeys(const Controller& c) { return c.config().msix_vectors; }

// 0Ah Write Atomicity Normal: DN bit 0.
uint32_t WaCurrent(Controller& c, uint32_t) { return F(c).write_atomicity; }
void WaApply(Controller& c, uint32_t, uint32_t v) { F(c).write_atomicity = v & 1; }

// 0Bh Asynchronous Event Configuration: SMART warnings 7:0, NAN bit 8, FAN bit 9 (others are
// not supported and read back as 0).
uint32_t AecCurrent(Controller& c, uint32_t) { return c.async_events().config(); }
uint32_t AecDefault(const Controller&, uint32_t) { return kAecSupported; }
void AecApply(Controller& c, uint32_t, uint32_t v) { c.async_events().set_config(v); }

// 0Fh Keep Alive Timer: KATO in ms, rounded up to the KAS granularity (100 ms units).
uint32_t KatoCurrent(Controller& c, uint32_t) { return F(c).kato_ms; }
void KatoApply(Controller& c, uint32_t, uint32_t v) {
  uint64_t unit = 100ull * kKas;
  F(c).kato_ms =
      static_cast<uint32_t>(std::min<uint64_t>((v + unit - 1) / unit * unit, 0xffffffffu));
  c.admin_state().last_keep_alive_ns = c.clock().NowNs();
}

constexpr uint32_t kSaveable = kCapSaveable | kCapChangeable;
constexpr uint32_t kChangeable = kCapChangeable;

const std::array<FeatureDef, 11> kFeatures = {{
    {kFidArbitration, kSaveable, nullptr, ArbCurrent, ArbDefault, nullptr, ArbApply, nullptr,
     false},
    {kFidPowerManagement, kSaveable, nullptr, PmCurrent, Zero, PmValidate, PmApply, nullptr, false},
    {kFidTemperatureThreshold, kSaveable, TempKey, TempCurrent, TempDefault, nullptr, TempApply,
     TempKeys, false},
    {kFidErrorRecovery, kSaveable, nullptr, ErCurrent, Zero, ErValidate, ErApply, nullptr, false},
    {kFidVolatileWriteCache, kSaveable, nullptr, VwcCurrent, One, nullptr, VwcApply, nullptr,
     false},
    {kFidNumberOfQueues, kChangeable, nullptr, QueuesCurrent, QueuesDefault, QueuesValidate,
     QueuesApply, nullptr, true},
    {kFidInterruptCoalescing, kSaveable, nullptr, IcCurrent, Zero, nullptr, IcApply, nullptr,
     false},
    {kFidInterruptVectorConfig, kSaveable, IvKey, IvCurrent, IvDefault, nullptr, IvApply, IvKeys,
     false},
    {kFidWriteAtomicity, kSaveable, nullptr, WaCurrent, Zero, nullptr, WaApply, nullptr, false},
    {kFidAsyncEventConfig, kSaveable, nullptr, AecCurrent, AecDefault, nullptr, AecApply, nullptr,
     false},
    {kFidKeepAliveTimer, kChangeable, nullptr, KatoCurrent, Zero, nullptr, KatoApply, nullptr,
     false},
}};

const FeatureDef* LookupFeature(uint8_t fid) {
  for (const FeatureDef& d : kFeatures) {
    if (d.fid == fid) return &d;
  }
  return nullptr;
}

uint32_t SavedKey(uint8_t fid, uint32_t key) { return fid | key << 8; }

// ---- Data-carrying features: 0Eh Timestamp (8 bytes) and 81h Host Identifier (8/16 bytes). ----

// 5.27.1, Timestamp: milliseconds since 1970 (host set, origin 001b) or since the last reset
// (origin 000b); Synch = 0 (the controller never stopped counting).
Status SetTimestamp(Controller& c, Request& req) {
  nvme_timestamp ts{};
  if (Status st = req.data->Pull(&ts, sizeof(ts)); !st.ok()) return st;
  uint64_t ms = 0;
  std::memcpy(&ms, ts.timestamp, 6);
  F(c).timestamp_set = true;
  F(c).timestamp_ms = ms;
  F(c).timestamp_set_ns = c.clock().NowNs();
  return Status::Success();
}

Status GetTimestamp(Controller& c, Request& req, uint8_t sel) {
  nvme_timestamp ts{};
  if (sel == kSelCurrent) {
    const FeatureState& f = F(c);
    uint64_t ms = f.timestamp_ms + (c.clock().NowNs() - f.timestamp_set_ns) / 1'000'000;
    std::memcpy(ts.timestamp, &ms, 6);
    ts.attr = f.timestamp_set ? (1u << 1) : 0;  // bits 3:1 Timestamp Origin
  }
  return req.data->Push(&ts, sizeof(ts));
}

// 5.27.1.25 Host Identifier: EXHID (CDW11 bit 0) selects the 128-bit form (CTRATT bit 0).
Status SetHostId(Controller& c, Request& req) {
  bool extended = req.sqe.cdw11 & 1;
  std::array<uint8_t, 16> id{};
  if (Status st = req.data->Pull(id.data(), extended ? 16 : 8); !st.ok()) return st;
  F(c).host_id = id;
  F(c).host_id_extended = extended;
  c.set_host_id(id);  // reservations identify the host by it (nvm/io_cmd.h)
  return Status::Success();
}

Status GetHostId(Controller& c, Request& req, uint8_t sel) {
  bool extended = req.sqe.cdw11 & 1;
  std::array<uint8_t, 16> id{};
  if (sel == kSelCurrent) id = F(c).host_id;
  return req.data->Push(id.data(), extended ? 16 : 8);
}

// 5.27.1.27 Reservation Persistence (83h): PTPL (CDW11 bit 0) of a namespace (nvm/reservations.h).
// Set with NSID FFFFFFFFh changes every active namespace; Get needs one namespace. Saveable: the
// saved value becomes the PTPL state at the next power-on (core/reservation_persistence.h). It is
// namespace state, so a Controller Level Reset leaves it alone (RestoreFeatures does not visit it).
Status SetReservationPersistence(Controller& c, Request& req, bool save) {
  const bool on = req.sqe.cdw11 & 1;
  if (req.sqe.nsid == 0xffffffff) {
    for (uint32_t id = 1; id <= c.nn(); ++id) {
      if (Namespace* ns = c.GetNamespace(id)) ns->reservations().SetPtpl(on, save);
    }
    return Status::Success();
  }
  Namespace* ns = c.GetNamespace(req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  ns->reservations().SetPtpl(on, save);
  return Status::Success();
}

Status GetReservationPersistence(Controller& c, Request& req, uint8_t sel) {
  if (sel == kSelCapabilities) {
    req.dw0 = kCapSaveable | kCapNamespaceSpecific | kCapChangeable;
    return Status::Success();
  }
  Namespace* ns = c.GetNamespace(req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  const ReservationState st = ns->reservations().Export();
  switch (sel) {
    case kSelCurrent:
      req.dw0 = st.ptpl ? 1 : 0;
      break;
    case kSelDefault:
      req.dw0 = 0;
      break;
    default:  // kSelSaved: the default when never saved
      req.dw0 = st.saved_ptpl == 1 ? 1 : 0;
      break;
  }
  return Status::Success();
}

}  // namespace

void RestoreFeatures(Controller& c) {
  const auto& saved = F(c).saved;
  for (const FeatureDef& d : kFeatures) {
    uint32_t n = d.key_count ? d.key_count(c) : 1;
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t key = d.fid == kFidTemperatureThreshold ? TempKeyAt(i) : i;
      auto it = saved.find(SavedKey(d.fid, key));
      d.apply(c, key, it != saved.end() ? it->second : d.default_value(c, key));
    }
  }
  // 0Eh: after a Controller Level Reset the timestamp counts from zero (origin 000b).
  F(c).timestamp_set = false;
  F(c).timestamp_ms = 0;
  F(c).timestamp_set_ns = c.clock().NowNs();
}

Status AdminSetFeatures(Controller& ctrl, Request& req) {
  uint8_t fid = req.sqe.cdw10 & 0xff;
  bool save = (req.sqe.cdw10 >> 31) & 1;
  if (fid == kFidTimestamp || fid == kFidHostIdentifier) {
    if (save) return sc::kFeatureIdNotSaveable;
    return fid == kFidTimestamp ? SetTimestamp(ctrl, req) : SetHostId(ctrl, req);
  }
  if (fid == kFidReservationPersistence) return SetReservationPersistence(ctrl, req, save);
  const FeatureDef* d = LookupFeature(fid);
  if (d == nullptr) {
    spdlog::debug("admin: Set Features FID {:#x} not supported", fid);
    return InvalidFieldAt(req, offsetof(Sqe, cdw10));
  }
  // 5.27: SV for a feature that cannot be saved -> Feature Identifier Not Saveable.
  if (save && !(d->caps & kCapSaveable)) return sc::kFeatureIdNotSaveable;
  if (req.sqe.nsid != 0 && req.sqe.nsid != 0xffffffff && !(d->caps & kCapNamespaceSpecific)) {
    return sc::kFeatureNotNamespaceSpecific;
  }
  uint32_t key = 0;
  if (d->key) {
    if (Status st = d->key(ctrl, req, &key); !st.ok()) return st;
  }
  if (d->validate) {
    if (Status st = d->validate(ctrl, req, key); !st.ok()) return st;
  }
  d->apply(ctrl, key, req.sqe.cdw11);
  if (d->set_returns_value) req.dw0 = d->current(ctrl, key);
  if (save) {
    F(ctrl).saved[SavedKey(fid, key)] = d->current(ctrl, key);
    AdminStatePersist(ctrl);
  }
  return Status::Success();
}

Status AdminGetFeatures(Controller& ctrl, Request& req) {
  uint8_t fid = req.sqe.cdw10 & 0xff;
  uint8_t sel = (req.sqe.cdw10 >> 8) & 0x7;
  if (sel > kSelCapabilities) return InvalidFieldAt(req, offsetof(Sqe, cdw10) + 1);
  if (fid == kFidTimestamp || fid == kFidHostIdentifier) {
    if (sel == kSelCapabilities) {
      req.dw0 = kCapChangeable;
      return Status::Success();
    }
    return fid == kFidTimestamp ? GetTimestamp(ctrl, req, sel) : GetHostId(ctrl, req, sel);
  }
  if (fid == kFidReservationPersistence) return GetReservationPersistence(ctrl, req, sel);
  const FeatureDef* d = LookupFeature(fid);
  if (d == nullptr) {
    spdlog::debug("admin: Get Features FID {:#x} not supported", fid);
    return InvalidFieldAt(req, offsetof(Sqe, cdw10));
  }
  if (sel == kSelCapabilities) {
    req.dw0 = d->caps;
    return Status::Success();
  }
  uint32_t key = 0;
  if (d->key) {
    if (Status st = d->key(ctrl, req, &key); !st.ok()) return st;
  }
  switch (sel) {
    case kSelCurrent:
      req.dw0 = d->current(ctrl, key);
      break;
    case kSelDefault:
      req.dw0 = d->default_value(ctrl, key);
      break;
    default: {  // kSelSaved: the saved value, or the default if never saved (5.15, Figure 193)
      auto it = F(ctrl).saved.find(SavedKey(fid, key));
      req.dw0 = it != F(ctrl).saved.end() ? it->second : d->default_value(ctrl, key);
      break;
    }
  }
  return Status::Success();
}

}  // namespace nvemu
