// Shadow doorbells (NVMe Base 2.0, 5.11 Doorbell Buffer Config; as Linux uses in VMs).
//
// After Doorbell Buffer Config the host writes each I/O queue's SQ tail / CQ head into the Shadow
// Doorbell buffer (host memory, laid out like the doorbell registers: queue y's SQ tail at 2y *
// stride, CQ head at (2y + 1) * stride) and rings the MMIO doorbell only when the new value passes
// the EventIdx the controller published (Linux nvme_dbbuf_update_and_check_event). The controller
// therefore reads the shadow slot instead of the doorbell page (a queue's tail_db / head_db point
// into the shadow buffer) and, every time it reads one, publishes the value it has seen as the
// EventIdx, then reads the shadow again: a host update that raced with the publication is either
// seen by that second read or rings the MMIO doorbell (which wakes the reactor). A newer value
// seen by the re-read is published too (ReadShadowSlot), so the EventIdx does not lag the tail
// or head the controller acts on.
// The admin queue keeps its MMIO doorbells (Linux does not shadow queue 0).
//
// Threading: these run on the reactor that owns the queue.
#pragma once

#include <atomic>
#include <cstdint>

#include "pcie/queues.h"

namespace nvemu::pcie {

// Tail of a shadowed SQ; an out-of-range shadow value is ignored (the old tail stays).
inline uint32_t ReadShadowTail(const PcieSq& sq) {
  const uint32_t t = ReadShadowSlot(sq.tail_db, sq.event_idx);
  return t < sq.size ? t : sq.tail;
}

// The CQ side is PcieCq::ReadShadowHead (pcie/queues.h), used by PcieCq::RefreshFree.

}  // namespace nvemu::pcie
