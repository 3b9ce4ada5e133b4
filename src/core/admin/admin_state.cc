// Lifecycle of the admin command set's state (see admin_state.h): what happens to it at power-on,
// enable, Controller Level Reset, shutdown and power-off, and how it reaches the state file.
#include "core/admin/admin_state.h"

#include <spdlog/spdlog.h>

#include <climits>
#include <cstdint>

#include "core/admin/identify_data.h"
#include "core/controller.h"

namespace nvemu {

void AdminStateInit(Controller& ctrl) {
  AdminState& a = ctrl.admin_state();
  PersistentState st = ctrl.subsystem().state().Snapshot();
  // SMART / Health is the subsystem's, started at its power-on (a subsystem built by hand: now).
  ctrl.subsystem().StartHealth(ctrl.clock().NowNs(), ctrl.config());
  // This controller's Error Information entries continue the subsystem's lifetime count.
  a.errors.set_count(a.health.error_entries());
  for (const auto& [key, value] : st.saved_features) {
    a.features.saved[static_cast<uint32_t>(std::stoul(key, nullptr, 16))] = value;
  }
  // Firmware slots: slot 1 holds the factory image (the configured revision) unless a download
  // replaced it; a pending activation happens now, at power-on.
  FirmwareState& fw = a.firmware;
  fw.slots[0].revision = ctrl.config().firmware_revision;
  for (size_t i = 0; i < st.firmware.size() && i < fw.slots.size(); ++i) {
    if (!st.firmware[i].revision.empty()) {
      fw.slots[i].revision = st.firmware[i].revision;
      fw.slots[i].image = st.firmware[i].image;
    }
  }
  fw.active = st.firmware_active;
  fw.next = st.firmware_next;
  ActivatePendingFirmware(ctrl);
  // Applying feature 04h runs CheckHealth: a configured temperature beyond the threshold, or a
  // spare below its threshold, is a condition from power-on, and its SMART event waits for the
  // host's first Asynchronous Event Request.
  RestoreFeatures(ctrl);
}

void AdminStateOnEnable(Controller& ctrl) {
  // Running again after a shutdown: a power loss from now on is unsafe.
  PersistentState st = ctrl.subsystem().state().Snapshot();
  if (st.clean_shutdown) {
    (void)ctrl.subsystem().state().Update([](PersistentState& s) { s.clean_shutdown = false; });
  }
}

// NVMe Base 2.0, 3.7.2 Controller Level Reset: outstanding commands (AERs) are gone, features
// return to saved or default values, a short self-test is aborted, and firmware chosen for
// activation at the next reset becomes active.
void AdminStateOnReset(Controller& ctrl) {
  ctrl.async_events().DropRequests();
  ctrl.ClearAbortMarkers();  // their commands (and the Aborts waiting on them) are gone
  if (ctrl.admin_state().self_test.operation == NVME_ST_CODE_SHORT) {
    AbortSelfTest(ctrl, NVME_ST_RESULT_CLR);
  }
  ActivatePendingFirmware(ctrl);
  RestoreFeatures(ctrl);
  AdminStatePersist(ctrl);
}

void AdminStateOnShutdown(Controller& ctrl) {
  AdminStatePersist(ctrl);
  (void)ctrl.subsystem().state().Update([](PersistentState& s) { s.clean_shutdown = true; });
}

void AdminStateOnPowerOff(Controller& ctrl) { AdminStatePersist(ctrl); }

// Always updates the subsystem's in-memory state, file or not: a later controller of the same
// subsystem starts from it (every NVMe/TCP association is a new Controller, so without this a
// reset or reconnect would lose firmware slots, saved features and SMART counters).
void AdminStatePersist(Controller& ctrl) {
  StateStore& store = ctrl.subsystem().state();
  AdminState& a = ctrl.admin_state();
  uint64_t now = ctrl.clock().NowNs();
  (void)store.Update([&](PersistentState& st) {
    a.health.Store(&st, now);  // the subsystem's totals (every controller writes the same)
    st.saved_features.clear();
    for (const auto& [key, value] : a.features.saved) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%x", key);
      st.saved_features[buf] = value;
    }
    st.firmware.clear();
    for (const auto& slot : a.firmware.slots) {
      st.firmware.push_back(FirmwareSlotRecord{slot.revision, slot.image});
    }
    st.firmware_active = a.firmware.active;
    st.firmware_next = a.firmware.next;
  });
}

// A condition raises its SMART event when it appears (0 -> 1), not again while it persists.
void CheckHealth(Controller& ctrl) {
  AdminState& a = ctrl.admin_state();
  uint8_t now = a.health.CriticalWarning(a.features.temp_over, a.features.temp_under);
  uint8_t w = now & ~a.warnings_seen;
  a.warnings_seen = now;
  if (w & NVME_SMART_CRIT_TEMPERATURE) {
    ctrl.async_events().Post(
        AsyncEvent{AsyncEventType::kSmartHealth, kAenSmartTemperature, kLogSmartHealth});
  }
  if (w & NVME_SMART_CRIT_SPARE) {
    ctrl.async_events().Post(
        AsyncEvent{AsyncEventType::kSmartHealth, kAenSmartSpare, kLogSmartHealth});
  }
}

void NoteNamespaceChanged(Controller& ctrl, uint32_t nsid) {
  {
    AdminState& a = ctrl.admin_state();
    std::lock_guard<std::mutex> lock(a.changed_mu);
    auto& list = a.changed_namespaces;
    if (std::find(list.begin(), list.end(), nsid) == list.end()) list.push_back(nsid);
  }
  ctrl.async_events().Post(
      AsyncEvent{AsyncEventType::kNotice, kAenNoticeNamespaceChanged, kLogChangedNamespaces});
}

}  // namespace nvemu
