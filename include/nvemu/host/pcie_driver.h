// PcieDriver: an in-process NVMe host driver for nvemu's PCIe model, doing what an OS driver does:
// PCI enumeration (memory space, bus master, MSI-X table), controller bring-up (NVMe
// Base 2.0, 3.5.1), admin commands, I/O queue pairs, phase-tag completion handling, interrupts or
// polling.
//
// Tests, `nvemu demo`, `nvemu identify` and `nvemu perf` use it end to end.
//
// Threading: the driver's admin methods may be called from any thread (serialized internally). An
// IoQueue is used by one host thread at a time. The device's reactors run on their own threads.
#pragma once

#include <nvme/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "nvemu/clock.h"
#include "nvemu/command.h"
#include "nvemu/config.h"
#include "nvemu/host/dma.h"
#include "nvemu/interrupt_sink.h"
#include "nvemu/pcie_device.h"
#include "nvemu/status.h"

namespace nvemu::host {

enum class InterruptMode {
  kMsix,  // one MSI-X vector per queue (the admin queue uses vector 0)
  kIntx,  // MSI-X disabled: pin-based interrupt, every CQ on vector 0
  kNone,  // CQs created with interrupts disabled; completions found by polling phase tags
};

struct DriverOptions {
  ControllerConfig controller;         // the in-process device to create
  size_t dma_bytes = 64ull << 20;      // host memory arena
  uint64_t dma_base = 0x10'0000'0000;  // its device-visible address
  uint16_t admin_entries = 32;
  InterruptMode interrupts = InterruptMode::kMsix;
  uint8_t mps = 0;  // CC.MPS: memory page size 2^(12+MPS)
  uint8_t ams = 0;  // CC.AMS: 0 round robin, 1 weighted round robin with urgent priority class
  std::chrono::milliseconds command_timeout{10000};
  const Clock* clock = nullptr;  // the device's clock (outlives the driver); null: system clock
};

// Counts interrupts per vector and wakes waiters. Installed as the device's InterruptSink.
class InterruptCounter final : public InterruptSink {
 public:
  explicit InterruptCounter(size_t vectors) : counts_(vectors) {}
  void Msi(uint64_t addr, uint32_t data) override;
  void Intx(bool asserted) override;
  uint64_t count(uint16_t vector) const { return counts_[vector].load(std::memory_order_acquire); }
  bool intx_asserted() const { return intx_.load(); }
  // Waits until count(vector) differs from `seen` or the timeout passes.
  void WaitFor(uint16_t vector, uint64_t seen, std::chrono::microseconds timeout);

 private:
  std::vector<std::atomic<uint64_t>> counts_;
  std::atomic<bool> intx_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// A submission/completion queue pair in host memory (also used for the admin queue, qid 0).
class IoQueue {
 public:
  uint16_t qid() const { return qid_; }
  uint32_t entries() const { return entries_; }
  uint16_t vector() const { return vector_; }
  // Commands submitted and not yet reaped.
  uint32_t outstanding() const { return outstanding_; }

  // Places `sqe` in the next SQ slot with a free CID and, when `ring`, writes the SQ tail doorbell.
  // With `data`, PRP1/PRP2 describe `len` bytes of it from `offset` (a PRP list is built in a list
  // page owned by the CID when more than two pages are needed). Fails when the queue is full
  // (entries - 1 commands outstanding). Returns the CID.
  Result<uint16_t> Submit(const Sqe& sqe, const DmaBuffer* data = nullptr, size_t len = 0,
                          size_t offset = 0, bool ring = true);
  // Writes the SQ tail doorbell for commands placed with ring = false.
  void Ring();
  // Consumes every completion whose phase tag is current (at most `max`), writes the CQ head
  // doorbell once, and passes each entry to `fn`. Non-blocking; returns how many it reaped.
  template <typename F>
  size_t Reap(F&& fn, size_t max = SIZE_MAX) {
    size_t n = 0;
    Cqe cqe;
    while (n < max && PeekCompletion(&cqe)) {
      ConsumeCompletion(cqe);
      fn(cqe);
      ++n;
    }
    if (n) RingCqHead();
    return n;
  }
  // True when the next CQ entry's phase tag is current (a completion is waiting); consumes nothing.
  bool HasCompletion() {
    Cqe cqe;
    return PeekCompletion(&cqe);
  }
  // Waits for the completion of `cid` (other completions reaped meanwhile are kept for their
  // waiters).
  Result<Cqe> Wait(uint16_t cid, std::chrono::milliseconds timeout);
  // Submit + Wait.
  Result<Cqe> Execute(const Sqe& sqe, std::chrono::milliseconds timeout,
                      const DmaBuffer* data = nullptr, size_t len = 0, size_t offset = 0);

  ~IoQueue();

 private:
  friend class PcieDriver;
  IoQueue(PcieDevice& dev, DmaArena& dma, InterruptCounter* irq, uint32_t page_size, uint16_t qid,
          uint32_t entries, uint16_t vector, uint32_t db_stride);
  Result<void> Allocate(bool contiguous);
  // Ring slots (inline: the polling loop calls them per command). Page sizes are powers of two.
  uint8_t* SqSlot(uint32_t i) {
    const size_t off = size_t{i} * 64;
    return contiguous_ ? sq_mem_.ptr + off
                       : sq_pages_[off >> page_shift_].ptr + (off & (page_size_ - 1));
  }
  uint8_t* CqSlot(uint32_t i) {
    const size_t off = size_t{i} * 16;
    return contiguous_ ? cq_mem_.ptr + off
                       : cq_pages_[off >> page_shift_].ptr + (off & (page_size_ - 1));
  }
  bool PeekCompletion(Cqe* cqe);
  void ConsumeCompletion(const Cqe& cqe);
  Result<void> SetPrps(Sqe& sqe, uint16_t cid, const DmaBuffer& buf, size_t len, size_t offset);
  void RingCqHead();

  PcieDevice& dev_;
  DmaArena& dma_;
  InterruptCounter* irq_;
  const uint32_t page_size_;
  const uint32_t page_shift_;  // log2(page_size_)
  const uint16_t qid_;
  const uint32_t entries_;
  const uint16_t vector_;
  const uint32_t db_stride_;

  bool contiguous_ = true;
  DmaBuffer sq_mem_, cq_mem_;            // contiguous queues
  DmaBuffer sq_prp_list_, cq_prp_list_;  // non-contiguous queues: their PRP lists
  std::vector<DmaBuffer> sq_pages_, cq_pages_;
  std::vector<DmaBuffer> cid_prp_lists_;  // per CID, allocated on first need
  std::vector<uint16_t> free_cids_;
  uint32_t sq_tail_ = 0;
  uint32_t cq_head_ = 0;
  bool phase_ = true;
  uint32_t outstanding_ = 0;
  std::map<uint16_t, Cqe> done_;  // completions reaped while waiting for another CID
};

class PcieDriver {
 public:
  // Creates the in-process device and the host memory, and enumerates the PCI function (memory
  // space, bus master, MSI-X or INTx). The controller is not enabled yet.
  static Result<std::unique_ptr<PcieDriver>> Create(const DriverOptions& options);
  ~PcieDriver();

  // NVMe Base 2.0, 3.5.1 controller initialization: disable (wait RDY=0), program AQA/ASQ/ACQ,
  // write CC (EN=1, IOSQES=6, IOCQES=4, MPS), wait RDY=1. Fails on CSTS.CFS or a timeout (CAP.TO).
  Result<void> Enable();
  // CC.EN=0 and wait for RDY=0 (all queues are gone afterwards).
  Result<void> Disable();
  // CC.SHN normal (or abrupt) and wait for CSTS.SHST=10b.
  Result<void> Shutdown(bool abrupt = false);

  // Executes an admin command; `data`/`len` (if given) become its PRPs.
  Result<Cqe> Admin(Sqe sqe, const DmaBuffer* data = nullptr, size_t len = 0);
  Result<nvme_id_ctrl> IdentifyController();
  Result<nvme_id_ns> IdentifyNamespace(uint32_t nsid);
  // Set Features Number of Queues; returns the granted (NSQA+1, NCQA+1) packed as dw0.
  Result<uint32_t> SetNumberOfQueues(uint16_t sqs, uint16_t cqs);

  // Creates I/O CQ `qid` then I/O SQ `qid` bound to it. `contiguous = false` builds the queues from
  // scattered pages described by a PRP list (needs CAP.CQR = 0). `qprio` is the SQ's QPRIO
  // (0 urgent, 1 high, 2 medium, 3 low; used when CC.AMS selects weighted round robin).
  Result<IoQueue*> CreateIoQueuePair(uint16_t qid, uint32_t entries, bool contiguous = true,
                                     uint8_t qprio = 0);
  Result<void> DeleteIoQueuePair(uint16_t qid);
  IoQueue* io_queue(uint16_t qid) { return qid < io_.size() ? io_[qid].get() : nullptr; }
  IoQueue& admin_queue() { return *admin_; }

  PcieDevice& device() { return *device_; }
  DmaArena& dma() { return *dma_; }
  InterruptCounter& interrupts() { return *irq_; }
  const DriverOptions& options() const { return options_; }
  uint32_t page_size() const { return page_size_; }
  uint64_t cap() { return device_->MmioRead(0, 8); }
  uint32_t csts() { return static_cast<uint32_t>(device_->MmioRead(0x1c, 4)); }

 private:
  explicit PcieDriver(const DriverOptions& options);
  Result<void> Enumerate();
  Result<void> WaitCsts(uint32_t mask, uint32_t value, const char* what);
  uint16_t VectorFor(uint16_t qid) const;

  DriverOptions options_;
  SystemClock clock_;
  std::unique_ptr<DmaArena> dma_;
  std::unique_ptr<InterruptCounter> irq_;
  std::unique_ptr<PcieDevice> device_;
  uint32_t page_size_ = 4096;
  uint32_t db_stride_ = 4;
  std::mutex admin_mu_;
  std::unique_ptr<IoQueue> admin_;
  std::vector<std::unique_ptr<IoQueue>> io_;
};

}  // namespace nvemu::host
