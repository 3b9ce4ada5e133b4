// Reservations (NVMe Base 2.0, 8.19 Reservations; 7.2-7.5 Reservation Acquire/Register/Release/
// Report): per-namespace registrants, the reservation holder and type, and the access check that
// every I/O command makes.
//
// Hosts: a registrant is a host, identified by its Host Identifier (Set Features 81h on PCIe, the
// Connect command's HOSTID on NVMe over Fabrics). A controller whose Host Identifier is zero (a
// PCIe host that never set one) is treated as its own host, identified by its CNTLID. HostRef
// carries both.
//
// Threading: changes (Register/Acquire/Release, slow path) take mu_ and republish the state under a
// sequence lock; CheckAccess, on every I/O command, first reads one atomic (no reservation held:
// done) and otherwise takes a lock-free snapshot (seqlock read of atomics). No allocation.
// Persist Through Power Loss (8.19.x, RESCAP.PTPLS = 1): the PTPL state is set by Reservation
// Register CPTPL (10b off, 11b on) and by the Reservation Persistence feature (83h, saveable per
// namespace). Whoever owns persistence (core/reservation_persistence.h) installs a listener that
// receives the whole state after every change and writes it to the state file when PTPL is on;
// at power-on the registrants, holder, type and generation come back through Import only when PTPL
// was on. Reservation notifications (log page 80h) are not generated.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "nvemu/status.h"

namespace nvemu {

struct HostRef {
  uint16_t cntlid = 0;
  std::array<uint8_t, 16> hostid{};  // all zero: identified by cntlid
  bool SameHost(const HostRef& o) const;
};

// Reservation types (NVMe Base 2.0, Figure 400).
enum class RType : uint8_t {
  kNone = 0,
  kWriteExclusive = 1,
  kExclusiveAccess = 2,
  kWriteExclusiveRegistrantsOnly = 3,
  kExclusiveAccessRegistrantsOnly = 4,
  kWriteExclusiveAllRegistrants = 5,
  kExclusiveAccessAllRegistrants = 6,
};

enum class Access { kRead, kWrite };

// A copy of one namespace's reservation state (what Persist Through Power Loss keeps).
struct ReservationState {
  bool ptpl = false;        // Persist Through Power Loss state (PTPLS)
  int8_t saved_ptpl = -1;   // saved value of feature 83h; -1 = never saved
  uint32_t generation = 0;  // GEN of the Reservation Status data structure
  uint8_t rtype = 0;        // RType; 0 = no reservation
  HostRef holder;
  struct Registrant {
    HostRef host;
    uint64_t key = 0;
  };
  std::vector<Registrant> registrants;
};

class Reservations {
 public:
  static constexpr size_t kMaxRegistrants = 32;

  // NVMe Base 2.0, 8.19.x / Figure 405: Reservation Conflict when `host` may not `access`.
  Status CheckAccess(const HostRef& host, Access access) const;

  Status Register(const HostRef& host, uint8_t rrega, bool iekey, uint8_t cptpl, uint64_t crkey,
                  uint64_t nrkey);
  Status Acquire(const HostRef& host, uint8_t racqa, bool iekey, uint8_t rtype, uint64_t crkey,
                 uint64_t prkey);
  Status Release(const HostRef& host, uint8_t rrela, bool iekey, uint8_t rtype, uint64_t crkey);
  // Fills a Reservation Status data structure (Figure 409/410, `extended` = EDS) into `out`
  // (`len` bytes, zero filled beyond what is reported).
  Status Report(const HostRef& host, bool extended, uint8_t* out, size_t len) const;

  // Persist Through Power Loss (feature 83h / CPTPL). `save` also records it as the feature's
  // saved value (applied at the next power-on).
  bool ptpl() const;
  void SetPtpl(bool on, bool save);
  ReservationState Export() const;
  // Replaces the whole state (power-on restore, Format NVM). At most kMaxRegistrants entries.
  void Import(const ReservationState& state);
  // Called, with the state, after every change (slow path: it may write a file). Set it before
  // I/O can reach the namespace.
  void set_listener(std::function<void(const ReservationState&)> listener);

 private:
  struct Registrant {
    bool used = false;
    HostRef host;
    uint64_t key = 0;
  };
  // Seqlock-published view for CheckAccess.
  struct Published {
    std::atomic<uint32_t> seq{0};
    std::atomic<uint8_t> rtype{0};
    std::atomic<uint16_t> holder_cntlid{0};
    std::atomic<uint64_t> holder_id[2] = {};
    std::atomic<uint32_t> count{0};
    std::atomic<uint16_t> cntlid[kMaxRegistrants] = {};
    std::atomic<uint64_t> id[kMaxRegistrants][2] = {};
  };

  Status RegisterLocked(const HostRef& host, uint8_t rrega, bool iekey, uint64_t crkey,
                        uint64_t nrkey);  // REQUIRES mu_
  Registrant* Find(const HostRef& host);
  const Registrant* Find(const HostRef& host) const;
  bool IsHolder(const HostRef& host) const;
  bool AllRegistrantsType() const;
  void Publish();  // REQUIRES mu_
  // Publish() and then the listener. REQUIRES mu_
  void Changed();
  ReservationState ExportLocked() const;  // REQUIRES mu_

  mutable std::mutex mu_;
  std::array<Registrant, kMaxRegistrants> regs_;           // GUARDED_BY(mu_)
  RType rtype_ = RType::kNone;                             // GUARDED_BY(mu_)
  HostRef holder_;                                         // GUARDED_BY(mu_)
  uint32_t generation_ = 0;                                // GUARDED_BY(mu_)
  bool ptpl_ = false;                                      // GUARDED_BY(mu_)
  int8_t saved_ptpl_ = -1;                                 // GUARDED_BY(mu_)
  std::function<void(const ReservationState&)> listener_;  // GUARDED_BY(mu_)
  Published pub_;
};

}  // namespace nvemu
