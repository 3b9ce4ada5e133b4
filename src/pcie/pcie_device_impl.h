// PcieDeviceImpl: the NVMe-over-PCIe front end. It ties the PCI function model (ConfigSpace,
// Interrupts), BAR0 decoding (registers, doorbells, MSI-X), the queue engine (QueueGroups on
// reactors) and the transport-free Controller together, and implements the Controller's FrontEnd
// hooks.
//
// Threading (see docs/architecture.md):
//   - Config space and register accesses: any host thread, serialized by `control_mu_`.
//   - Doorbell writes: any host thread, lock-free (atomics + Reactor::Notify).
//   - Queue tables (sqs_/cqs_): admin reactor (Create/Delete commands) or the control path while
//   every
//     reactor is quiesced (enable/disable).
//   - QueueGroups: their reactor's thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "core/controller.h"
#include "core/front_end.h"
#include "engine/reactor.h"
#include "nvemu/pcie_device.h"
#include "pcie/config_space.h"
#include "pcie/interrupts.h"
#include "pcie/queues.h"

namespace nvemu::pcie {

// BAR0 layout for a configuration (NVMe over PCIe: registers 0h-FFFh, doorbells from 1000h).
struct Bar0Layout {
  uint32_t doorbell_stride;  // 4 << CAP.DSTRD
  uint64_t doorbell_end;     // first byte past the last doorbell
  uint32_t msix_table;       // offset of the MSI-X table
  uint32_t msix_pba;         // offset of the MSI-X PBA
  uint64_t size;             // BAR0 size (power of two)
};
Bar0Layout ComputeBar0Layout(const ControllerConfig& config);

class PcieDeviceImpl final : public PcieDevice, public FrontEnd {
 public:
  PcieDeviceImpl(const ControllerConfig& config, HostMemory& memory, InterruptSink& sink,
                 std::unique_ptr<Subsystem> subsystem, std::unique_ptr<Controller> controller);
  ~PcieDeviceImpl() override;

  // PcieDevice
  uint32_t ConfigRead(uint16_t offset, unsigned size) override;
  void ConfigWrite(uint16_t offset, unsigned size, uint32_t value) override;
  uint64_t MmioRead(uint64_t offset, unsigned size) override;
  void MmioWrite(uint64_t offset, unsigned size, uint64_t value) override;
  uint64_t Bar0Size() const override { return layout_.size; }
  uint32_t MsixTableOffset() const override { return layout_.msix_table; }
  uint32_t MsixPbaOffset() const override { return layout_.msix_pba; }
  void Stop() override;

  // FrontEnd
  Status EnableQueues() override;
  void DisableQueues() override;
  Status CreateIoCq(Request& req) override;
  Status CreateIoSq(Request& req) override;
  Status DeleteIoSq(Request& req) override;
  Status DeleteIoCq(Request& req) override;
  bool HasIoQueues() const override { return io_queue_count_.load() > 0; }
  // Admin command set hooks (pcie/admin_hooks.cc).
  void CompleteDeferred(uint16_t sqid, uint16_t cid, Status status, uint32_t dw0) override;
  bool FindUnfetched(uint16_t sqid, uint16_t cid, FunctionRef<void()> mark) override;
  void QuiesceIo() override;
  Status ConfigureShadowDoorbells(uint64_t shadow, uint64_t eventidx) override;

  Controller& controller() { return *ctrl_; }
  // The engine, for tests and `nvemu perf` counters (read-only use from other threads).
  engine::Reactor& admin_reactor() { return *admin_reactor_; }
  size_t io_reactor_count() const { return io_reactors_.size(); }
  engine::Reactor& io_reactor(size_t i) { return *io_reactors_[i]; }
  QueueGroup& io_group(size_t i) { return *io_groups_[i]; }

 private:
  void WriteDoorbell(uint64_t offset, unsigned size, uint64_t value);
  void InvalidDoorbell(uint8_t info, uint64_t offset, uint64_t value, const char* why);
  // Why writing `value` to the doorbell `index` of queue `qid` (`size` entries) is invalid, or
  // null.
  const char* CheckDoorbellValue(uint64_t index, uint32_t qid, uint32_t size, uint32_t value) const;
  Status BuildQueueMemory(bool contiguous, uint64_t prp1, uint64_t bytes, QueueMemory* mem);
  void SetIntxSource(uint16_t vector, bool pending);
  void Fatal(const char* why);
  void FunctionLevelReset();
  size_t ReactorFor(uint16_t cqid) const { return (cqid - 1) % io_reactors_.size(); }

  const ControllerConfig config_;
  const Bar0Layout layout_;
  HostMemory& memory_;
  std::unique_ptr<Subsystem> subsystem_;  // outlives ctrl_
  std::unique_ptr<Controller> ctrl_;

  std::mutex control_mu_;  // config space + registers
  ConfigSpace config_space_;
  Interrupts interrupts_;

  // Doorbell page: index 2y = SQ y tail, 2y+1 = CQ y head. Sizes: 0 = no such queue.
  const uint32_t max_qid_;
  std::unique_ptr<std::atomic<uint32_t>[]> doorbells_;
  std::unique_ptr<std::atomic<uint32_t>[]> sq_size_;
  std::unique_ptr<std::atomic<uint32_t>[]> cq_size_;
  std::unique_ptr<std::atomic<engine::Reactor*>[]> sq_reactor_;
  std::unique_ptr<std::atomic<engine::Reactor*>[]> cq_reactor_;
  // Device-side positions the reactors publish for the doorbell value checks (WriteDoorbell): the
  // SQ y head (as SQHD last reported it) and the CQ y tail (next slot to post). 0 for a new queue.
  // One cache line each: queues on different reactors must not share a line that both write.
  struct alignas(64) Published {
    std::atomic<uint32_t> v{0};
  };
  std::unique_ptr<Published[]> sq_head_;
  std::unique_ptr<Published[]> cq_tail_;
  // I/O doorbell writes wake the reactor (notify mode); poll and timer reactors never sleep on
  // them, so the write is a plain release store there. The admin reactor always sleeps.
  const bool io_doorbells_notify_;
  // Doorbell Buffer Config is active: I/O queues read their doorbells from host memory, so their
  // MMIO doorbell values say nothing about the queue state (only the range check applies).
  std::atomic<bool> shadow_on_{false};

  std::vector<std::unique_ptr<PcieSq>> sqs_;  // by qid
  std::vector<std::unique_ptr<PcieCq>> cqs_;  // by qid
  std::atomic<uint32_t> io_queue_count_{0};
  // Shadow doorbells (pcie/shadow_doorbells.cc): the mapped Shadow Doorbell and EventIdx pages,
  // null until Doorbell Buffer Config; admin reactor / control path.
  uint8_t* shadow_db_ = nullptr;
  uint8_t* shadow_ei_ = nullptr;
  void ShadowSq(PcieSq* sq);
  void ShadowCq(PcieCq* cq);

  std::unique_ptr<engine::Reactor> admin_reactor_;
  std::unique_ptr<QueueGroup> admin_group_;
  std::vector<std::unique_ptr<engine::Reactor>> io_reactors_;
  std::vector<std::unique_ptr<QueueGroup>> io_groups_;

  std::mutex intx_mu_;                 // legacy INTx bookkeeping only
  std::vector<uint32_t> intx_counts_;  // GUARDED_BY(intx_mu_): CQs with pending entries per vector
  bool stopped_ = false;
};

}  // namespace nvemu::pcie
