// Interrupt coalescing for the MSI-X vectors of one QueueGroup (NVMe Base 2.0, 5.27.1.9 Interrupt
// Coalescing, 5.27.1.10 Interrupt Vector Configuration).
//
// Feature 08h gives an aggregation threshold THR (0's based: a vector fires once THR+1 completion
// entries are pending) and an aggregation time TIME (100 us units: the longest a pending entry may
// wait). A vector fires when either is reached. TIME = 0 means no delay, so THR = 0 or TIME = 0
// both mean "interrupt at once". Feature 09h CD disables coalescing for one vector. Completions of
// the Admin Completion Queue are never coalesced (5.27.1.9); the admin QueueGroup does not use it.
//
// Without coalescing a vector still fires at most once per poll pass: the entries posted in one
// pass share one message (the natural batching of a polled device).
//
// Scope: the aggregation is counted per QueueGroup (per reactor). Several CQs on one vector that
// live on different reactors aggregate separately; the usual one-vector-per-CQ setup is exact.
//
// Threading: the reactor thread only; no locks, no allocation outside Attach().
#pragma once

#include <cstdint>
#include <vector>

#include "spec/function_ref.h"

namespace nvemu::pcie {

struct CoalescingParams {
  uint32_t threshold = 1;  // entries that fire the vector (THR + 1)
  uint64_t time_ns = 0;    // longest delay (TIME * 100 us)
  bool active() const { return threshold > 1 && time_ns > 0; }
};
CoalescingParams DecodeCoalescing(uint32_t dw11);

class InterruptAggregator {
 public:
  // Control path: a CQ with interrupts enabled on vector `iv` joins / leaves the group. Attach
  // returns the vector's slot, which stays valid until its last CQ detaches.
  uint32_t Attach(uint16_t iv);
  void Detach(uint32_t slot);
  void Clear();

  // Hot path: one completion entry was posted on the vector of `slot`.
  void Posted(uint32_t slot) {
    if (slots_[slot].pending++ == 0) ++pending_vectors_;
  }
  bool HasPending() const { return pending_vectors_ != 0; }

  // After a poll pass: fires every vector whose aggregation is complete through `signal(iv)`.
  // `disabled(iv)` is feature 09h CD; `now()` is read at most once, and only when a vector waits.
  void Flush(const CoalescingParams& params, FunctionRef<bool(uint16_t)> disabled,
             FunctionRef<uint64_t()> now, FunctionRef<void(uint16_t)> signal);
  // Nanoseconds until the earliest waiting vector is due (0 if one is overdue), or UINT64_MAX.
  uint64_t TimeoutNs(const CoalescingParams& params, uint64_t now_ns) const;
  // Forgets pending entries (INTx mode, which is level triggered and never coalesced).
  void DropPending();

  // Counters (reactor thread): messages sent, and entries that reached the host through them.
  uint64_t signals() const { return signals_; }

 private:
  struct Slot {
    uint16_t iv = 0;
    uint32_t refs = 0;      // CQs using it (0 = free slot)
    uint32_t pending = 0;   // entries posted since the last message
    bool waiting = false;   // coalesced: `since_ns` is valid
    uint64_t since_ns = 0;  // when the pending entries were first seen waiting
  };
  std::vector<Slot> slots_;
  uint32_t pending_vectors_ = 0;
  uint64_t signals_ = 0;
};

}  // namespace nvemu::pcie
