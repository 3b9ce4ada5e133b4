// Controller Busy Time (NVMe Base 2.0, 5.16.1.3, Figure 207): "the amount of time the controller
// is busy with I/O commands", i.e. while at least one I/O command is outstanding (issued through
// the tail doorbell or received, and its completion not yet posted or sent), reported in minutes.
// The PCIe front end counts from the first fetch of a busy stretch until a poll pass leaves every
// SQ fetched (pcie/queues.h), so a stretch that starts with the CQ full or Bus Master Enable off
// starts at its first fetch.
//
// One place for every front end: BusyClock accumulates the union of the busy intervals of all
// sources (a PCIe reactor's queue group, an NVMe/TCP I/O queue); each source keeps a BusyTracker
// that counts its own outstanding commands without atomics and touches the shared BusyClock only on
// its 0 -> 1 and 1 -> 0 transitions, reading the clock there and nowhere else. Under load a source
// stays busy and costs nothing per command; at queue depth 1 it costs two clock reads (vDSO, no
// syscall) and two compare-and-swaps per command.
//
// Threading: BusyClock is lock-free and used from any thread; a BusyTracker belongs to one thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "nvemu/clock.h"

namespace nvemu {

class BusyClock {
 public:
  // A source became busy / idle at `now_ns` (Clock::NowNs). Leave() must follow its Enter().
  void Enter(uint64_t now_ns);
  void Leave(uint64_t now_ns);
  // Busy nanoseconds up to `now_ns`, the interval still open included.
  uint64_t BusyNs(uint64_t now_ns) const;

 private:
  // Bits 15:0: sources busy now; bits 63:16: start of the open interval in microseconds of the
  // clock (2^48 us: 8.9 years of clock time).
  static constexpr uint64_t kCountMask = 0xffff;
  std::atomic<uint64_t> state_{0};
  std::atomic<uint64_t> closed_ns_{0};  // closed intervals
};

// One source's outstanding I/O commands (its owner thread only).
class BusyTracker {
 public:
  // A command became outstanding on this source; the first one marks `busy` busy at `clock`'s now.
  void Begin(BusyClock& busy, const Clock& clock) {
    if (outstanding_++ == 0) {
      busy_ = &busy;
      clock_ = &clock;
      busy.Enter(clock.NowNs());
    }
  }
  // Its completion was posted / sent; the last one marks the source idle.
  void End() {
    if (--outstanding_ == 0) busy_->Leave(clock_->NowNs());
  }
  uint32_t outstanding() const { return outstanding_; }

 private:
  uint32_t outstanding_ = 0;
  BusyClock* busy_ = nullptr;
  const Clock* clock_ = nullptr;
};

}  // namespace nvemu
