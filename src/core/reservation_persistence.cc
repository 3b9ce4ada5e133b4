#include "core/reservation_persistence.h"

#include <spdlog/spdlog.h>

namespace nvemu {
namespace {

// What the state file keeps for a namespace: everything with PTPL on; otherwise PTPL and the saved
// feature value (nothing when neither says anything).
void Save(StateStore& store, uint32_t nsid, const ReservationState& state) {
  auto r = store.Update([&](PersistentState& st) {
    if (state.ptpl) {
      st.reservations[nsid] = state;
    } else if (state.saved_ptpl >= 0) {
      ReservationState kept;
      kept.saved_ptpl = state.saved_ptpl;
      st.reservations[nsid] = kept;
    } else {
      st.reservations.erase(nsid);
    }
  });
  if (!r.ok()) {
    spdlog::error("namespace {}: reservations not persisted: {}", nsid, r.error().message);
  }
}

// The state at power-on (8.19.x): whole when PTPL was on, else released and cleared; PTPL from
// the saved value of feature 83h when there is one.
ReservationState PowerOnState(const ReservationState& saved) {
  ReservationState on = saved.ptpl ? saved : ReservationState{};
  on.saved_ptpl = saved.saved_ptpl;
  on.ptpl = saved.saved_ptpl >= 0 ? saved.saved_ptpl == 1 : saved.ptpl;
  return on;
}

}  // namespace

void BindReservationPersistence(StateStore& store, Namespace& ns, ReservationBinding how) {
  if (!store.enabled()) return;
  const uint32_t nsid = ns.nsid();
  Reservations& res = ns.reservations();
  if (how == ReservationBinding::kRestore) {
    PersistentState st = store.Snapshot();
    auto it = st.reservations.find(nsid);
    if (it != st.reservations.end()) {
      res.Import(PowerOnState(it->second));
      Save(store, nsid, res.Export());  // what survives the next power loss from here on
      spdlog::info("namespace {}: reservations restored (PTPL {}, {} registrants)", nsid,
                   res.ptpl() ? 1 : 0, it->second.ptpl ? it->second.registrants.size() : 0);
    }
  } else if (how == ReservationBinding::kNew) {
    ForgetReservations(store, nsid);
  }
  res.set_listener([&store, nsid](const ReservationState& state) { Save(store, nsid, state); });
}

void ForgetReservations(StateStore& store, uint32_t nsid) {
  if (!store.enabled()) return;
  if (store.Snapshot().reservations.count(nsid) == 0) return;
  (void)store.Update([&](PersistentState& st) { st.reservations.erase(nsid); });
}

}  // namespace nvemu
