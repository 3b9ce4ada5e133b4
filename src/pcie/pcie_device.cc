#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <bit>

#include "pcie/pcie_device_impl.h"

namespace nvemu {

// NVMe over PCIe entry point (include/nvemu/pcie_device.h).
Result<std::unique_ptr<PcieDevice>> PcieDevice::Create(const ControllerConfig& config,
                                                       HostMemory& memory, InterruptSink& sink,
                                                       const Clock& clock) {
  if (auto v = config.Validate(); !v.ok()) return v.error();
  auto subsystem = Subsystem::Create(config, clock);
  if (!subsystem.ok()) return subsystem.error();
  // A PCIe function is one controller of its own subsystem; CNTLID 0 as for PCIe controllers.
  auto ctrl = std::make_unique<Controller>(config, **subsystem, 0, clock);
  return std::unique_ptr<PcieDevice>(std::make_unique<pcie::PcieDeviceImpl>(
      config, memory, sink, std::move(subsystem.value()), std::move(ctrl)));
}

namespace pcie {
namespace {

constexpr uint64_t kDoorbellBase = 0x1000;
constexpr uint32_t kSqEntrySize = 64;
constexpr uint32_t kCqEntrySize = 16;
// Notify mode, I/O reactors: spin this long after the last command before sleeping, so that a
// host submitting back to back (queue depth 1..4) does not pay a futex wake-up per doorbell
// (docs/performance.md). An idle device still sleeps after 50 us.
constexpr uint32_t kNotifySpinUs = 50;

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

ConfigSpaceParams MakeConfigParams(const ControllerConfig& c, const Bar0Layout& l) {
  ConfigSpaceParams p;
  p.vendor_id = c.vendor_id;
  p.device_id = c.device_id;
  p.subsystem_vendor_id = c.subsystem_vendor_id;
  p.subsystem_id = c.subsystem_id;
  p.revision_id = c.revision_id;
  p.bar0_size = l.size;
  p.msix_vectors = c.msix_vectors;
  p.msix_table_offset = l.msix_table;
  p.msix_pba_offset = l.msix_pba;
  return p;
}

}  // namespace

Bar0Layout ComputeBar0Layout(const ControllerConfig& c) {
  Bar0Layout l{};
  l.doorbell_stride = 4u << c.dstrd;
  l.doorbell_end = kDoorbellBase + 2ull * (c.max_io_queues + 1) * l.doorbell_stride;
  l.msix_table = static_cast<uint32_t>(AlignUp(l.doorbell_end, 4096));
  uint64_t table_end = l.msix_table + 16ull * c.msix_vectors;
  l.msix_pba = static_cast<uint32_t>(AlignUp(table_end, 4096));
  uint64_t end = l.msix_pba + (c.msix_vectors + 63) / 64 * 8;
  l.size = std::max<uint64_t>(16 * 1024, std::bit_ceil(end));
  return l;
}

PcieDeviceImpl::PcieDeviceImpl(const ControllerConfig& config, HostMemory& memory,
                               InterruptSink& sink, std::unique_ptr<Subsystem> subsystem,
                               std::unique_ptr<Controller> controller)
    : config_(config),
      layout_(ComputeBar0Layout(config)),
      memory_(memory),
      subsystem_(std::move(subsystem)),
      ctrl_(std::move(controller)),
      config_space_(MakeConfigParams(config, layout_)),
      interrupts_(config.msix_vectors, sink, config_space_),
      max_qid_(config.max_io_queues),
      doorbells_(new std::atomic<uint32_t>[2 * (max_qid_ + 1)]()),
      sq_size_(new std::atomic<uint32_t>[max_qid_ + 1]()),
      cq_size_(new std::atomic<uint32_t>[max_qid_ + 1]()),
      sq_reactor_(new std::atomic<engine::Reactor*>[max_qid_ + 1]()),
      cq_reactor_(new std::atomic<engine::Reactor*>[max_qid_ + 1]()),
      sq_head_(new Published[max_qid_ + 1]),
      cq_tail_(new Published[max_qid_ + 1]),
      io_doorbells_notify_(config.mode == ProcessingMode::kNotify),
      sqs_(max_qid_ + 1),
      cqs_(max_qid_ + 1),
      intx_counts_(config.msix_vectors, 0) {
  ctrl_->SetFrontEnd(this);
  config_space_.SetCallbacks(ConfigSpace::Callbacks{
      .msix_control_changed = [this] { interrupts_.OnMsixControlChanged(); },
      .intx_disable_changed = [this] { interrupts_.OnIntxDisableChanged(); },
      .flr = [this] { FunctionLevelReset(); },
  });

  QueueGroupEnv env;
  env.controller = ctrl_.get();
  env.memory = &memory_;
  env.interrupts = &interrupts_;
  env.config = &config_space_;
  env.intx_source = [this](uint16_t v, bool pending) { SetIntxSource(v, pending); };
  env.fatal = [this](const char* why) { Fatal(why); };

  engine::ReactorOptions opts;
  opts.timer_period_us = config.timer_period_us;
  opts.entries_per_tick = config.entries_per_tick;
  // The admin queue is control path: its reactor sleeps when idle in every mode (polling it would
  // cost a core; in timer mode admin commands never wait behind I/O, nvmeqemu's "admin first").
  opts.mode = ProcessingMode::kNotify;
  opts.name = "admin";
  admin_reactor_ = std::make_unique<engine::Reactor>(opts);
  opts.mode = config.mode;
  opts.notify_spin_us = kNotifySpinUs;
  admin_group_ = std::make_unique<QueueGroup>(env, /*admin=*/true);
  admin_reactor_->AddPoller(admin_group_.get());
  for (uint32_t i = 0; i < config.io_reactors; ++i) {
    opts.name = fmt::format("io{}", i);
    io_reactors_.push_back(std::make_unique<engine::Reactor>(opts));
    io_groups_.push_back(std::make_unique<QueueGroup>(env, /*admin=*/false));
    io_reactors_.back()->AddPoller(io_groups_.back().get());
  }
  admin_reactor_->Start();
  for (auto& r : io_reactors_) r->Start();
}

PcieDeviceImpl::~PcieDeviceImpl() { Stop(); }

void PcieDeviceImpl::Stop() {
  std::lock_guard<std::mutex> lock(control_mu_);
  if (stopped_) return;
  stopped_ = true;
  ctrl_->PowerOff();
  admin_reactor_->Stop();
  for (auto& r : io_reactors_) r->Stop();
}

uint32_t PcieDeviceImpl::ConfigRead(uint16_t offset, unsigned size) {
  std::lock_guard<std::mutex> lock(control_mu_);
  return config_space_.Read(offset, size);
}

void PcieDeviceImpl::ConfigWrite(uint16_t offset, unsigned size, uint32_t value) {
  bool could_dma, can_dma;
  {
    std::lock_guard<std::mutex> lock(control_mu_);
    could_dma = config_space_.BusMasterEnabled();
    config_space_.Write(offset, size, value);
    can_dma = config_space_.BusMasterEnabled();
  }
  if (!could_dma && can_dma) {
    // Doorbells accepted while bus mastering was off (Command.BME = 0, or D3hot) are served once
    // it is back: wake every reactor so a sleeping one fetches them.
    admin_reactor_->Notify();
    for (auto& r : io_reactors_) r->Notify();
  } else if (could_dma && !can_dma) {
    // Bus mastering turned off: once this write returns the function issues no more DMA (PCIe
    // Base 7.5.1.1.3, Command register bit 2). A reactor in the middle of a poll pass may have
    // read BME before the write; a round trip through each reactor's mailbox waits for that pass
    // to end, and every later pass sees BME off. Without it, SQ entries the host places right
    // after clearing BME could still be fetched.
    admin_reactor_->RunSync([] {});
    for (auto& r : io_reactors_) r->RunSync([] {});
  }
}

uint64_t PcieDeviceImpl::MmioRead(uint64_t offset, unsigned size) {
  if (!config_space_.MemoryEnabled()) {
    // BAR0 is not decoded while Command.Memory Space Enable is 0: the read master-aborts.
    return size >= 8 ? ~0ull : ((1ull << (8 * size)) - 1);
  }
  if (offset < reg::kRegisterWindow) {
    std::lock_guard<std::mutex> lock(control_mu_);
    return ctrl_->ReadRegister(static_cast<uint32_t>(offset), size);
  }
  if (offset >= layout_.msix_table && offset < layout_.msix_table + interrupts_.TableBytes()) {
    return interrupts_.ReadTable(static_cast<uint32_t>(offset - layout_.msix_table), size);
  }
  if (offset >= layout_.msix_pba && offset < layout_.msix_pba + interrupts_.PbaBytes()) {
    return interrupts_.ReadPba(static_cast<uint32_t>(offset - layout_.msix_pba), size);
  }
  return 0;  // doorbells are write-only; the rest of BAR0 is reserved
}

void PcieDeviceImpl::MmioWrite(uint64_t offset, unsigned size, uint64_t value) {
  if (!config_space_.MemoryEnabled()) {
    spdlog::debug("pcie: BAR0 write at {:#x} while memory space is disabled; dropped", offset);
    return;
  }
  if (offset < reg::kRegisterWindow) {
    std::lock_guard<std::mutex> lock(control_mu_);
    if ((offset == reg::kIntms || offset == reg::kIntmc) && config_space_.MsixEnabled()) {
      // 3.1.3.3/3.1.3.4: INTMS/INTMC are not used with MSI-X.
      spdlog::warn("pcie: INTMS/INTMC write while MSI-X is enabled; ignored");
      return;
    }
    RegisterWrite w = ctrl_->WriteRegister(static_cast<uint32_t>(offset), size, value);
    // INTMS changes by INTMS/INTMC writes and by resets (CC.EN 1->0, NSSR).
    if (w.event != RegisterEvent::kNone) interrupts_.SetIntMask(ctrl_->registers().intms());
    return;
  }
  if (offset < layout_.doorbell_end) return WriteDoorbell(offset, size, value);
  if (offset >= layout_.msix_table && offset < layout_.msix_table + interrupts_.TableBytes()) {
    return interrupts_.WriteTable(static_cast<uint32_t>(offset - layout_.msix_table), size, value);
  }
  if (offset >= layout_.msix_pba && offset < layout_.msix_pba + interrupts_.PbaBytes()) {
    return interrupts_.WritePba(static_cast<uint32_t>(offset - layout_.msix_pba), size, value);
  }
  spdlog::debug("pcie: BAR0 write at reserved offset {:#x}; dropped", offset);
}

void PcieDeviceImpl::InvalidDoorbell(uint8_t info, uint64_t offset, uint64_t value,
                                     const char* why) {
  spdlog::warn("pcie: invalid doorbell write {:#x} at BAR0 {:#x} ({}); ignored", value, offset,
               why);
  ctrl_->async_events().Post(AsyncEvent{AsyncEventType::kError, info, kLogErrorInformation});
}

// NVMe Base 2.0, 5.2 Asynchronous Event Request (Error Status event information: Invalid Doorbell
// Write Value): a value outside the queue; an SQ tail that adds more entries than the SQ has free
// slots (it would overrun entries not yet fetched); a CQ head that consumes entries the controller
// has not posted. Rewriting the previous value is accepted (it changes nothing). The head and tail
// the reactors publish can only lag behind what the host can know from completions, so a correct
// host is never refused. With shadow doorbells the MMIO values are stale by design: range only.
const char* PcieDeviceImpl::CheckDoorbellValue(uint64_t index, uint32_t qid, uint32_t size,
                                               uint32_t value) const {
  if (value >= size) return "value not below the queue size";
  if (qid != 0 && shadow_on_.load(std::memory_order_acquire)) return nullptr;
  // Every value here is below `size` (checked above, or published by the reactor).
  const uint32_t last = doorbells_[index].load(std::memory_order_relaxed);
  const uint32_t step = RingDistance(last, value, size);  // entries added (SQ) or consumed (CQ)
  if (index & 1) {
    const uint32_t posted =
        RingDistance(last, cq_tail_[qid].v.load(std::memory_order_acquire), size);
    if (step > posted) return "CQ head beyond the entries posted";
  } else {
    // Free slots: up to the one before the head (a full queue keeps one entry empty).
    const uint32_t head = sq_head_[qid].v.load(std::memory_order_acquire);
    const uint32_t free = RingDistance(last, head == 0 ? size - 1 : head - 1, size);
    if (step > free) return "SQ tail overruns entries not yet fetched";
  }
  return nullptr;
}

// NVMe over PCIe doorbells: SQ y Tail at 1000h + (2y * stride), CQ y Head at 1000h + ((2y+1) *
// stride).
void PcieDeviceImpl::WriteDoorbell(uint64_t offset, unsigned size, uint64_t value) {
  uint64_t rel = offset - kDoorbellBase;
  if (size != 4 || rel % layout_.doorbell_stride != 0) {
    spdlog::warn("pcie: {}-byte doorbell access at {:#x} dropped", size, offset);
    return;
  }
  if (!ctrl_->ready()) {
    spdlog::warn("pcie: doorbell write at {:#x} while the controller is not ready; dropped",
                 offset);
    return;
  }
  uint64_t index = rel / layout_.doorbell_stride;
  uint32_t qid = static_cast<uint32_t>(index / 2);
  bool cq = index & 1;
  uint32_t qsize = qid <= max_qid_ ? (cq ? cq_size_[qid] : sq_size_[qid]).load() : 0;
  if (qsize == 0) {
    return InvalidDoorbell(kAenErrorInvalidDoorbellRegister, offset, value, "no such queue");
  }
  if (const char* why = CheckDoorbellValue(index, qid, qsize, static_cast<uint32_t>(value))) {
    return InvalidDoorbell(kAenErrorInvalidDoorbellValue, offset, value, why);
  }
  if (qid != 0 && !io_doorbells_notify_) {
    doorbells_[index].store(static_cast<uint32_t>(value), std::memory_order_release);
    return;
  }
  // Notify handshake (engine/reactor.h): the store is seq_cst, ordered before the sleeping flag.
  doorbells_[index].store(static_cast<uint32_t>(value), std::memory_order_seq_cst);
  engine::Reactor* r = (cq ? cq_reactor_[qid] : sq_reactor_[qid]).load(std::memory_order_acquire);
  if (r != nullptr) r->Notify();
}

Status PcieDeviceImpl::BuildQueueMemory(bool contiguous, uint64_t prp1, uint64_t bytes,
                                        QueueMemory* mem) {
  uint32_t page = ctrl_->page_size();
  mem->page_size = page;
  if (contiguous) {
    mem->base = prp1;
    // The queue must lie in host memory the device can reach.
    uint8_t probe;
    if (!memory_.Read(prp1, &probe, 1) || !memory_.Read(prp1 + bytes - 1, &probe, 1)) {
      return sc::kDataTransferError;
    }
    mem->host = memory_.Map(prp1, bytes);  // the ring by pointer from now on (pcie/queues.h)
    return Status::Success();
  }
  // PC=0: PRP1 points to a PRP list with one entry per queue page (NVMe Base 2.0, 5.4/5.5).
  uint64_t pages = (bytes + page - 1) / page;
  mem->pages.resize(pages);
  if (!memory_.Read(prp1, mem->pages.data(), pages * sizeof(uint64_t))) {
    return sc::kDataTransferError;
  }
  for (uint64_t p : mem->pages) {
    if (p == 0 || (p & (page - 1))) return sc::kInvalidPrpOffset;
  }
  for (uint64_t p : mem->pages) {
    uint8_t* ptr = memory_.Map(p, page);
    if (ptr == nullptr) {
      mem->page_ptrs.clear();
      break;
    }
    mem->page_ptrs.push_back(ptr);
  }
  return Status::Success();
}

Status PcieDeviceImpl::EnableQueues() {
  uint32_t aqa = ctrl_->registers().aqa();
  auto sq = std::make_unique<PcieSq>();
  auto cq = std::make_unique<PcieCq>();
  cq->qid = 0;
  cq->size = reg::AqaAcqs(aqa) + 1;
  cq->ien = true;
  cq->iv = 0;
  cq->head_db = &doorbells_[1];
  cq->tail_pub = &cq_tail_[0].v;
  if (Status st =
          BuildQueueMemory(true, ctrl_->registers().acq(), cq->size * kCqEntrySize, &cq->mem);
      !st.ok()) {
    return st;
  }
  sq->qid = 0;
  sq->size = reg::AqaAsqs(aqa) + 1;
  sq->cq = cq.get();
  sq->tail_db = &doorbells_[0];
  sq->head_pub = &sq_head_[0].v;
  if (Status st =
          BuildQueueMemory(true, ctrl_->registers().asq(), sq->size * kSqEntrySize, &sq->mem);
      !st.ok()) {
    return st;
  }
  doorbells_[0].store(0);
  doorbells_[1].store(0);
  sq_head_[0].v.store(0);
  cq_tail_[0].v.store(0);
  admin_reactor_->RunSync([&] {
    admin_group_->AddCq(cq.get());
    admin_group_->AddSq(sq.get());
  });
  sq_reactor_[0].store(admin_reactor_.get());
  cq_reactor_[0].store(admin_reactor_.get());
  sqs_[0] = std::move(sq);
  cqs_[0] = std::move(cq);
  sq_size_[0].store(sqs_[0]->size, std::memory_order_release);
  cq_size_[0].store(cqs_[0]->size, std::memory_order_release);
  return Status::Success();
}

void PcieDeviceImpl::DisableQueues() {
  // Refuse doorbells first, then quiesce every reactor: Clear() waits for the commands in flight
  // on the reactor's io_uring, so once RunSync returns nothing is in flight and no entry will be
  // fetched.
  for (uint32_t q = 0; q <= max_qid_; ++q) {
    sq_size_[q].store(0);
    cq_size_[q].store(0);
  }
  admin_reactor_->RunSync([&] { admin_group_->Clear(); });
  shadow_db_ = shadow_ei_ = nullptr;  // Doorbell Buffer Config does not survive a reset
  shadow_on_.store(false, std::memory_order_release);
  for (size_t i = 0; i < io_reactors_.size(); ++i) {
    io_reactors_[i]->RunSync([&] { io_groups_[i]->Clear(); });
  }
  for (uint32_t q = 0; q <= max_qid_; ++q) {
    sqs_[q].reset();
    cqs_[q].reset();
    sq_reactor_[q].store(nullptr);
    cq_reactor_[q].store(nullptr);
    doorbells_[2 * q].store(0);
    doorbells_[2 * q + 1].store(0);
    sq_head_[q].v.store(0);
    cq_tail_[q].v.store(0);
  }
  io_queue_count_.store(0);
  std::lock_guard<std::mutex> lock(intx_mu_);
  for (size_t v = 0; v < intx_counts_.size(); ++v) {
    if (intx_counts_[v] != 0) interrupts_.SetIntxSource(static_cast<uint16_t>(v), false);
    intx_counts_[v] = 0;
  }
}

// NVMe Base 2.0, 5.4 Create I/O Completion Queue.
Status PcieDeviceImpl::CreateIoCq(Request& req) {
  const Sqe& sqe = req.sqe;
  uint32_t qid = sqe.cdw10 & 0xffff;
  uint32_t qsize = sqe.cdw10 >> 16;  // 0's based
  bool pc = sqe.cdw11 & 1;
  bool ien = (sqe.cdw11 >> 1) & 1;
  uint16_t iv = sqe.cdw11 >> 16;
  if (qid == 0 || qid > ctrl_->allocated_cqs() || cqs_[qid]) return sc::kInvalidQueueIdentifier;
  if (qsize == 0 || qsize > ctrl_->cap().mqes()) return sc::kInvalidQueueSize;
  if (!pc && ctrl_->cap().cqr()) return sc::kInvalidField;
  if (sqe.prp1 == 0 || (sqe.prp1 & (ctrl_->page_size() - 1))) return sc::kInvalidPrpOffset;
  bool msix = config_space_.MsixEnabled();
  if (msix ? iv >= config_.msix_vectors : iv != 0) return sc::kInvalidInterruptVector;
  auto cq = std::make_unique<PcieCq>();
  cq->qid = static_cast<uint16_t>(qid);
  cq->size = qsize + 1;
  cq->ien = ien;
  cq->iv = iv;
  cq->head_db = &doorbells_[2 * qid + 1];
  cq->tail_pub = &cq_tail_[qid].v;
  ShadowCq(cq.get());  // after Doorbell Buffer Config (pcie/shadow_doorbells.cc)
  if (Status st = BuildQueueMemory(pc, sqe.prp1, uint64_t{cq->size} * kCqEntrySize, &cq->mem);
      !st.ok()) {
    return st;
  }
  doorbells_[2 * qid + 1].store(0);
  cq_tail_[qid].v.store(0);
  size_t r = ReactorFor(static_cast<uint16_t>(qid));
  io_reactors_[r]->RunSync([&] { io_groups_[r]->AddCq(cq.get()); });
  cq_reactor_[qid].store(io_reactors_[r].get(), std::memory_order_release);
  cq_size_[qid].store(cq->size, std::memory_order_release);
  cqs_[qid] = std::move(cq);
  io_queue_count_.fetch_add(1);
  return Status::Success();
}

// NVMe Base 2.0, 5.5 Create I/O Submission Queue.
Status PcieDeviceImpl::CreateIoSq(Request& req) {
  const Sqe& sqe = req.sqe;
  uint32_t qid = sqe.cdw10 & 0xffff;
  uint32_t qsize = sqe.cdw10 >> 16;
  bool pc = sqe.cdw11 & 1;
  uint8_t qprio = (sqe.cdw11 >> 1) & 0x3;
  uint32_t cqid = sqe.cdw11 >> 16;
  if (qid == 0 || qid > ctrl_->allocated_sqs() || sqs_[qid]) return sc::kInvalidQueueIdentifier;
  if (cqid == 0 || cqid > max_qid_ || !cqs_[cqid]) return sc::kCompletionQueueInvalid;
  if (qsize == 0 || qsize > ctrl_->cap().mqes()) return sc::kInvalidQueueSize;
  if (!pc && ctrl_->cap().cqr()) return sc::kInvalidField;
  if (sqe.prp1 == 0 || (sqe.prp1 & (ctrl_->page_size() - 1))) return sc::kInvalidPrpOffset;
  auto sq = std::make_unique<PcieSq>();
  sq->qid = static_cast<uint16_t>(qid);
  sq->size = qsize + 1;
  sq->qprio = qprio;
  sq->cq = cqs_[cqid].get();
  sq->tail_db = &doorbells_[2 * qid];
  sq->head_pub = &sq_head_[qid].v;
  sq->InitAsyncSlots(std::min(sq->size, kAsyncSlotsPerSq));
  ShadowSq(sq.get());  // after Doorbell Buffer Config (pcie/shadow_doorbells.cc)
  if (Status st = BuildQueueMemory(pc, sqe.prp1, uint64_t{sq->size} * kSqEntrySize, &sq->mem);
      !st.ok()) {
    return st;
  }
  doorbells_[2 * qid].store(0);
  sq_head_[qid].v.store(0);
  size_t r = ReactorFor(static_cast<uint16_t>(cqid));
  io_reactors_[r]->RunSync([&] { io_groups_[r]->AddSq(sq.get()); });
  sq_reactor_[qid].store(io_reactors_[r].get(), std::memory_order_release);
  sq_size_[qid].store(sq->size, std::memory_order_release);
  sqs_[qid] = std::move(sq);
  io_queue_count_.fetch_add(1);
  return Status::Success();
}

// NVMe Base 2.0, 5.7 Delete I/O Submission Queue. Entries not yet fetched are discarded; RemoveSq
// waits for the SQ's commands in flight (their completions are posted first), so none is left
// once the reactor has removed the SQ.
Status PcieDeviceImpl::DeleteIoSq(Request& req) {
  uint32_t qid = req.sqe.cdw10 & 0xffff;
  if (qid == 0 || qid > max_qid_ || !sqs_[qid]) return sc::kInvalidQueueIdentifier;
  sq_size_[qid].store(0);
  sq_reactor_[qid].store(nullptr);
  PcieSq* sq = sqs_[qid].get();
  size_t r = ReactorFor(sq->cq->qid);
  io_reactors_[r]->RunSync([&] { io_groups_[r]->RemoveSq(sq); });
  sqs_[qid].reset();
  doorbells_[2 * qid].store(0);
  io_queue_count_.fetch_sub(1);
  return Status::Success();
}

// NVMe Base 2.0, 5.6 Delete I/O Completion Queue.
Status PcieDeviceImpl::DeleteIoCq(Request& req) {
  uint32_t qid = req.sqe.cdw10 & 0xffff;
  if (qid == 0 || qid > max_qid_ || !cqs_[qid]) return sc::kInvalidQueueIdentifier;
  PcieCq* cq = cqs_[qid].get();
  for (uint32_t q = 1; q <= max_qid_; ++q) {
    if (sqs_[q] && sqs_[q]->cq == cq) return sc::kInvalidQueueDeletion;
  }
  cq_size_[qid].store(0);
  cq_reactor_[qid].store(nullptr);
  size_t r = ReactorFor(static_cast<uint16_t>(qid));
  io_reactors_[r]->RunSync([&] { io_groups_[r]->RemoveCq(cq); });
  cqs_[qid].reset();
  doorbells_[2 * qid + 1].store(0);
  io_queue_count_.fetch_sub(1);
  return Status::Success();
}

void PcieDeviceImpl::SetIntxSource(uint16_t vector, bool pending) {
  std::lock_guard<std::mutex> lock(intx_mu_);
  if (vector >= intx_counts_.size()) return;
  uint32_t& n = intx_counts_[vector];
  if (pending) {
    if (n++ == 0) interrupts_.SetIntxSource(vector, true);
  } else if (n > 0) {
    if (--n == 0) interrupts_.SetIntxSource(vector, false);
  }
}

void PcieDeviceImpl::Fatal(const char* why) {
  spdlog::error("pcie: controller fatal status: {}", why);
  ctrl_->SetFatal();
}

// PCIe Base 4.0, 6.6.2 Function Level Reset: the function returns to its power-on state. Called
// from ConfigWrite with control_mu_ held.
void PcieDeviceImpl::FunctionLevelReset() {
  spdlog::info("pcie: function level reset");
  ctrl_->ResetToPowerOn();
  interrupts_.Reset();
}

}  // namespace pcie
}  // namespace nvemu
