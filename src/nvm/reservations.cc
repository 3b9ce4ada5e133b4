#include "nvm/reservations.h"

#include <algorithm>
#include <cstring>

#include "nvm/nvm_status.h"

namespace nvemu {
namespace {

uint64_t IdWord(const std::array<uint8_t, 16>& id, int half) {
  uint64_t v;
  std::memcpy(&v, id.data() + 8 * half, 8);
  return v;
}

bool Same(uint16_t cntlid_a, uint64_t a0, uint64_t a1, uint16_t cntlid_b, uint64_t b0,
          uint64_t b1) {
  const bool a_zero = a0 == 0 && a1 == 0;
  const bool b_zero = b0 == 0 && b1 == 0;
  if (a_zero || b_zero) return a_zero && b_zero && cntlid_a == cntlid_b;
  return a0 == b0 && a1 == b1;
}

bool AllRegistrants(RType t) {
  return t == RType::kWriteExclusiveAllRegistrants || t == RType::kExclusiveAccessAllRegistrants;
}

// NVMe Base 2.0, Figure 405 (Command behavior in the presence of a reservation).
bool Allowed(RType t, bool holder, bool registrant, Access access) {
  if (t == RType::kNone || holder) return true;
  switch (t) {
    case RType::kWriteExclusive:
      return access == Access::kRead;
    case RType::kExclusiveAccess:
      return false;
    case RType::kWriteExclusiveRegistrantsOnly:
    case RType::kWriteExclusiveAllRegistrants:
      return access == Access::kRead || registrant;
    case RType::kExclusiveAccessRegistrantsOnly:
    case RType::kExclusiveAccessAllRegistrants:
      return registrant;
    default:
      return false;
  }
}

void Put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void Put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

}  // namespace

bool HostRef::SameHost(const HostRef& o) const {
  return Same(cntlid, IdWord(hostid, 0), IdWord(hostid, 1), o.cntlid, IdWord(o.hostid, 0),
              IdWord(o.hostid, 1));
}

Status Reservations::CheckAccess(const HostRef& host, Access access) const {
  if (pub_.rtype.load(std::memory_order_acquire) == 0) return Status::Success();
  const uint64_t h0 = IdWord(host.hostid, 0), h1 = IdWord(host.hostid, 1);
  for (;;) {
    const uint32_t s1 = pub_.seq.load(std::memory_order_acquire);
    if (s1 & 1) continue;
    const auto t = static_cast<RType>(pub_.rtype.load(std::memory_order_relaxed));
    bool registrant = false;
    const uint32_t n = pub_.count.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < n && i < kMaxRegistrants; ++i) {
      registrant |= Same(pub_.cntlid[i].load(std::memory_order_relaxed),
                         pub_.id[i][0].load(std::memory_order_relaxed),
                         pub_.id[i][1].load(std::memory_order_relaxed), host.cntlid, h0, h1);
    }
    bool holder = AllRegistrants(t) ? registrant
                                    : Same(pub_.holder_cntlid.load(std::memory_order_relaxed),
                                           pub_.holder_id[0].load(std::memory_order_relaxed),
                                           pub_.holder_id[1].load(std::memory_order_relaxed),
                                           host.cntlid, h0, h1);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (pub_.seq.load(std::memory_order_relaxed) != s1) continue;
    return Allowed(t, holder, registrant, access) ? Status::Success()
                                                  : nvm_sc::kReservationConflict;
  }
}

void Reservations::Publish() {
  const uint32_t s = pub_.seq.load(std::memory_order_relaxed);
  pub_.seq.store(s + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  uint32_t n = 0;
  for (const Registrant& r : regs_) {
    if (!r.used) continue;
    pub_.cntlid[n].store(r.host.cntlid, std::memory_order_relaxed);
    pub_.id[n][0].store(IdWord(r.host.hostid, 0), std::memory_order_relaxed);
    pub_.id[n][1].store(IdWord(r.host.hostid, 1), std::memory_order_relaxed);
    ++n;
  }
  pub_.count.store(n, std::memory_order_relaxed);
  pub_.holder_cntlid.store(holder_.cntlid, std::memory_order_relaxed);
  pub_.holder_id[0].store(IdWord(holder_.hostid, 0), std::memory_order_relaxed);
  pub_.holder_id[1].store(IdWord(holder_.hostid, 1), std::memory_order_relaxed);
  pub_.rtype.store(static_cast<uint8_t>(rtype_), std::memory_order_relaxed);
  pub_.seq.store(s + 2, std::memory_order_release);
}

Reservations::Registrant* Reservations::Find(const HostRef& host) {
  for (Registrant& r : regs_) {
    if (r.used && r.host.SameHost(host)) return &r;
  }
  return nullptr;
}

const Reservations::Registrant* Reservations::Find(const HostRef& host) const {
  return const_cast<Reservations*>(this)->Find(host);
}

bool Reservations::AllRegistrantsType() const { return AllRegistrants(rtype_); }

bool Reservations::IsHolder(const HostRef& host) const {
  if (rtype_ == RType::kNone) return false;
  if (AllRegistrantsType()) return Find(host) != nullptr;
  return holder_.SameHost(host);
}

// NVMe Base 2.0, 7.3 Reservation Register.
Status Reservations::Register(const HostRef& host, uint8_t rrega, bool iekey, uint8_t cptpl,
                              uint64_t crkey, uint64_t nrkey) {
  // CPTPL (Figure 403): 00b no change, 01b reserved, 10b PTPL off, 11b PTPL on; applied when
  // the registration action succeeds.
  if (cptpl == 1) return sc::kInvalidField;
  std::lock_guard<std::mutex> lock(mu_);
  Status st = RegisterLocked(host, rrega, iekey, crkey, nrkey);
  if (st.ok() && cptpl != 0) ptpl_ = cptpl == 3;
  if (st.ok()) Changed();
  return st;
}

Status Reservations::RegisterLocked(const HostRef& host, uint8_t rrega, bool iekey, uint64_t crkey,
                                    uint64_t nrkey) {
  Registrant* r = Find(host);
  switch (rrega) {
    case 0: {  // Register
      if (r != nullptr) return r->key == nrkey ? Status::Success() : nvm_sc::kReservationConflict;
      for (Registrant& slot : regs_) {
        if (!slot.used) {
          slot = Registrant{true, host, nrkey};
          ++generation_;
          return Status::Success();
        }
      }
      return sc::kInternalError;  // registrant table full
    }
    case 1: {  // Unregister
      if (r == nullptr || (!iekey && r->key != crkey)) return nvm_sc::kReservationConflict;
      const bool was_holder = IsHolder(host);
      r->used = false;
      if (was_holder && !AllRegistrantsType()) {
        rtype_ = RType::kNone;
        holder_ = HostRef{};
      }
      if (AllRegistrantsType()) {
        bool any = false;
        for (const Registrant& x : regs_) any |= x.used;
        if (!any) rtype_ = RType::kNone;
      }
      ++generation_;
      return Status::Success();
    }
    case 2:  // Replace
      if (r == nullptr || (!iekey && r->key != crkey)) return nvm_sc::kReservationConflict;
      r->key = nrkey;
      ++generation_;
      return Status::Success();
    default:
      return sc::kInvalidField;
  }
}

// NVMe Base 2.0, 7.2 Reservation Acquire.
Status Reservations::Acquire(const HostRef& host, uint8_t racqa, bool iekey, uint8_t rtype,
                             uint64_t crkey, uint64_t prkey) {
  if (racqa > 2 || rtype < 1 || rtype > 6) return sc::kInvalidField;
  const auto type = static_cast<RType>(rtype);
  std::lock_guard<std::mutex> lock(mu_);
  Registrant* r = Find(host);
  if (r == nullptr || (!iekey && r->key != crkey)) return nvm_sc::kReservationConflict;
  if (racqa == 0) {  // Acquire
    if (rtype_ == RType::kNone) {
      rtype_ = type;
      holder_ = host;
      Changed();
      return Status::Success();
    }
    return IsHolder(host) && rtype_ == type ? Status::Success() : nvm_sc::kReservationConflict;
  }
  // Preempt (1) / Preempt and Abort (2): commands complete synchronously, so none is left to abort.
  auto remove_with_key = [&](uint64_t key) {
    bool removed = false;
    for (Registrant& x : regs_) {
      if (x.used && x.key == key && !x.host.SameHost(host)) {
        x.used = false;
        removed = true;
      }
    }
    return removed;
  };
  if (rtype_ == RType::kNone) {
    if (prkey == 0) return sc::kInvalidField;
    if (remove_with_key(prkey)) ++generation_;
  } else if (AllRegistrantsType()) {
    if (prkey == 0) {
      for (Registrant& x : regs_) {
        if (x.used && !x.host.SameHost(host)) x.used = false;
      }
      rtype_ = type;
      holder_ = host;
      ++generation_;
    } else if (remove_with_key(prkey)) {
      ++generation_;
    }
  } else {
    const Registrant* h = Find(holder_);
    if (h != nullptr && h->key == prkey) {
      remove_with_key(prkey);
      rtype_ = type;
      holder_ = host;
      ++generation_;
    } else {
      if (prkey == 0) return sc::kInvalidField;
      if (remove_with_key(prkey)) ++generation_;
    }
  }
  Changed();
  return Status::Success();
}

// NVMe Base 2.0, 7.5 Reservation Release.
Status Reservations::Release(const HostRef& host, uint8_t rrela, bool iekey, uint8_t rtype,
                             uint64_t crkey) {
  if (rrela > 1) return sc::kInvalidField;
  std::lock_guard<std::mutex> lock(mu_);
  Registrant* r = Find(host);
  if (r == nullptr || (!iekey && r->key != crkey)) return nvm_sc::kReservationConflict;
  if (rrela == 1) {  // Clear
    for (Registrant& x : regs_) x.used = false;
    rtype_ = RType::kNone;
    holder_ = HostRef{};
    ++generation_;
    Changed();
    return Status::Success();
  }
  if (rtype_ == RType::kNone || !IsHolder(host)) return Status::Success();
  if (static_cast<uint8_t>(rtype_) != rtype) return sc::kInvalidField;
  rtype_ = RType::kNone;
  holder_ = HostRef{};
  Changed();
  return Status::Success();
}

void Reservations::Changed() {
  Publish();
  if (listener_) listener_(ExportLocked());
}

bool Reservations::ptpl() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ptpl_;
}

// NVMe Base 2.0, 5.27.1.27 Reservation Persistence (feature 83h).
void Reservations::SetPtpl(bool on, bool save) {
  std::lock_guard<std::mutex> lock(mu_);
  ptpl_ = on;
  if (save) saved_ptpl_ = on ? 1 : 0;
  Changed();
}

ReservationState Reservations::ExportLocked() const {
  ReservationState st;
  st.ptpl = ptpl_;
  st.saved_ptpl = saved_ptpl_;
  st.generation = generation_;
  st.rtype = static_cast<uint8_t>(rtype_);
  st.holder = holder_;
  for (const Registrant& r : regs_) {
    if (r.used) st.registrants.push_back(ReservationState::Registrant{r.host, r.key});
  }
  return st;
}

ReservationState Reservations::Export() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ExportLocked();
}

void Reservations::Import(const ReservationState& st) {
  std::lock_guard<std::mutex> lock(mu_);
  ptpl_ = st.ptpl;
  saved_ptpl_ = st.saved_ptpl;
  generation_ = st.generation;
  rtype_ = st.rtype <= 6 ? static_cast<RType>(st.rtype) : RType::kNone;
  holder_ = rtype_ == RType::kNone ? HostRef{} : st.holder;
  regs_ = {};
  size_t n = 0;
  for (const auto& r : st.registrants) {
    if (n == kMaxRegistrants) break;
    regs_[n++] = Registrant{true, r.host, r.key};
  }
  Publish();
}

void Reservations::set_listener(std::function<void(const ReservationState&)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

// NVMe Base 2.0, 7.4 Reservation Report: Figure 409 (Reservation Status Data Structure) and
// Figure 410 (Extended, EDS = 1: 128-bit Host Identifiers).
Status Reservations::Report(const HostRef& host, bool extended, uint8_t* out, size_t len) const {
  (void)host;
  std::lock_guard<std::mutex> lock(mu_);
  uint8_t buf[64 + 64 * kMaxRegistrants] = {};
  const size_t header = extended ? 64 : 24;
  const size_t entry = extended ? 64 : 24;
  uint16_t regctl = 0;
  for (const Registrant& r : regs_) {
    if (!r.used) continue;
    uint8_t* e = buf + header + entry * regctl;
    Put16(e, r.host.cntlid);
    e[2] = IsHolder(r.host) ? 1 : 0;  // RCSTS bit 0: holds the reservation
    if (extended) {
      Put64(e + 8, r.key);
      std::memcpy(e + 16, r.host.hostid.data(), 16);
    } else {
      // A 128-bit Host Identifier does not fit the 64-bit field.
      if (IdWord(r.host.hostid, 1) != 0) return sc::kHostIdInconsistentFormat;
      std::memcpy(e + 8, r.host.hostid.data(), 8);
      Put64(e + 16, r.key);
    }
    ++regctl;
  }
  Put32(buf, generation_);
  buf[4] = static_cast<uint8_t>(rtype_);
  Put16(buf + 5, regctl);
  buf[9] = ptpl_ ? 1 : 0;  // PTPLS
  std::memset(out, 0, len);
  std::memcpy(out, buf, std::min(len, header + entry * regctl));
  return Status::Success();
}

}  // namespace nvemu
