#include "core/busy_time.h"

namespace nvemu {

void BusyClock::Enter(uint64_t now_ns) {
  uint64_t old = state_.load(std::memory_order_acquire);
  uint64_t next;
  do {
    // The first busy source opens an interval; the others only count.
    next = (old & kCountMask) == 0 ? (now_ns / 1000) << 16 | 1 : old + 1;
  } while (!state_.compare_exchange_weak(old, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
}

void BusyClock::Leave(uint64_t now_ns) {
  uint64_t old = state_.load(std::memory_order_acquire);
  uint64_t next;
  do {
    next = (old & kCountMask) == 1 ? 0 : old - 1;
  } while (!state_.compare_exchange_weak(old, next, std::memory_order_acq_rel,
                                         std::memory_order_acquire));
  if ((old & kCountMask) != 1) return;
  // The last busy source closes the interval.
  const uint64_t start_ns = (old >> 16) * 1000;
  if (now_ns > start_ns) closed_ns_.fetch_add(now_ns - start_ns, std::memory_order_relaxed);
}

uint64_t BusyClock::BusyNs(uint64_t now_ns) const {
  uint64_t closed = closed_ns_.load(std::memory_order_relaxed);
  uint64_t s = state_.load(std::memory_order_acquire);
  if ((s & kCountMask) == 0) return closed;
  const uint64_t start_ns = (s >> 16) * 1000;
  return closed + (now_ns > start_ns ? now_ns - start_ns : 0);
}

}  // namespace nvemu
