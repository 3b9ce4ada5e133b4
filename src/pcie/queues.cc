#include "pcie/queues.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/controller.h"
#include "pcie/config_space.h"
#include "pcie/interrupts.h"
#include "pcie/prp.h"
#include "spec/request.h"

namespace nvemu::pcie {
namespace {

constexpr uint32_t kSqEntrySize = 64;
constexpr uint32_t kCqEntrySize = 16;
// Round robin burst: entries taken from one SQ before moving to the next (NVMe Base 2.0, 3.4.4.1).
constexpr uint32_t kArbitrationBurst = 8;

template <typename T>
void EraseValue(std::vector<T>& v, const T& x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

}  // namespace

void QueueGroup::AddCq(PcieCq* cq) { cqs_.push_back(cq); }

void QueueGroup::AddSq(PcieSq* sq) {
  sqs_.push_back(sq);
  sq->cq->sqs.push_back(sq);
}

void QueueGroup::RemoveSq(PcieSq* sq) {
  EraseValue(sqs_, sq);
  EraseValue(sq->cq->sqs, sq);
  rr_next_ = 0;
}

void QueueGroup::RemoveCq(PcieCq* cq) {
  if (cq->intx_pending && env_.intx_source) env_.intx_source(cq->iv, false);
  cq->intx_pending = false;
  EraseValue(cqs_, cq);
}

void QueueGroup::Clear() {
  for (PcieCq* cq : cqs_) {
    if (cq->intx_pending && env_.intx_source) env_.intx_source(cq->iv, false);
    cq->intx_pending = false;
    cq->sqs.clear();
  }
  cqs_.clear();
  sqs_.clear();
  rr_next_ = 0;
}

uint32_t QueueGroup::Poll(uint32_t budget) {
  if (sqs_.empty()) return 0;
  // A function without Bus Master Enable may not read or write host memory.
  if (!env_.config->BusMasterEnabled()) return 0;
  uint32_t done = 0;
  const size_t n = sqs_.size();
  bool progress = true;
  while (done < budget && progress) {
    progress = false;
    for (size_t i = 0; i < n && done < budget; ++i) {
      PcieSq& sq = *sqs_[(rr_next_ + i) % n];
      uint32_t k = ServeSq(sq, std::min(kArbitrationBurst, budget - done));
      progress |= k > 0;
      done += k;
    }
    rr_next_ = (rr_next_ + 1) % n;
  }
  RaiseInterrupts();
  return done;
}

uint32_t QueueGroup::ServeSq(PcieSq& sq, uint32_t budget) {
  const uint32_t tail = sq.tail_db->load(std::memory_order_acquire);
  PcieCq& cq = *sq.cq;
  const uint32_t page_size = env_.controller->page_size();
  uint32_t k = 0;
  while (sq.head != tail && k < budget) {
    // 3.3.1.3: a full CQ stops fetching; the CQ head doorbell wakes us when the host frees a slot.
    if (cq.Full()) {
      cq_full_stalls_.fetch_add(1, std::memory_order_relaxed);
      break;
    }
    Request req;
    if (!env_.memory->Read(sq.mem.EntryAddress(sq.head, kSqEntrySize), &req.sqe, kSqEntrySize)) {
      spdlog::error("pcie: SQ {} entry {} is not readable host memory", sq.qid, sq.head);
      env_.fatal("submission queue fetch failed");
      return k;
    }
    sq.head = (sq.head + 1) % sq.size;
    req.sqid = sq.qid;
    PrpChannel prp(*env_.memory, page_size, req.sqe.prp1, req.sqe.prp2);
    req.data = &prp;
    Status st;
    // PSDT 00b is PRP; SGLs are not supported (Identify SGLS = 0): Invalid Field (4.1.2).
    if (req.sqe.psdt() != 0) {
      st = sc::kInvalidField;
    } else {
      st = admin_ ? env_.controller->ExecuteAdmin(req) : env_.controller->ExecuteIo(req);
    }
    if (!st.ok()) {
      spdlog::debug("pcie: sq {} cid {} opc {:#04x} -> {}", sq.qid, req.sqe.cid, req.sqe.opc,
                    st.ToString());
    }
    Cqe cqe{};
    cqe.dw0 = req.dw0;
    cqe.dw1 = req.dw1;
    cqe.sqhd = static_cast<uint16_t>(sq.head);
    cqe.sqid = sq.qid;
    cqe.cid = req.sqe.cid;
    cqe.status = static_cast<uint16_t>(st.field() << 1);
    if (!PostCompletion(cq, cqe)) return k;
    ++k;
  }
  commands_.fetch_add(k, std::memory_order_relaxed);
  return k;
}

bool QueueGroup::PostCompletion(PcieCq& cq, Cqe& cqe) {
  cqe.status |= cq.phase ? 1 : 0;
  uint64_t addr = cq.mem.EntryAddress(cq.tail, kCqEntrySize);
  // The phase tag must become visible last: write dwords 0-2, then dword 3 (CID, status, phase).
  uint32_t dw3;
  std::memcpy(&dw3, reinterpret_cast<const uint8_t*>(&cqe) + 12, 4);
  if (uint8_t* p = env_.memory->Map(addr, kCqEntrySize)) {
    std::memcpy(p, &cqe, 12);
    std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(p + 12))
        .store(dw3, std::memory_order_release);
  } else {
    bool ok = env_.memory->Write(addr, &cqe, 12);
    std::atomic_thread_fence(std::memory_order_release);
    if (!ok || !env_.memory->Write(addr + 12, &dw3, 4)) {
      spdlog::error("pcie: CQ {} entry {} is not writable host memory", cq.qid, cq.tail);
      env_.fatal("completion queue write failed");
      return false;
    }
  }
  if (++cq.tail == cq.size) {
    cq.tail = 0;
    cq.phase = !cq.phase;
  }
  cq.irq_pending = true;
  return true;
}

void QueueGroup::RaiseInterrupts() {
  const bool msix = env_.config->MsixEnabled();
  for (PcieCq* cq : cqs_) {
    if (!msix) {
      UpdateIntx(*cq);
      cq->irq_pending = false;
      continue;
    }
    if (cq->irq_pending) {
      cq->irq_pending = false;
      if (cq->ien) env_.interrupts->Signal(cq->iv);
    }
  }
}

// Pin-based interrupts (NVMe over PCIe): the vector stays asserted while a CQ with interrupts enabled
// holds entries the host has not consumed.
void QueueGroup::UpdateIntx(PcieCq& cq) {
  bool pending = cq.ien && cq.tail != cq.head_db->load(std::memory_order_acquire);
  if (pending != cq.intx_pending) {
    cq.intx_pending = pending;
    if (env_.intx_source) env_.intx_source(cq.iv, pending);
  }
}

}  // namespace nvemu::pcie
