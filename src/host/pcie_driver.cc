#include "nvemu/host/pcie_driver.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <thread>

namespace nvemu::host {
namespace {

constexpr uint32_t kSqEntry = 64;
constexpr uint32_t kCqEntry = 16;
constexpr uint64_t kMsiAddress = 0xfee00000;  // x86 MSI window; any address works for the model

// PCI configuration space offsets (PCI Local Bus 3.0, 6.1; PCI Express Base, 7.7.2 MSI-X).
constexpr uint16_t kPciCommand = 0x04;
constexpr uint16_t kPciCapPtr = 0x34;
constexpr uint16_t kCmdMemory = 1u << 1;
constexpr uint16_t kCmdBusMaster = 1u << 2;
constexpr uint16_t kCmdIntxDisable = 1u << 10;
constexpr uint8_t kCapIdMsix = 0x11;
constexpr uint16_t kMsixEnable = 1u << 15;

Error StatusError(const char* what, const Cqe& cqe) {
  return Error{fmt::format("{} failed: {}", what, Status::FromField(cqe.status >> 1).ToString())};
}

}  // namespace

// ---- InterruptCounter ----

void InterruptCounter::Msi(uint64_t addr, uint32_t data) {
  if (addr != kMsiAddress || data >= counts_.size()) {
    spdlog::warn("host: unexpected MSI addr {:#x} data {:#x}", addr, data);
    return;
  }
  counts_[data].fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void InterruptCounter::Intx(bool asserted) {
  intx_.store(asserted);
  if (!asserted) return;
  counts_[0].fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

void InterruptCounter::WaitFor(uint16_t vector, uint64_t seen, std::chrono::microseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return count(vector) != seen; });
}

// ---- IoQueue ----

IoQueue::IoQueue(PcieDevice& dev, DmaArena& dma, InterruptCounter* irq, uint32_t page_size,
                 uint16_t qid, uint32_t entries, uint16_t vector, uint32_t db_stride)
    : dev_(dev),
      dma_(dma),
      irq_(irq),
      page_size_(page_size),
      page_shift_(static_cast<uint32_t>(std::countr_zero(page_size))),
      qid_(qid),
      entries_(entries),
      vector_(vector),
      db_stride_(db_stride),
      cid_prp_lists_(entries) {
  for (uint32_t i = entries - 1; i-- > 0;) free_cids_.push_back(static_cast<uint16_t>(i));
}

IoQueue::~IoQueue() {
  dma_.Free(sq_mem_);
  dma_.Free(cq_mem_);
  dma_.Free(sq_prp_list_);
  dma_.Free(cq_prp_list_);
  for (auto& b : sq_pages_) dma_.Free(b);
  for (auto& b : cq_pages_) dma_.Free(b);
  for (auto& b : cid_prp_lists_) dma_.Free(b);
}

Result<void> IoQueue::Allocate(bool contiguous) {
  contiguous_ = contiguous;
  if (contiguous) {
    auto sq = dma_.Alloc(size_t{entries_} * kSqEntry, page_size_);
    if (!sq.ok()) return sq.error();
    sq_mem_ = *sq;
    auto cq = dma_.Alloc(size_t{entries_} * kCqEntry, page_size_);
    if (!cq.ok()) return cq.error();
    cq_mem_ = *cq;
    return {};
  }
  // Scattered pages: a spacer page between them so that no two are adjacent, then a PRP list.
  auto scatter = [&](size_t bytes, std::vector<DmaBuffer>* pages, DmaBuffer* list) -> Result<void> {
    size_t n = (bytes + page_size_ - 1) / page_size_;
    std::vector<DmaBuffer> spacers;
    for (size_t i = 0; i < n; ++i) {
      auto p = dma_.Alloc(page_size_, page_size_);
      if (!p.ok()) return p.error();
      pages->push_back(*p);
      auto s = dma_.Alloc(page_size_, page_size_);
      if (s.ok()) spacers.push_back(*s);
    }
    for (auto& s : spacers) dma_.Free(s);
    std::reverse(pages->begin(), pages->end());  // descending addresses: clearly not contiguous
    auto l = dma_.Alloc(n * 8, page_size_);
    if (!l.ok()) return l.error();
    *list = *l;
    for (size_t i = 0; i < n; ++i) std::memcpy(list->ptr + 8 * i, &(*pages)[i].addr, 8);
    return {};
  };
  if (auto r = scatter(size_t{entries_} * kSqEntry, &sq_pages_, &sq_prp_list_); !r.ok()) return r;
  return scatter(size_t{entries_} * kCqEntry, &cq_pages_, &cq_prp_list_);
}

Result<void> IoQueue::SetPrps(Sqe& sqe, uint16_t cid, const DmaBuffer& buf, size_t len,
                              size_t offset) {
  if (offset > buf.size || len > buf.size - offset) return Error{"PRP range outside the buffer"};
  uint64_t addr = buf.addr + offset;
  sqe.prp1 = addr;
  sqe.prp2 = 0;
  size_t first = page_size_ - (addr & (page_size_ - 1));
  if (len <= first) return {};
  size_t rem = len - first;
  if (rem <= page_size_) {
    sqe.prp2 = addr + first;
    return {};
  }
  // PRP list: entries per page, the last one chaining to the next list page when needed.
  size_t n = (rem + page_size_ - 1) / page_size_;
  size_t epp = page_size_ / 8;
  size_t pages = (n + epp - 2) / (epp - 1);
  DmaBuffer& list = cid_prp_lists_[cid];
  if (list.size < pages * page_size_) {
    dma_.Free(list);
    auto l = dma_.Alloc(pages * page_size_, page_size_);
    if (!l.ok()) return l.error();
    list = *l;
  }
  uint64_t* e = reinterpret_cast<uint64_t*>(list.ptr);
  size_t slot = 0;
  uint64_t data = addr + first;
  for (size_t i = 0; i < n; ++i) {
    if (slot % epp == epp - 1 && i < n - 1) {
      e[slot] = list.addr + (slot + 1) * 8;  // last slot of a list page: chain to the next page
      ++slot;
    }
    e[slot++] = data;
    data += page_size_;
  }
  sqe.prp2 = list.addr;
  return {};
}

Result<uint16_t> IoQueue::Submit(const Sqe& sqe_in, const DmaBuffer* data, size_t len,
                                 size_t offset, bool ring) {
  if (free_cids_.empty()) return Error{fmt::format("queue {} is full", qid_)};
  uint16_t cid = free_cids_.back();
  Sqe sqe = sqe_in;
  sqe.cid = cid;
  if (data != nullptr) {
    if (auto r = SetPrps(sqe, cid, *data, len, offset); !r.ok()) return r.error();
  }
  free_cids_.pop_back();
  std::memcpy(SqSlot(sq_tail_), &sqe, sizeof(sqe));
  sq_tail_ = sq_tail_ + 1 == entries_ ? 0 : sq_tail_ + 1;
  ++outstanding_;
  if (ring) Ring();
  return cid;
}

void IoQueue::Ring() {
  std::atomic_thread_fence(std::memory_order_release);
  dev_.MmioWrite(0x1000 + uint64_t{2u * qid_} * db_stride_, 4, sq_tail_);
}

bool IoQueue::PeekCompletion(Cqe* cqe) {
  uint8_t* slot = CqSlot(cq_head_);
  uint32_t dw3 = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(slot + 12))
                     .load(std::memory_order_acquire);
  if (((dw3 >> 16) & 1) != (phase_ ? 1u : 0u)) return false;
  std::memcpy(cqe, slot, 12);
  std::memcpy(reinterpret_cast<uint8_t*>(cqe) + 12, &dw3, 4);
  return true;
}

void IoQueue::ConsumeCompletion(const Cqe& cqe) {
  if (++cq_head_ == entries_) {
    cq_head_ = 0;
    phase_ = !phase_;
  }
  --outstanding_;
  if (cqe.cid < entries_ - 1) free_cids_.push_back(cqe.cid);
}

void IoQueue::RingCqHead() {
  dev_.MmioWrite(0x1000 + uint64_t{2u * qid_ + 1} * db_stride_, 4, cq_head_);
}

Result<Cqe> IoQueue::Wait(uint16_t cid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto it = done_.find(cid); it != done_.end()) {
      Cqe c = it->second;
      done_.erase(it);
      free_cids_.push_back(cid);  // parked completions keep their CID until claimed
      return c;
    }
    uint64_t seen = irq_ ? irq_->count(vector_) : 0;
    bool found = false;
    Cqe out{};
    Reap([&](const Cqe& c) {
      if (c.cid == cid && !found) {
        out = c;
        found = true;
      } else {
        // Park it for its own waiter and keep its CID out of the free list until then, so that a
        // new command cannot reuse the CID and overwrite the parked completion.
        auto f = std::find(free_cids_.rbegin(), free_cids_.rend(), c.cid);
        if (f != free_cids_.rend()) free_cids_.erase(std::next(f).base());
        done_[c.cid] = c;
      }
    });
    if (found) return out;
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{fmt::format("queue {}: command {} timed out", qid_, cid)};
    }
    if (irq_) {
      irq_->WaitFor(vector_, seen, std::chrono::microseconds(500));
    } else {
      std::this_thread::yield();
    }
  }
}

Result<Cqe> IoQueue::Execute(const Sqe& sqe, std::chrono::milliseconds timeout,
                             const DmaBuffer* data, size_t len, size_t offset) {
  auto cid = Submit(sqe, data, len, offset);
  if (!cid.ok()) return cid.error();
  return Wait(*cid, timeout);
}

// ---- PcieDriver ----

PcieDriver::PcieDriver(const DriverOptions& options) : options_(options) {}

PcieDriver::~PcieDriver() {
  if (device_) device_->Stop();
  io_.clear();
  admin_.reset();
}

Result<std::unique_ptr<PcieDriver>> PcieDriver::Create(const DriverOptions& options) {
  std::unique_ptr<PcieDriver> d(new PcieDriver(options));
  d->dma_ = std::make_unique<DmaArena>(options.dma_base, options.dma_bytes);
  d->irq_ = std::make_unique<InterruptCounter>(options.controller.msix_vectors);
  const Clock& clock = options.clock != nullptr ? *options.clock : d->clock_;
  auto dev = PcieDevice::Create(options.controller, d->dma_->memory(), *d->irq_, clock);
  if (!dev.ok()) return dev.error();
  d->device_ = std::move(dev.value());
  if (auto r = d->Enumerate(); !r.ok()) return r.error();
  return d;
}

// What firmware and the OS do before a driver binds: decode BAR0, allow DMA, set up MSI-X.
Result<void> PcieDriver::Enumerate() {
  PcieDevice& dev = *device_;
  if (dev.ConfigRead(0x0a, 2) != 0x0108) return Error{"not an NVMe function (class code)"};
  uint16_t cmd = kCmdMemory | kCmdBusMaster;
  if (options_.interrupts == InterruptMode::kMsix) cmd |= kCmdIntxDisable;
  dev.ConfigWrite(kPciCommand, 2, cmd);
  if (options_.interrupts != InterruptMode::kMsix) return {};
  uint16_t cap = dev.ConfigRead(kPciCapPtr, 1) & 0xfc;
  for (int guard = 0; cap != 0 && guard < 48; ++guard) {
    if ((dev.ConfigRead(cap, 1) & 0xff) == kCapIdMsix) break;
    cap = dev.ConfigRead(cap + 1, 1) & 0xfc;
  }
  if (cap == 0) return Error{"no MSI-X capability"};
  uint16_t control = static_cast<uint16_t>(dev.ConfigRead(cap + 2, 2));
  uint32_t vectors = (control & 0x7ff) + 1;
  uint32_t table = dev.ConfigRead(cap + 4, 4);
  if ((table & 7) != 0) return Error{"MSI-X table not in BAR0"};
  uint32_t base = table & ~7u;
  for (uint32_t v = 0; v < vectors; ++v) {
    dev.MmioWrite(base + 16 * v + 0, 4, kMsiAddress & 0xffffffff);
    dev.MmioWrite(base + 16 * v + 4, 4, kMsiAddress >> 32);
    dev.MmioWrite(base + 16 * v + 8, 4, v);
    dev.MmioWrite(base + 16 * v + 12, 4, 0);  // unmask
  }
  dev.ConfigWrite(cap + 2, 2, control | kMsixEnable);
  return {};
}

uint16_t PcieDriver::VectorFor(uint16_t qid) const {
  if (options_.interrupts != InterruptMode::kMsix) return 0;
  return static_cast<uint16_t>(qid % options_.controller.msix_vectors);
}

Result<void> PcieDriver::WaitCsts(uint32_t mask, uint32_t value, const char* what) {
  uint64_t to = (cap() >> 24) & 0xff;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500 * (to + 1));
  for (;;) {
    uint32_t csts = this->csts();
    if ((csts & mask) == value) return {};
    if (csts & 0x2)
      return Error{fmt::format("{}: controller fatal status (CSTS={:#x})", what, csts)};
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{fmt::format("{}: timed out (CSTS={:#x})", what, csts)};
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

Result<void> PcieDriver::Disable() {
  std::lock_guard<std::mutex> lock(admin_mu_);
  uint32_t cc = static_cast<uint32_t>(device_->MmioRead(0x14, 4));
  device_->MmioWrite(0x14, 4, cc & ~1u);
  auto r = WaitCsts(1, 0, "disable");
  io_.clear();
  admin_.reset();
  return r;
}

Result<void> PcieDriver::Enable() {
  uint64_t cap = this->cap();
  uint8_t mpsmin = (cap >> 48) & 0xf, mpsmax = (cap >> 52) & 0xf;
  if (options_.mps < mpsmin || options_.mps > mpsmax) {
    return Error{
        fmt::format("MPS {} outside the controller's {}..{}", options_.mps, mpsmin, mpsmax)};
  }
  page_size_ = 1u << (12 + options_.mps);
  db_stride_ = 4u << ((cap >> 32) & 0xf);
  if (auto r = Disable(); !r.ok()) return r;
  std::lock_guard<std::mutex> lock(admin_mu_);
  uint32_t n = options_.admin_entries;
  admin_.reset(new IoQueue(*device_, *dma_, irq_.get(), page_size_, 0, n, 0, db_stride_));
  if (auto r = admin_->Allocate(true); !r.ok()) return r;
  device_->MmioWrite(0x24, 4, (n - 1) | ((n - 1) << 16));  // AQA
  device_->MmioWrite(0x28, 8, admin_->sq_mem_.addr);       // ASQ
  device_->MmioWrite(0x30, 8, admin_->cq_mem_.addr);       // ACQ
  uint32_t cc = 1u | (uint32_t{options_.mps} << 7) | (uint32_t{options_.ams & 7u} << 11) |
                (6u << 16) | (4u << 20);
  device_->MmioWrite(0x14, 4, cc);
  return WaitCsts(1, 1, "enable");
}

Result<void> PcieDriver::Shutdown(bool abrupt) {
  std::lock_guard<std::mutex> lock(admin_mu_);
  uint32_t cc = static_cast<uint32_t>(device_->MmioRead(0x14, 4));
  cc = (cc & ~(3u << 14)) | ((abrupt ? 2u : 1u) << 14);
  device_->MmioWrite(0x14, 4, cc);
  return WaitCsts(0xc, 0x8, "shutdown");
}

Result<Cqe> PcieDriver::Admin(Sqe sqe, const DmaBuffer* data, size_t len) {
  std::lock_guard<std::mutex> lock(admin_mu_);
  if (!admin_) return Error{"controller not enabled"};
  return admin_->Execute(sqe, options_.command_timeout, data, len);
}

Result<nvme_id_ctrl> PcieDriver::IdentifyController() {
  auto buf = dma_->Alloc(4096);
  if (!buf.ok()) return buf.error();
  Sqe sqe{};
  sqe.opc = 0x06;
  sqe.cdw10 = 1;  // CNS 01h
  auto cqe = Admin(sqe, &*buf, 4096);
  nvme_id_ctrl id{};
  std::memcpy(&id, buf->ptr, sizeof(id));
  dma_->Free(*buf);
  if (!cqe.ok()) return cqe.error();
  if (cqe->status >> 1) return StatusError("Identify Controller", *cqe);
  return id;
}

Result<nvme_id_ns> PcieDriver::IdentifyNamespace(uint32_t nsid) {
  auto buf = dma_->Alloc(4096);
  if (!buf.ok()) return buf.error();
  Sqe sqe{};
  sqe.opc = 0x06;
  sqe.nsid = nsid;
  sqe.cdw10 = 0;  // CNS 00h
  auto cqe = Admin(sqe, &*buf, 4096);
  nvme_id_ns id{};
  std::memcpy(&id, buf->ptr, sizeof(id));
  dma_->Free(*buf);
  if (!cqe.ok()) return cqe.error();
  if (cqe->status >> 1) return StatusError("Identify Namespace", *cqe);
  return id;
}

Result<uint32_t> PcieDriver::SetNumberOfQueues(uint16_t sqs, uint16_t cqs) {
  Sqe sqe{};
  sqe.opc = 0x09;
  sqe.cdw10 = 0x07;
  sqe.cdw11 = uint32_t(sqs - 1) | (uint32_t(cqs - 1) << 16);
  auto cqe = Admin(sqe);
  if (!cqe.ok()) return cqe.error();
  if (cqe->status >> 1) return StatusError("Set Features (Number of Queues)", *cqe);
  return cqe->dw0;
}

Result<IoQueue*> PcieDriver::CreateIoQueuePair(uint16_t qid, uint32_t entries, bool contiguous,
                                               uint8_t qprio) {
  if (qid == 0) return Error{"qid 0 is the admin queue"};
  if (entries < 2) return Error{"a queue needs at least 2 entries"};
  uint16_t vector = VectorFor(qid);
  std::unique_ptr<IoQueue> q(new IoQueue(
      *device_, *dma_, options_.interrupts == InterruptMode::kNone ? nullptr : irq_.get(),
      page_size_, qid, entries, vector, db_stride_));
  if (auto r = q->Allocate(contiguous); !r.ok()) return r.error();
  bool ien = options_.interrupts != InterruptMode::kNone;
  Sqe cq{};
  cq.opc = 0x05;
  cq.prp1 = contiguous ? q->cq_mem_.addr : q->cq_prp_list_.addr;
  cq.cdw10 = qid | ((entries - 1) << 16);
  cq.cdw11 = (contiguous ? 1u : 0u) | (ien ? 2u : 0u) | (uint32_t{vector} << 16);
  auto c = Admin(cq);
  if (!c.ok()) return c.error();
  if (c->status >> 1) return StatusError("Create I/O Completion Queue", *c);
  Sqe sq{};
  sq.opc = 0x01;
  sq.prp1 = contiguous ? q->sq_mem_.addr : q->sq_prp_list_.addr;
  sq.cdw10 = qid | ((entries - 1) << 16);
  sq.cdw11 = (contiguous ? 1u : 0u) | (uint32_t{qprio & 3u} << 1) | (uint32_t{qid} << 16);
  auto s = Admin(sq);
  if (!s.ok()) return s.error();
  if (s->status >> 1) {
    Sqe del{};
    del.opc = 0x04;
    del.cdw10 = qid;
    (void)Admin(del);
    return StatusError("Create I/O Submission Queue", *s);
  }
  if (io_.size() <= qid) io_.resize(qid + 1);
  io_[qid] = std::move(q);
  return io_[qid].get();
}

Result<void> PcieDriver::DeleteIoQueuePair(uint16_t qid) {
  if (qid >= io_.size() || !io_[qid]) return Error{fmt::format("no queue pair {}", qid)};
  Sqe sq{};
  sq.opc = 0x00;
  sq.cdw10 = qid;
  auto s = Admin(sq);
  if (!s.ok()) return s.error();
  if (s->status >> 1) return StatusError("Delete I/O Submission Queue", *s);
  Sqe cq{};
  cq.opc = 0x04;
  cq.cdw10 = qid;
  auto c = Admin(cq);
  if (!c.ok()) return c.error();
  if (c->status >> 1) return StatusError("Delete I/O Completion Queue", *c);
  io_[qid].reset();
  return {};
}

}  // namespace nvemu::host
