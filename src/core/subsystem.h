// Subsystem: an NVM subsystem (NVMe Base 2.0, 2.2): an NQN, the namespaces, and the controllers
// that share them. A PCIe device has one subsystem with one controller; an NVMe over Fabrics target
// has several subsystems whose controllers are created by Connect.
//
// Namespaces (issue #3): the subsystem owns every allocated namespace (Namespace Management, 8.11)
// and the attachment of each to controllers (Namespace Attachment, 5.20 / 8.12): a namespace is
// attached to every controller (`NamespaceRecord::attached`, the configured namespaces) or to an
// explicit set of CNTLIDs. Each registered controller gets its own immutable NamespaceTable of the
// namespaces attached to it (its active namespaces), published through an atomic pointer the
// controller owns and its I/O path loads once per command. A change (create/delete/attach/detach/
// format) builds new tables, publishes them, then quiesces every registered controller (each front
// end returns once its reactors finished the commands they were running) before it frees the old
// tables and any namespace no longer referenced. No lock on the I/O path; changes are serialized
// by `mu_` (admin reactors / control path only).
//
// Persistence: the subsystem owns the StateStore (core/state_file.h); the namespace table is saved
// there after every change and rebuilt from it at start.
//
// SMART / Health (NVMe Base 2.0, 5.16.1.3): one Health per NVM subsystem, shared by all of its
// controllers (as the Linux target sums the subsystem's namespaces): the I/O counters, busy time,
// power-on time, temperature, spare, media errors and error log entries of every controller add up
// in it, and the log page of any controller (NSID 0h / FFFFFFFFh) reports the subsystem's totals.
// It is restored from the state file once, at power-on, and every controller's store writes the
// same totals, so two live controllers lose no counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "core/smart.h"
#include "core/state_file.h"
#include "nvemu/clock.h"
#include "nvemu/config.h"
#include "nvm/namespace.h"

namespace nvemu {

class Subsystem {
 public:
  // RAM namespaces, no state file (tests, fabrics subsystems built by hand). NN = max(16, count).
  Subsystem(std::string nqn, std::vector<std::unique_ptr<Namespace>> namespaces);
  ~Subsystem();

  // Builds the subsystem of `config`: loads its state file (if any), counts the power cycle and an
  // unsafe shutdown, opens the namespaces of the saved table, or of `config` on first use, and
  // starts the SMART / Health state at `clock`'s now (power-on).
  static Result<std::unique_ptr<Subsystem>> Create(const ControllerConfig& config,
                                                   const Clock& clock);

  const std::string& nqn() const { return nqn_; }
  uint32_t nn() const { return max_nsid_; }
  // Flushes every allocated namespace's backend; returns false if any failed (logged).
  bool FlushAll();

  // ---- Namespace management (admin reactor; serialized internally). NVMe statuses. ----
  // Allocated namespace `nsid` (attached or not), or null.
  Namespace* GetAllocated(uint32_t nsid) const;
  bool IsAllocated(uint32_t nsid) const { return GetAllocated(nsid) != nullptr; }
  // Whether `nsid` is attached to controller `cntlid`.
  bool IsAttached(uint32_t nsid, uint16_t cntlid) const;
  // The controllers `nsid` is attached to (CNS 12h): every registered controller when attached to
  // all, else the CNTLIDs of its attachment set. Empty when unallocated or detached.
  std::vector<uint16_t> AttachedControllers(uint32_t nsid) const;
  uint64_t capacity() const { return capacity_; }  // TNVMCAP (bytes)
  uint64_t allocated_bytes() const;                // TNVMCAP - UNVMCAP
  // NVMe Base 2.0, 5.21: a namespace of `nsze` blocks in LBA format `lbaf`, not attached.
  Status CreateNamespace(uint8_t lbaf, const NamespaceFormat& format, uint64_t nsze,
                         uint32_t* nsid);
  Status DeleteNamespace(uint32_t nsid);
  // 5.20: attaches (true) or detaches (false) `nsid` to/from the controllers in `ids`. Every ID
  // must be a registered controller, once (else Controller List Invalid); attaching a controller
  // already attached fails with Namespace Already Attached, detaching one that is not with
  // Namespace Not Attached; nothing changes on failure. On success the namespace-changed hook of
  // every listed controller runs (Changed Namespace List + notice).
  Status SetAttached(uint32_t nsid, bool attached, std::span<const uint16_t> ids);
  // 5.14: switches namespace `nsid` to LBA format `lbaf` (and metadata/PI settings); ses = 1
  // erases the user data. The data image is kept (reinterpreted) unless erased; a new metadata
  // size recreates the metadata image.
  Status Format(uint32_t nsid, uint8_t lbaf, const NamespaceFormat& format, uint8_t ses);

  // A registered controller: `table` receives its active-namespace tables (the subsystem replaces
  // and frees them while registered; the controller frees the last one after RemoveController),
  // `quiesce_io` waits until no I/O command that loaded an older table still executes, and
  // `namespace_changed(nsid)` records an attached namespace's change (Changed Namespace List,
  // Namespace Attribute Changed notice). The hooks run with an internal lock held on the thread
  // making the change: they must not call AddController/RemoveController.
  struct ControllerHooks {
    std::atomic<const NamespaceTable*>* table = nullptr;
    std::function<void()> quiesce_io;
    std::function<void(uint32_t nsid)> namespace_changed;
  };
  // Registers `cntlid` and publishes its first table.
  void AddController(uint16_t cntlid, ControllerHooks hooks);
  void RemoveController(uint16_t cntlid);
  std::vector<uint16_t> ControllerIds() const;

  StateStore& state() { return *state_; }

  // SMART / Health of the subsystem (see the header comment). Any thread.
  Health& health() { return health_; }
  // Restores it from the state file, configures Percentage Used (ControllerConfig::endurance_bytes,
  // 0 = 1000 x the NVM capacity) and sets the configured composite temperature and available
  // spare, once: Create() does, a subsystem built by hand does it at its first controller. Later
  // calls do nothing.
  void StartHealth(uint64_t now_ns, const ControllerConfig& config);

  // Dynamic controller IDs (NVMe Base 2.0, 5.21.1 Connect: 0001h..FFEFh). 0 when exhausted.
  uint16_t AllocateCntlid();
  void ReleaseCntlid(uint16_t cntlid);

 private:
  struct Entry {
    std::unique_ptr<Namespace> ns;
    NamespaceRecord record;
  };
  Subsystem(std::string nqn, uint32_t max_nsid, std::unique_ptr<StateStore> state);
  // Publishes each controller's table of attached namespaces, quiesces every controller, frees the
  // old tables and `retired` namespaces. REQUIRES: mu_ held.
  void PublishLocked(std::vector<std::unique_ptr<Namespace>> retired = {});
  // The table of namespaces attached to `cntlid`. REQUIRES: mu_ held.
  std::unique_ptr<NamespaceTable> BuildTableLocked(uint16_t cntlid) const;
  bool AttachedLocked(const NamespaceRecord& r, uint16_t cntlid) const;
  // Runs the namespace-changed hook of each controller in `ids`. REQUIRES: ctrl_mu_ not held.
  void NotifyChanged(uint32_t nsid, const std::vector<uint16_t>& ids);
  void SaveTableLocked();
  Result<std::unique_ptr<Namespace>> OpenRecord(const NamespaceRecord& r) const;
  Result<std::unique_ptr<Backend>> OpenBackend(const NamespaceRecord& r) const;

  const std::string nqn_;
  std::string serial_;
  uint32_t max_nsid_ = 0;
  uint64_t capacity_ = 0;
  BackendKind create_kind_ = BackendKind::kRam;  // backend of namespaces created by management
  // File I/O options of the configuration (NamespaceConfig::direct_io / io_uring of namespace 1):
  // applied to every file-backed namespace, also those reopened from the state file's records.
  bool file_direct_ = false;
  bool file_io_uring_ = false;
  std::string create_prefix_;  // their image path prefix (file backend)
  std::unique_ptr<StateStore> state_;
  Health health_;
  std::once_flag health_once_;

  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // GUARDED_BY(mu_) (pointers read by admin threads), by NSID - 1

  // Hooks run with ctrl_mu_ held: a hook must not wait for a thread that may be blocked in
  // AddController/RemoveController. Lock order: mu_, then ctrl_mu_.
  mutable std::mutex ctrl_mu_;
  std::map<uint16_t, ControllerHooks> controllers_;  // GUARDED_BY(ctrl_mu_)

  std::mutex cntlid_mu_;
  std::set<uint16_t> cntlids_;  // GUARDED_BY(cntlid_mu_)
  uint16_t next_cntlid_ = 1;    // GUARDED_BY(cntlid_mu_)
};

}  // namespace nvemu
