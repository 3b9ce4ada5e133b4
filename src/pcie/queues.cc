#include "pcie/queues.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "core/controller.h"
#include "pcie/config_space.h"
#include "pcie/interrupts.h"
#include "pcie/prp.h"
#include "pcie/sgl.h"
#include "pcie/shadow_doorbells.h"
#include "spec/registers.h"
#include "spec/request.h"

namespace nvemu::pcie {
namespace {

constexpr uint32_t kSqEntrySize = 64;
constexpr uint32_t kCqEntrySize = 16;

template <typename T>
void EraseValue(std::vector<T>& v, const T& x) {
  v.erase(std::remove(v.begin(), v.end(), x), v.end());
}

// SQ entries prefetched ahead of the one being executed.
constexpr uint32_t kPrefetchAhead = 4;

// Prefetches the SQ entry `ahead` entries after the head (mapped rings only).
void PrefetchEntry(const PcieSq& sq, uint32_t ahead) {
  uint32_t index = sq.head + ahead;
  if (index >= sq.size) index -= sq.size;
  if (const uint8_t* p = sq.mem.EntryPointer(index, kSqEntrySize)) __builtin_prefetch(p, 0, 3);
}

// Room kept in the copy batch before each command (pieces of a typical command, see ServeSq).
constexpr uint32_t kMinBatchRoom = 2;

// Completions held for the copy batch at most: the batch runs and posts them once this many
// commands wait. A host refills as completions arrive, so holding a whole pass (up to the queue
// depth) makes host and device take turns: the host idles while the device copies, the device
// while the host reaps and refills. Posting every few commands keeps both busy. Measured with
// `nvemu perf` (RAM 1 GiB randread QD 32, one reactor; docs/performance.md, session 5): 8 beat 4,
// 16 and 64 (the old bound, the batch capacity).
constexpr uint32_t kMaxHeldCommands = 8;

// Commands whose data is prefetched ahead of the one executing (Controller::PrefetchIo).
constexpr uint32_t kDataAhead = 1;

// Counters have one writer (the reactor thread): load + store, no locked read-modify-write.
void Bump(std::atomic<uint64_t>& counter, uint64_t by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

}  // namespace

void PcieSq::InitAsyncSlots(uint32_t count) {
  async_slots = std::make_unique<AsyncSlot[]>(count);
  async_free = nullptr;
  for (uint32_t i = count; i-- > 0;) {
    AsyncSlot& s = async_slots[i];
    s.complete = &QueueGroup::OnAsyncComplete;
    s.owner = this;
    s.user = async_free;
    async_free = &s;
  }
}

void QueueGroup::AddCq(PcieCq* cq) {
  cq->head = 0;
  cq->free = cq->size - 1;
  cq->stalled = false;
  if (cq->ien) cq->vector_slot = aggregator_.Attach(cq->iv);
  cqs_.push_back(cq);
}

void QueueGroup::AddSq(PcieSq* sq) {
  sq->group = this;
  sqs_.push_back(sq);
  sq->cq->sqs.push_back(sq);
  arbiter_.Add(sq);
}

void QueueGroup::RemoveSq(PcieSq* sq) {
  WaitInflight(*sq);  // NVMe Base 2.0, 5.7: its commands complete before the SQ goes
  EraseValue(sqs_, sq);
  EraseValue(sq->cq->sqs, sq);
  arbiter_.Remove(sq);
  if (AllSqsFetched()) EndPassBusy();  // its unfetched entries no longer count
}

void QueueGroup::RemoveCq(PcieCq* cq) {
  if (cq->intx_pending && env_.intx_source) env_.intx_source(cq->iv, false);
  cq->intx_pending = false;
  if (cq->ien) aggregator_.Detach(cq->vector_slot);
  EraseValue(cqs_, cq);
}

void QueueGroup::Clear() {
  // Controller reset: wait for in-flight I/O (its buffers and slots must outlive it) but post
  // nothing; the queues are going away.
  discard_async_ = true;
  for (PcieSq* sq : sqs_) WaitInflight(*sq);
  discard_async_ = false;
  EndPassBusy();
  for (PcieCq* cq : cqs_) {
    if (cq->intx_pending && env_.intx_source) env_.intx_source(cq->iv, false);
    cq->intx_pending = false;
    cq->reserved = 0;
    cq->sqs.clear();
  }
  cqs_.clear();
  sqs_.clear();
  arbiter_.Clear();
  aggregator_.Clear();
  deferred_.clear();
}

uint32_t QueueGroup::Poll(uint32_t budget) {
  uint32_t done = 0;
  if (admin_ && !deferred_.empty()) FlushDeferred();
  // A function without Bus Master Enable may not read or write host memory.
  if (!sqs_.empty() && env_.config->BusMasterEnabled()) {
    // One doorbell read per SQ per pass; entries the host adds meanwhile wait for the next pass.
    for (PcieSq* sq : sqs_) {
      sq->tail = sq->event_idx ? ReadShadowTail(*sq) : sq->tail_db->load(std::memory_order_acquire);
    }
    const ArbitrationParams params = DecodeArbitration(env_.controller->arbitration());
    auto serve = [this](PcieSq& sq, uint32_t max) { return ServeSq(sq, max); };
    // CC.AMS is fixed while the controller is enabled (3.1.3.5); the admin SQ is alone here.
    if (!admin_ && env_.controller->cc().ams() == reg::kAmsWrrUrgent) {
      done = arbiter_.WeightedRoundRobin(params, budget, serve);
    } else {
      done = arbiter_.RoundRobin(params, budget, serve);
    }
    if (done != 0) Bump(commands_, done);
  }
  // Controller Busy Time: the pass's commands have completed or are counted in flight, but the
  // host may have queued more behind them (outstanding too: issued through the tail doorbell, not
  // yet completed). Stay busy until a pass leaves every SQ fetched up to the tail it read, so
  // that passes back to back under load read no clock and touch no shared counter.
  if (pass_busy_ && AllSqsFetched()) EndPassBusy();
  RaiseInterrupts();
  return done;
}

bool QueueGroup::AllSqsFetched() const {
  for (const PcieSq* sq : sqs_) {
    if (sq->head != sq->tail) return false;
  }
  return true;
}

void QueueGroup::EndPassBusy() {
  if (pass_busy_) {
    pass_busy_ = false;
    busy_.End();
  }
}

uint64_t QueueGroup::TimeoutNs() {
  if (!aggregator_.HasPending()) return engine::kWaitForever;
  return aggregator_.TimeoutNs(Coalescing(), env_.controller->clock().NowNs());
}

// Launches up to `max` commands of `sq`, as many as its CQ has free slots for.
uint32_t QueueGroup::ServeSq(PcieSq& sq, uint32_t max) {
  if (sq.head == sq.tail) return 0;
  const uint32_t avail = RingDistance(sq.head, sq.tail, sq.size);
  uint32_t n = std::min(avail, max);
  PcieCq& cq = *sq.cq;
  // 3.3.1.3: a full CQ stops fetching; the CQ head doorbell wakes us when the host frees a slot.
  // Slots reserved for in-flight commands are not free.
  if (cq.free - cq.reserved < n && cq.RefreshFree() - cq.reserved == 0) {
    if (!cq.stalled) {
      cq.stalled = true;
      Bump(cq_full_stalls_);
    }
    return 0;
  }
  cq.stalled = false;
  n = std::min(n, cq.free - cq.reserved);
  const uint32_t page_size = env_.controller->page_size();
  // The host wrote these SQEs from another core: start pulling their cache lines over now, a few
  // entries ahead of the one being executed.
  for (uint32_t i = 0; i < std::min(n, kPrefetchAhead); ++i) PrefetchEntry(sq, i);
  // I/O queues batch their RAM copies (pcie/copy_batch.h); every return below runs the batch and
  // posts the completions held for it first.
  CopyBatch* batch = admin_ ? nullptr : &copies_;
  for (uint32_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) PrefetchEntry(sq, i + kPrefetchAhead);
    // A command may queue up to a piece per page; one that does not fit copies inline, so keep
    // room for a typical command (a 4 KiB read is one piece). Post every kMaxHeldCommands.
    if ((copies_.room() < kMinBatchRoom || held_count_ >= kMaxHeldCommands) && !FlushCopies(sq)) {
      return i;
    }
    Request req;
    if (!FetchEntry(sq, &req.sqe)) {  // fatal (CSTS.CFS): the head never moves again
      FlushCopies(sq);
      EndPassBusy();
      return i;
    }
    if (!admin_ && !pass_busy_) {  // outstanding from its fetch until its CQE is posted
      pass_busy_ = true;
      busy_.Begin(env_.controller->io_busy(), env_.controller->clock());
    }
    // Look ahead: let the backend start fetching the data of the command kDataAhead entries on
    // (its SQE line was prefetched above) while this one copies.
    if (!admin_) {
      for (uint32_t k = i == 0 ? 1 : kDataAhead; k <= kDataAhead && i + k < n; ++k) {
        PrefetchCommandData(sq, k);
      }
    }
    sq.head = sq.head + 1 == sq.size ? 0 : sq.head + 1;
    req.sqid = sq.qid;
    AsyncSlot* slot = sq.async_free;  // offered; the handler may complete asynchronously
    req.async = slot;
    // Data and metadata channels from PSDT: PRPs or SGLs (pcie/sgl.h, NVMe Base 2.0, 4.1).
    const uint32_t queued_before = copies_.size();
    Status st = WithDataChannels(
        *env_.memory, page_size, req, admin_,
        [&] {
          return admin_ ? env_.controller->ExecuteAdmin(req) : env_.controller->ExecuteIo(req);
        },
        batch);
    if (!st.ok()) {
      spdlog::debug("pcie: sq {} cid {} opc {:#04x} -> {}", sq.qid, req.sqe.cid, req.sqe.opc,
                    st.ToString());
      env_.controller->RecordError(req, st);  // Error Information log (issue #3)
    }
    if (req.in_flight) {
      // Completes through OnAsyncComplete; its CQ slot stays reserved until then.
      sq.async_free = static_cast<AsyncSlot*>(slot->user);
      slot->cid = req.sqe.cid;
      slot->sqe = req.sqe;
      ++sq.inflight;
      ++cq.reserved;
      busy_.Begin(env_.controller->io_busy(), env_.controller->clock());  // no clock read: busy
      continue;
    }
    if (req.deferred) continue;  // completes later through PostDeferred (AER, Abort)
    Cqe cqe;
    cqe.dw0 = req.dw0;
    cqe.dw1 = req.dw1;
    cqe.sqhd = static_cast<uint16_t>(sq.head);
    cqe.sqid = sq.qid;
    cqe.cid = req.sqe.cid;
    if (copies_.size() != queued_before) {
      // Its data moves when the batch runs: hold the completion until then (phase set there).
      cqe.status = static_cast<uint16_t>(st.field() << 1);
      held_[held_count_++] = cqe;
      continue;
    }
    cqe.status = static_cast<uint16_t>((st.field() << 1) | (cq.phase ? 1 : 0));
    sq.PublishHead();
    if (!PostCompletion(cq, cqe)) {
      FlushCopies(sq);
      return i;
    }
  }
  FlushCopies(sq);
  return n;
}

bool QueueGroup::FlushCopies(PcieSq& sq) {
  if (copies_.empty()) return true;
  Bump(copies_batched_, copies_.size());
  // CQ slots: ServeSq launched no more commands than the CQ had free slots for.
  PcieCq& cq = *sq.cq;
  const uint32_t count = held_count_;
  PrefetchAroundCopies(sq, count);
  copies_.RunUpTo(1);
  PrefetchQueuedEntries(sq);  // its doorbell line was prefetched: has it arrived meanwhile
  copies_.Run();
  held_count_ = 0;
  if (count == 0) return true;
  // Publish once for the whole batch (PostCompletion would store per entry): the head its SQHD
  // reports, and the CQ tail past its last entry, before any of its phase tags is written.
  sq.PublishHead();
  if (cq.tail_pub != nullptr) {
    uint32_t end = cq.tail + count;
    if (end >= cq.size) end -= cq.size;
    cq.tail_pub->store(end, std::memory_order_release);
  }
  for (uint32_t k = 0; k < count; ++k) {
    Cqe cqe = held_[k];
    cqe.sqhd = static_cast<uint16_t>(sq.head);  // SQHD: the head as of posting
    cqe.status = static_cast<uint16_t>(cqe.status | (cq.phase ? 1 : 0));
    // Fatal (CSTS.CFS) on failure: the rest are moot.
    if (!PostCompletion(cq, cqe, /*publish_tail=*/false)) return false;
  }
  return true;
}

void QueueGroup::OnAsyncComplete(AsyncSlot* slot, Status st) {
  auto* sq = static_cast<PcieSq*>(slot->owner);
  sq->group->CompleteAsync(*sq, slot, st);
}

// Reactor thread (the ring's reap): posts into the CQ slot reserved at fetch time.
void QueueGroup::CompleteAsync(PcieSq& sq, AsyncSlot* slot, Status st) {
  PcieCq& cq = *sq.cq;
  --sq.inflight;
  --cq.reserved;
  busy_.End();  // posted below (or discarded by a reset)
  const Sqe sqe = slot->sqe;
  slot->user = sq.async_free;
  sq.async_free = slot;
  if (discard_async_) return;
  if (!st.ok()) {
    Request req;
    req.sqe = sqe;
    req.sqid = sq.qid;
    spdlog::debug("pcie: sq {} cid {} opc {:#04x} -> {}", sq.qid, sqe.cid, sqe.opc, st.ToString());
    env_.controller->RecordError(req, st);
  }
  Cqe cqe{};
  cqe.sqhd = static_cast<uint16_t>(sq.head);
  cqe.sqid = sq.qid;
  cqe.cid = sqe.cid;
  cqe.status = static_cast<uint16_t>((st.field() << 1) | (cq.phase ? 1 : 0));
  sq.PublishHead();
  PostCompletion(cq, cqe);  // counted in commands() when it was fetched
}

void QueueGroup::WaitInflight(PcieSq& sq) {
  if (sq.inflight == 0) return;
  engine::IoRing* ring = engine::IoRing::ForThread();
  while (sq.inflight != 0 && ring != nullptr) ring->WaitOne();
}

void QueueGroup::DrainInflight() {
  for (PcieSq* sq : sqs_) WaitInflight(*sq);
}

// Deferred completions (FrontEnd::CompleteDeferred) of the admin queue: posted in order as CQ 0
// has room, before any newly fetched command; dropped once the admin queue is gone (reset).
void QueueGroup::PostDeferred(const Cqe& cqe) {
  if (!admin_ || cqs_.empty()) return;
  deferred_.push_back(cqe);
  FlushDeferred();
  RaiseInterrupts();
}

void QueueGroup::FlushDeferred() {
  if (cqs_.empty() || !env_.config->BusMasterEnabled()) return;
  PcieCq& cq = *cqs_.front();
  size_t posted = 0;
  while (posted < deferred_.size() && (cq.free > 0 || cq.RefreshFree() > 0)) {
    Cqe cqe = deferred_[posted];
    if (!sqs_.empty()) sqs_.front()->PublishHead();
    cqe.sqhd = static_cast<uint16_t>(sqs_.empty() ? 0 : sqs_.front()->head);
    cqe.status = static_cast<uint16_t>((cqe.status & ~1u) | (cq.phase ? 1 : 0));
    if (!PostCompletion(cq, cqe)) break;
    ++posted;
  }
  deferred_.erase(deferred_.begin(), deferred_.begin() + static_cast<ptrdiff_t>(posted));
}

// The copies take a few hundred nanoseconds each: let the lines the host's core owns, which come
// next, travel meanwhile. Those are the CQ entries the held completions go to (written right after
// the copies), the SQ tail doorbell, and (PrefetchQueuedEntries, after the first copy) the SQ
// entries the host has queued since this pass read the doorbell.
void QueueGroup::PrefetchAroundCopies(const PcieSq& sq, uint32_t held) {
  const PcieCq& cq = *sq.cq;
  for (uint32_t k = 0; k < held; ++k) {
    uint32_t index = cq.tail + k;
    if (index >= cq.size) index -= cq.size;
    if (k != 0 && (index & 3) != 0) continue;  // one per 64-byte line of four entries
    if (uint8_t* p = cq.mem.EntryPointer(index, kCqEntrySize)) __builtin_prefetch(p, 1, 3);
  }
  if (sq.event_idx == nullptr) __builtin_prefetch(sq.tail_db, 0, 3);
}

// A relaxed peek at the tail doorbell: only a prefetch depends on it, the next pass reads it for
// real. Shadow doorbells keep the tail in host memory: nothing to peek.
void QueueGroup::PrefetchQueuedEntries(const PcieSq& sq) {
  if (sq.event_idx != nullptr) return;
  const uint32_t tail = sq.tail_db->load(std::memory_order_relaxed);
  if (tail >= sq.size) return;
  const uint32_t queued = RingDistance(sq.head, tail, sq.size);
  for (uint32_t k = 0; k < std::min(queued, kMaxHeldCommands); ++k) PrefetchEntry(sq, k);
}

void QueueGroup::PrefetchCommandData(const PcieSq& sq, uint32_t ahead) {
  uint32_t index = sq.head + ahead;
  if (index >= sq.size) index -= sq.size;
  if (const uint8_t* p = sq.mem.EntryPointer(index, kSqEntrySize)) {
    env_.controller->PrefetchIo(*reinterpret_cast<const Sqe*>(p));
  }
}

bool QueueGroup::FetchEntry(PcieSq& sq, Sqe* sqe) {
  if (const uint8_t* p = sq.mem.EntryPointer(sq.head, kSqEntrySize)) {
    std::memcpy(sqe, p, kSqEntrySize);
    return true;
  }
  if (env_.memory->Read(sq.mem.EntryAddress(sq.head, kSqEntrySize), sqe, kSqEntrySize)) {
    return true;
  }
  spdlog::error("pcie: SQ {} entry {} is not readable host memory", sq.qid, sq.head);
  env_.fatal("submission queue fetch failed");
  return false;
}

bool QueueGroup::PostCompletion(PcieCq& cq, const Cqe& cqe, bool publish_tail) {
  // The phase tag must become visible last: write dwords 0-2, then dword 3 (CID, status, phase).
  uint32_t dw3;
  std::memcpy(&dw3, reinterpret_cast<const uint8_t*>(&cqe) + 12, 4);
  if (publish_tail && cq.tail_pub != nullptr) {
    cq.tail_pub->store(cq.tail + 1 == cq.size ? 0 : cq.tail + 1, std::memory_order_release);
  }
  uint8_t* p = cq.mem.EntryPointer(cq.tail, kCqEntrySize);
  if (p == nullptr) p = env_.memory->Map(cq.mem.EntryAddress(cq.tail, kCqEntrySize), kCqEntrySize);
  if (p != nullptr) {
    std::memcpy(p, &cqe, 12);
    std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(p + 12))
        .store(dw3, std::memory_order_release);
  } else {
    const uint64_t addr = cq.mem.EntryAddress(cq.tail, kCqEntrySize);
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
  // The host reads the CQ from another core: fetch the next CQE line for writing early.
  if ((cq.tail & 3) == 0) {
    if (uint8_t* next = cq.mem.EntryPointer(cq.tail, kCqEntrySize)) __builtin_prefetch(next, 1, 3);
  }
  --cq.free;
  if (cq.ien) aggregator_.Posted(cq.vector_slot);
  return true;
}

CoalescingParams QueueGroup::Coalescing() const {
  // 5.27.1.9: interrupt coalescing does not apply to the Admin Completion Queue.
  if (admin_) return CoalescingParams{};
  return DecodeCoalescing(env_.controller->interrupt_coalescing());
}

void QueueGroup::RaiseInterrupts() {
  if (!env_.config->MsixEnabled()) {
    aggregator_.DropPending();
    for (PcieCq* cq : cqs_) UpdateIntx(*cq);
    return;
  }
  if (!aggregator_.HasPending()) return;
  const uint64_t before = aggregator_.signals();
  Controller& ctrl = *env_.controller;
  aggregator_.Flush(
      Coalescing(), [&](uint16_t iv) { return ctrl.coalescing_disabled(iv); },
      [&] { return ctrl.clock().NowNs(); }, [&](uint16_t iv) { env_.interrupts->Signal(iv); });
  Bump(irqs_, aggregator_.signals() - before);
}

// Pin-based interrupts (NVMe over PCIe): the vector stays asserted while a CQ with interrupts
// enabled holds entries the host has not consumed.
void QueueGroup::UpdateIntx(PcieCq& cq) {
  bool pending = cq.ien && cq.tail != cq.head_db->load(std::memory_order_acquire);
  if (pending != cq.intx_pending) {
    cq.intx_pending = pending;
    if (env_.intx_source) env_.intx_source(cq.iv, pending);
  }
}

}  // namespace nvemu::pcie
