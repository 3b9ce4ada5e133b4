// Submission and completion queues in host memory (NVMe Base 2.0, 3.3 Queue Mechanism; NVMe over PCIe
// queue memory: physically contiguous, or described by a PRP list when CAP.CQR is 0).
//
// QueueGroup is the reactor-side engine: a Poller that owns a set of CQs and the SQs bound to them. It
// reads SQ tail doorbells, arbitrates between its SQs, fetches entries, executes them through the
// Controller, posts completions with the phase tag and raises interrupts. A CQ without a free slot
// stops the fetching of its SQs until the host moves the CQ head (its doorbell write wakes the reactor).
//
// Threading: a QueueGroup and its queues are touched only on their reactor's thread. Doorbell values
// arrive through atomics written by the MMIO path.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/reactor.h"
#include "nvemu/command.h"
#include "nvemu/host_memory.h"

namespace nvemu {
class Controller;
}

namespace nvemu::pcie {

class Interrupts;
class ConfigSpace;

// Where a queue's entries live: one contiguous range, or a list of pages (PRP list queues).
struct QueueMemory {
  uint64_t base = 0;            // contiguous queues
  std::vector<uint64_t> pages;  // non-contiguous queues: page addresses
  uint32_t page_size = 4096;
  uint64_t EntryAddress(uint32_t index, uint32_t entry_size) const {
    uint64_t off = static_cast<uint64_t>(index) * entry_size;
    if (pages.empty()) return base + off;
    return pages[off / page_size] + (off % page_size);
  }
};

struct PcieCq;

struct PcieSq {
  uint16_t qid = 0;
  uint32_t size = 0;  // entries
  uint8_t qprio = 0;  // Create I/O SQ QPRIO (used by weighted round robin)
  QueueMemory mem;
  uint32_t head = 0;                         // next entry to fetch
  const std::atomic<uint32_t>* tail_db = nullptr;  // SQ y Tail Doorbell
  PcieCq* cq = nullptr;
};

struct PcieCq {
  uint16_t qid = 0;
  uint32_t size = 0;
  QueueMemory mem;
  bool ien = false;  // interrupts enabled
  uint16_t iv = 0;   // interrupt vector
  uint32_t tail = 0;
  bool phase = true;  // phase tag of the next entry (starts at 1 after creation, 3.3.1.2)
  const std::atomic<uint32_t>* head_db = nullptr;  // CQ y Head Doorbell
  bool irq_pending = false;  // entries posted since the last interrupt
  bool intx_pending = false;  // counted in the INTx source of `iv`
  std::vector<PcieSq*> sqs;

  bool Full() const { return (tail + 1) % size == head_db->load(std::memory_order_acquire); }
};

// Shared services a QueueGroup needs from its device.
struct QueueGroupEnv {
  Controller* controller = nullptr;
  HostMemory* memory = nullptr;
  Interrupts* interrupts = nullptr;
  // INTx bookkeeping: called when a CQ starts or stops having unconsumed entries (legacy path).
  std::function<void(uint16_t vector, bool pending)> intx_source;
  const ConfigSpace* config = nullptr;      // Bus Master Enable, MSI-X Enable
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

  // Per-group counters (reactor thread writes, anyone reads).
  uint64_t commands() const { return commands_.load(std::memory_order_relaxed); }
  uint64_t cq_full_stalls() const { return cq_full_stalls_.load(std::memory_order_relaxed); }

 private:
  uint32_t ServeSq(PcieSq& sq, uint32_t budget);
  bool PostCompletion(PcieCq& cq, Cqe& cqe);
  void RaiseInterrupts();
  void UpdateIntx(PcieCq& cq);

  QueueGroupEnv env_;
  const bool admin_;
  std::vector<PcieCq*> cqs_;
  std::vector<PcieSq*> sqs_;
  size_t rr_next_ = 0;  // round robin position
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> cq_full_stalls_{0};
};

}  // namespace nvemu::pcie
