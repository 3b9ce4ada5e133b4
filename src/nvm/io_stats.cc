// IoStats writer slots (nvm/io_stats.h): claimed on a thread's first count, released at its exit.
#include "nvm/io_stats.h"

namespace nvemu::io_stats_internal {
namespace {

// claimed[i]: some live thread owns writer slot i.
std::atomic<bool> g_claimed[kWriterSlots];

// Releases the thread's slot when the thread exits. Release pairs with the next owner's acquire
// claim: the exited owner's stores happen before the new owner's loads of the same counters.
struct SlotReleaser {
  unsigned slot = kUnclaimed;
  ~SlotReleaser() {
    // Counts made later in this thread's exit (other thread_local destructors) go to the shared
    // overflow shard, not to a slot another thread may own by then.
    t_slot = kWriterSlots;
    if (slot < kWriterSlots) g_claimed[slot].store(false, std::memory_order_release);
  }
};

}  // namespace

unsigned ClaimSlot() {
  thread_local SlotReleaser releaser;
  unsigned slot = kWriterSlots;  // the overflow shard unless a slot is free
  for (unsigned i = 0; i < kWriterSlots; ++i) {
    bool expected = false;
    if (!g_claimed[i].load(std::memory_order_relaxed) &&
        g_claimed[i].compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      slot = i;
      break;
    }
  }
  releaser.slot = slot;
  t_slot = slot;
  return slot;
}

}  // namespace nvemu::io_stats_internal
