// AdminState: the state behind the admin command set (issue #3) that the Controller owns: error
// log, SMART / Health, feature values and saved values, firmware slots, device self-test, the
// Changed Namespace List, abort markers. Each group is documented where it is used:
// features.cc, log_page.cc, firmware.cc, self_test.cc, abort.cc, ns_mgmt.cc.
//
// Threading: admin reactor unless a member says otherwise (ErrorLog, Health and the abort
// markers are thread-safe).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/error_log.h"
#include "core/smart.h"

namespace nvemu {

class Controller;

// Feature values kept here (VWC, Number of Queues, Arbitration, Interrupt Coalescing and the
// per-vector Coalescing Disable live on the Controller, where other code reads them).
struct FeatureState {
  static constexpr uint16_t kDefaultOverTemp = 343;  // = WCTEMP (Kelvin)
  uint32_t power_management = 0;                     // 02h: PS[4:0], WH[7:5]
  uint16_t temp_over = kDefaultOverTemp;             // 04h composite over threshold
  uint16_t temp_under = 0;                           // 04h composite under threshold
  uint32_t error_recovery = 0;                       // 05h: TLER[15:0]
  uint32_t write_atomicity = 0;                      // 0Ah: DN
  uint32_t kato_ms = 0;                              // 0Fh (rounded to KAS)
  // 0Eh Timestamp: host value (ms) and when it was set; origin 001b once set.
  bool timestamp_set = false;
  uint64_t timestamp_ms = 0;
  uint64_t timestamp_set_ns = 0;
  // 81h Host Identifier and whether it was set as 128 bits.
  std::array<uint8_t, 16> host_id{};
  bool host_id_extended = false;
  // Saved values (SV = 1), key = FID | sub-key << 8; persisted.
  std::map<uint32_t, uint32_t> saved;
};

// Firmware slots 1..7 and the image being downloaded (firmware.cc).
struct FirmwareState {
  struct Slot {
    std::string revision;  // empty = no image
    std::vector<uint8_t> image;
  };
  std::array<Slot, 7> slots;
  uint8_t active = 1;             // AFI bits 2:0
  uint8_t next = 0;               // AFI bits 6:4: activated at the next reset (0 = none)
  std::vector<uint8_t> download;  // reassembled pieces
  std::vector<std::pair<uint64_t, uint64_t>> received;  // [offset, end) of each piece
};

// Device self-test (self_test.cc): the operation in progress and the last 20 results.
struct SelfTestState {
  uint8_t operation = 0;  // 0 none, 1 short, 2 extended
  uint32_t nsid = 0;
  uint64_t start_ns = 0;
  uint64_t duration_ns = 0;
  std::vector<nvme_st_result> results;  // newest first, at most 20
};

// A command an Abort asked to abort that was still in its SQ (abort.cc).
struct AbortMarker {
  uint16_t sqid;
  uint16_t cid;        // the command to abort
  uint16_t abort_cid;  // the Abort command, completed when the marker is used
};

struct AdminState {
  explicit AdminState(Health& h) : health(h) {}
  ErrorLog errors;
  Health& health;  // the subsystem's (Subsystem::health)
  FeatureState features;
  FirmwareState firmware;
  SelfTestState self_test;
  // Changed Namespace List (log 04h): NSIDs changed since the log was last read. Written by the
  // thread that changes a namespace (any controller's admin reactor), hence the mutex.
  std::mutex changed_mu;
  std::vector<uint32_t> changed_namespaces;  // GUARDED_BY(changed_mu)
  uint64_t last_keep_alive_ns = 0;
  // Critical warning bits already reported: SMART events are edge triggered (CheckHealth).
  uint8_t warnings_seen = 0;

  std::mutex abort_mu;
  std::vector<AbortMarker> abort_markers;  // GUARDED_BY(abort_mu)
};

// Lifecycle hooks the Controller calls (admin_state.cc).
void AdminStateInit(Controller& ctrl);        // construction: restore persisted state
void AdminStateOnEnable(Controller& ctrl);    // CC.EN 0 -> 1
void AdminStateOnReset(Controller& ctrl);     // Controller Level Reset (CC.EN 1 -> 0)
void AdminStateOnShutdown(Controller& ctrl);  // CC.SHN shutdown complete
void AdminStateOnPowerOff(Controller& ctrl);  // process exit / power off
void AdminStatePersist(Controller& ctrl);     // to the subsystem state (and its file, if any)
// Features back to saved or default values (power-on and Controller Level Reset, 5.27).
void RestoreFeatures(Controller& ctrl);
// Health check after a temperature, threshold or spare change: posts SMART events.
void CheckHealth(Controller& ctrl);
// Activates the firmware slot chosen for the next reset, if any (firmware.cc).
void ActivatePendingFirmware(Controller& ctrl);
// Completes (or aborts) a device self-test whose time has come (self_test.cc).
void UpdateSelfTest(Controller& ctrl);
void AbortSelfTest(Controller& ctrl, uint8_t result);
// Adds `nsid` to the Changed Namespace List and posts the Namespace Attribute Changed notice. The
// subsystem calls it (through the controller's hook) for each controller a change affects; any
// thread.
void NoteNamespaceChanged(Controller& ctrl, uint32_t nsid);

}  // namespace nvemu
