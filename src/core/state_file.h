// Controller state that survives a restart (issue #3; DESIGN.md "Persistence"): saved features
// (NVMe Base 2.0, 5.27 Save), firmware slots and images (5.12/5.13), SMART / Health counters
// (5.16.1.3), the namespace table (8.11 namespace management), and whether the last power-off
// followed a shutdown (CC.SHN), so unsafe shutdowns are counted.
//
// Where: ControllerConfig::state_file; by default "<data image>.state.json" next to the first
// file-backed namespace's data image; no file (nothing persists) for RAM/null-only controllers or
// state_file = "none". Format: JSON (one object, see state_file.cc).
//
// Writes are atomic: write "<path>.tmp", fsync it, rename over <path>, fsync the directory. A
// crash leaves either the old or the new file.
//
// Threading: StateStore is thread-safe (one mutex; control path and admin reactor only, never the
// I/O path).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "nvemu/config.h"
#include "nvemu/status.h"
#include "nvm/reservations.h"

namespace nvemu {

// One allocated namespace (attached or not).
struct NamespaceRecord {
  uint32_t nsid = 0;
  uint8_t lbaf = 0;   // FLBAS format index (nvm/namespace.h kLbaFormats)
  uint64_t nsze = 0;  // logical blocks
  BackendKind backend = BackendKind::kRam;
  std::string data_path;  // file backend
  std::string metadata_path;
  // Namespace Attachment (5.20): attached to every controller of the subsystem (the configured
  // namespaces), else to the controllers listed (CNTLIDs, ascending; empty = detached).
  bool attached = true;
  std::vector<uint16_t> controllers;
  bool owned = false;     // image files created by namespace management (removed on delete)
  bool extended = false;  // FLBAS bit 4: metadata transferred at the end of each block
  uint8_t pi_type = 0;    // DPS bits 2:0
  bool pi_first = false;  // DPS bit 3
  std::array<uint8_t, 16> nguid{};
  std::array<uint8_t, 8> eui64{};
  std::array<uint8_t, 16> uuid{};
  uint64_t bytes() const;           // data image
  uint64_t metadata_bytes() const;  // metadata image
};

struct FirmwareSlotRecord {
  std::string revision;        // empty = slot holds no image
  std::vector<uint8_t> image;  // as downloaded (empty for the factory image in slot 1)
};

struct PersistentState {
  bool loaded = false;         // read from an existing file
  bool clean_shutdown = true;  // the last power-off followed a CC.SHN shutdown
  // SMART / Health counters (NVMe Base 2.0, Figure 207).
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_commands = 0;
  uint64_t write_commands = 0;
  uint64_t power_cycles = 0;
  uint64_t power_on_seconds = 0;
  uint64_t unsafe_shutdowns = 0;
  uint64_t media_errors = 0;
  uint64_t error_log_entries = 0;
  uint64_t busy_ns = 0;           // Controller Busy Time
  uint64_t warning_temp_ns = 0;   // Warning Composite Temperature Time
  uint64_t critical_temp_ns = 0;  // Critical Composite Temperature Time
  // Saved features: key = hex of FID | sub-key << 8 (sub-key: temperature threshold selector or
  // interrupt vector), value = the feature's Dword 11 layout.
  std::map<std::string, uint32_t> saved_features;
  // Firmware: slots 1..7 (index 0 = slot 1), active slot, slot activated at the next reset (0 =
  // none).
  std::vector<FirmwareSlotRecord> firmware;
  uint8_t firmware_active = 1;
  uint8_t firmware_next = 0;
  // Namespace table; empty with has_namespaces = false means "build from the configuration".
  bool has_namespaces = false;
  std::vector<NamespaceRecord> namespaces;
  uint64_t namespace_generation = 0;  // makes identifiers of re-created NSIDs unique
  // Reservations (NVMe Base 2.0, 8.19.x Persist Through Power Loss), by NSID: the whole state of
  // a namespace whose PTPL is on; otherwise only PTPL and the saved value of feature 83h.
  std::map<uint32_t, ReservationState> reservations;
};

// The state file a configuration uses ("" = none); see the header comment.
std::string StateFilePath(const ControllerConfig& config);

// Reads `path`; a missing file yields a default state with loaded = false.
Result<PersistentState> LoadStateFile(const std::string& path);
// Writes `state` to `path` atomically (temp file, fsync, rename, fsync of the directory).
Result<void> SaveStateFile(const std::string& path, const PersistentState& state);

class StateStore {
 public:
  explicit StateStore(std::string path) : path_(std::move(path)) {}

  bool enabled() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

  // Loads the file (enabled stores only).
  Result<void> Load();
  PersistentState Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  // Applies `fn` to the state and, when enabled, writes the file. Failures are logged and
  // returned; the in-memory state keeps the change.
  template <typename F>
  Result<void> Update(F&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(state_);
    return SaveLocked();
  }

 private:
  Result<void> SaveLocked();

  const std::string path_;
  mutable std::mutex mu_;
  PersistentState state_;  // GUARDED_BY(mu_)
};

}  // namespace nvemu
