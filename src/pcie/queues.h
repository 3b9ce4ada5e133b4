// Submission and completion queues in host memory (NVMe Base 2.0, 3.3 Queue Mechanism; NVMe over
// PCIe queue memory: physically contiguous, or described by a PRP list when CAP.CQR is 0).
//
// QueueGroup is the reactor-side engine: a Poller that owns a set of CQs and the SQs bound to them.
// One poll pass:
//   1. reads every SQ tail doorbell once (one acquire load per SQ per pass),
//   2. arbitrates between its SQs (pcie/arbitration.h: round robin, or weighted round robin with
//      urgent class when CC.AMS = 001b, weights and burst from feature 01h),
//   3. fetches each entry straight from the ring (mapped once at queue creation), executes it
//      through the Controller and posts its completion with the phase tag,
//   4. raises interrupts per vector, coalesced per feature 08h/09h (pcie/coalescing.h).
// CQ full (3.3.1.3): an SQ is only fetched while its CQ has a free slot for the completion. The
// free-slot count is cached and the CQ head doorbell re-read only when the cache says "full"; a
// full CQ stops its SQs (counted once per stall in cq_full_stalls()), the poll pass reports no
// work, and in notify mode the reactor sleeps until the host's CQ head doorbell write wakes it. No
// completion is dropped or overwritten and nothing spins.
//
// Asynchronous completion (io_uring file backend, nvm/async_slot.h): each I/O SQ has a pool of
// kAsyncSlotsPerSq preallocated AsyncSlots. A command that goes in flight keeps its slot and
// reserves one CQ slot (PcieCq::reserved), so its completion can always be posted, in whatever
// order the backend finishes; the pass that reaps it (engine::IoRing on this reactor) posts the CQE
// with the SQ's current head, and the next poll pass raises the interrupt. With the pool empty a
// command executes synchronously. RemoveSq waits for the SQ's in-flight commands (their CQEs are
// posted before Delete I/O SQ completes); Clear (controller reset) waits and discards them;
// DrainInflight (namespace changes) waits and posts them.
//
// Queue memory: a contiguous ring (or each page of a PRP-list ring) that HostMemory::Map() can map
// is mapped once when the queue is created and used by pointer; the mapping must stay valid until
// the queue is deleted (true of RegionHostMemory; a vfio-user server keeps queue memory mapped
// for the queue's lifetime, as SPDK does). Other rings go through HostMemory::Read/Write.
//
// Threading: a QueueGroup and its queues are touched only on their reactor's thread. Doorbell
// values arrive through atomics written by the MMIO path. Counters may be read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/busy_time.h"
#include "engine/reactor.h"
#include "nvemu/command.h"
#include "nvemu/host_memory.h"
#include "nvm/async_slot.h"
#include "pcie/arbitration.h"
#include "pcie/coalescing.h"
#include "pcie/copy_batch.h"

namespace nvemu {
class Controller;
}

namespace nvemu::pcie {

class Interrupts;
class ConfigSpace;

// Where a queue's entries live: one contiguous range, or a list of pages (PRP list queues).
struct QueueMemory {
  uint64_t base = 0;                // contiguous queues
  uint8_t* host = nullptr;          // contiguous queues: the mapped ring, or nullptr
  std::vector<uint64_t> pages;      // non-contiguous queues: page addresses
  std::vector<uint8_t*> page_ptrs;  // ... and their mappings (empty unless every page mapped)
  uint32_t page_size = 4096;

  uint64_t EntryAddress(uint32_t index, uint32_t entry_size) const {
    uint64_t off = static_cast<uint64_t>(index) * entry_size;
    if (pages.empty()) return base + off;
    return pages[off / page_size] + (off % page_size);
  }
  // Process pointer to entry `index`, or nullptr when the ring is not mapped.
  uint8_t* EntryPointer(uint32_t index, uint32_t entry_size) const {
    uint64_t off = static_cast<uint64_t>(index) * entry_size;
    if (host != nullptr) return host + off;
    if (page_ptrs.empty()) return nullptr;
    return page_ptrs[off / page_size] + (off % page_size);
  }
};

struct PcieCq;
class QueueGroup;

inline constexpr uint32_t kAsyncSlotsPerSq = 128;

// Entries from index `from` to index `to` of a ring of `size` entries (both below `size`),
// without a division.
inline uint32_t RingDistance(uint32_t from, uint32_t to, uint32_t size) {
  return to >= from ? to - from : to + size - from;
}

// Reads a shadow doorbell slot and publishes what it saw as the EventIdx (pcie/shadow_doorbells.h):
// store, full fence, re-read, so that a host update racing with the publication is seen here or
// rings the MMIO doorbell; while the re-read finds a newer value, that one is published in turn
// (a few rounds at most), so the EventIdx ends equal to the value returned unless the host keeps
// writing.
inline uint32_t ReadShadowSlot(const std::atomic<uint32_t>* slot,
                               std::atomic<uint32_t>* event_idx) {
  uint32_t v = slot->load(std::memory_order_acquire);
  for (int round = 0; round < 4; ++round) {
    event_idx->store(v, std::memory_order_release);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint32_t again = slot->load(std::memory_order_acquire);
    if (again == v) break;
    v = again;
  }
  return v;
}

struct PcieSq {
  uint16_t qid = 0;
  uint32_t size = 0;  // entries
  uint8_t qprio = 0;  // Create I/O SQ QPRIO (weighted round robin class)
  QueueMemory mem;
  uint32_t head = 0;                               // next entry to fetch
  uint32_t tail = 0;                               // SQ tail doorbell as read this poll pass
  const std::atomic<uint32_t>* tail_db = nullptr;  // SQ y Tail Doorbell
  std::atomic<uint32_t>* event_idx = nullptr;      // shadow doorbells: EventIdx slot (else null)
  // `head` published for the doorbell checks of the MMIO path, or null. A host learns the head
  // only from SQHD, so it is published just before a completion reports it (PublishHead), not at
  // every fetch: one store per posting batch to a line the MMIO path reads from the host's core.
  std::atomic<uint32_t>* head_pub = nullptr;
  uint32_t head_published = 0;  // value last stored to *head_pub
  void PublishHead() {
    if (head_pub != nullptr && head_published != head) {
      head_pub->store(head, std::memory_order_release);
      head_published = head;
    }
  }
  PcieCq* cq = nullptr;
  // Asynchronous commands (I/O SQs only; reactor thread): the slot pool, its free list (linked
  // through AsyncSlot::user) and the number in flight.
  std::unique_ptr<AsyncSlot[]> async_slots;
  AsyncSlot* async_free = nullptr;
  uint32_t inflight = 0;
  QueueGroup* group = nullptr;
  // Allocates the pool (queue creation, control path).
  void InitAsyncSlots(uint32_t count);
};

struct PcieCq {
  uint16_t qid = 0;
  uint32_t size = 0;
  QueueMemory mem;
  bool ien = false;  // interrupts enabled
  uint16_t iv = 0;   // interrupt vector
  uint32_t tail = 0;
  // `tail` published for the doorbell checks of the MMIO path (before the entry's phase tag is
  // written, so a host never consumes an entry the check does not know of), or null.
  std::atomic<uint32_t>* tail_pub = nullptr;
  bool phase = true;  // phase tag of the next entry (starts at 1 after creation, 3.3.1.2)
  const std::atomic<uint32_t>* head_db = nullptr;  // CQ y Head Doorbell
  std::atomic<uint32_t>* event_idx = nullptr;      // shadow doorbells: EventIdx slot (else null)
  uint32_t head = 0;                               // CQ head doorbell as last read
  uint32_t free = 0;                               // free slots as of `head` (size - 1 when empty)
  bool stalled = false;                            // full: its SQs are not fetched
  uint32_t reserved = 0;                           // slots held for in-flight commands
  uint32_t vector_slot = 0;                        // InterruptAggregator slot (when ien)
  bool intx_pending = false;                       // counted in the INTx source of `iv`
  std::vector<PcieSq*> sqs;

  // Shadow doorbells (pcie/shadow_doorbells.h): publishes the EventIdx, re-reads the shadow head.
  uint32_t ReadShadowHead() const {
    const uint32_t h = ReadShadowSlot(head_db, event_idx);
    return h < size ? h : head;
  }
  // Re-reads the CQ head doorbell; returns the free slots.
  uint32_t RefreshFree() {
    head = event_idx ? ReadShadowHead() : head_db->load(std::memory_order_acquire);
    free = (head + size - tail - 1) % size;
    return free;
  }
};

// Shared services a QueueGroup needs from its device.
struct QueueGroupEnv {
  Controller* controller = nullptr;
  HostMemory* memory = nullptr;
  Interrupts* interrupts = nullptr;
  // INTx bookkeeping: called when a CQ starts or stops having unconsumed entries (legacy path).
  std::function<void(uint16_t vector, bool pending)> intx_source;
  const ConfigSpace* config = nullptr;     // Bus Master Enable, MSI-X Enable
  std::function<void(const char*)> fatal;  // sets CSTS.CFS (control path, rare)
};

class QueueGroup final : public engine::Poller {
 public:
  QueueGroup(QueueGroupEnv env, bool admin) : env_(std::move(env)), admin_(admin) {}

  // On the reactor thread (or before it runs).
  void AddCq(PcieCq* cq);
  void AddSq(PcieSq* sq);
  void RemoveSq(PcieSq* sq);
  void RemoveCq(PcieCq* cq);
  void Clear();
  bool Empty() const { return cqs_.empty(); }

  uint32_t Poll(uint32_t budget) override;
  uint64_t TimeoutNs() override;

  // Reactor thread: waits until no command of this group is in flight, posting their completions.
  void DrainInflight();
  // AsyncSlot::complete of the I/O SQs' slots (reactor thread).
  static void OnAsyncComplete(AsyncSlot* slot, Status st);

  // Admin group, reactor thread: posts the completion of a deferred command (Asynchronous Event
  // Request, Abort) to CQ 0 now, or as soon as CQ 0 has a free slot.
  void PostDeferred(const Cqe& cqe);

  // Per-group counters (reactor thread writes, anyone reads).
  uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }
  uint64_t cq_full_stalls() const { return cq_full_stalls_.load(std::memory_order_relaxed); }
  uint64_t interrupts_signalled() const { return irqs_.load(std::memory_order_relaxed); }
  // Data copies that ran through the copy batch (pcie/copy_batch.h) rather than inline.
  uint64_t copies_batched() const { return copies_batched_.load(std::memory_order_relaxed); }

 private:
  uint32_t ServeSq(PcieSq& sq, uint32_t max);
  bool FetchEntry(PcieSq& sq, Sqe* sqe);
  // Asks the Controller to prefetch the data of the SQ entry `ahead` entries after the head.
  void PrefetchCommandData(const PcieSq& sq, uint32_t ahead);
  void FlushDeferred();
  // Asynchronous completions and waiting for them.
  void CompleteAsync(PcieSq& sq, AsyncSlot* slot, Status st);
  void WaitInflight(PcieSq& sq);
  bool PostCompletion(PcieCq& cq, const Cqe& cqe, bool publish_tail = true);
  // Runs the copy batch, then posts the completions held for it (their phase tag is set here).
  bool FlushCopies(PcieSq& sq);
  // Every SQ fetched up to the tail this pass read (Controller Busy Time, Poll).
  bool AllSqsFetched() const;
  void EndPassBusy();
  void PrefetchAroundCopies(const PcieSq& sq, uint32_t held);
  void PrefetchQueuedEntries(const PcieSq& sq);
  void RaiseInterrupts();
  void UpdateIntx(PcieCq& cq);
  CoalescingParams Coalescing() const;

  QueueGroupEnv env_;
  const bool admin_;
  std::vector<PcieCq*> cqs_;
  std::vector<PcieSq*> sqs_;
  Arbiter arbiter_;
  InterruptAggregator aggregator_;
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> cq_full_stalls_{0};
  std::atomic<uint64_t> irqs_{0};
  std::atomic<uint64_t> copies_batched_{0};
  // SMART Controller Busy Time (core/busy_time.h), I/O groups: one reference from the first
  // poll pass that fetched commands until a pass leaves every SQ fetched (pass_busy_;
  // synchronous commands complete within a pass), plus one per command in flight, so the clock
  // is read when the group turns busy or idle, not per command or per pass.
  BusyTracker busy_;
  bool pass_busy_ = false;
  // I/O groups: the data copies of the SQ being served (pcie/copy_batch.h) and the completions
  // of the commands that queued them, posted once the batch has run. Each such command queued at
  // least one copy, so CopyBatch::kCapacity completions always fit.
  CopyBatch copies_;
  std::array<Cqe, CopyBatch::kCapacity> held_{};
  uint32_t held_count_ = 0;
  std::vector<Cqe> deferred_;   // admin: deferred completions waiting for a CQ 0 slot
  bool discard_async_ = false;  // Clear(): in-flight completions are dropped, not posted
};

}  // namespace nvemu::pcie
