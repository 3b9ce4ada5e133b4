// RangeLock (nvm/range_lock.h): fused Compare and Write ranges and the write gate. NVMe Base 2.0,
// 3.4.2 Fused Operations: "the controller shall ensure that ... the execution of the commands
// is atomic with respect to other commands that access the same LBA range".
//
// The write gate is an asymmetric Dekker handshake plus an epoch-based grace period (as in RCU):
// a writer counts itself in its thread's slot under the current epoch and then loads `active_`
// and the epoch; a pair raises `active_`, flips the epoch, runs the heavy barrier (membarrier
// PRIVATE_EXPEDITED: a full barrier on every running thread of the process) and waits for the old
// epoch's counts to drain. The heavy side lets the writer use a compiler-only barrier between its
// store and its loads. Without membarrier the writer issues a real fence.
#include "nvm/range_lock.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "engine/io_ring.h"
#include "nvm/nvm_status.h"

namespace nvemu {
namespace {

// One slot per thread that ever wrote (claimed on its first write, released at thread exit).
// count[e]: writes of epoch e that passed the gate and have not landed; written by the owner
// thread only (plain load + store, no read-modify-write), read by grace periods.
constexpr size_t kSlots = 1024;
struct alignas(64) WriterSlot {
  std::atomic<bool> claimed{false};
  std::atomic<uint32_t> count[2] = {};
};
WriterSlot g_slots[kSlots];
std::atomic<size_t> g_slot_high{0};  // slots [0, high) were claimed at some point

// The write epoch (bit 0 used; read by every write, written by grace periods only, so on a line
// of its own) and the mutex that runs grace periods one at a time.
alignas(64) std::atomic<uint32_t> g_epoch{0};
alignas(64) std::mutex g_grace_mu;
std::atomic<uint32_t> g_grace_waiting{0};

bool RegisterMembarrier() {
  return syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}
// Set during static initialisation, before any thread can write.
const bool g_membarrier = RegisterMembarrier();

void LightBarrier() {
  if (g_membarrier) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

void HeavyBarrier() {
  if (!g_membarrier || syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

struct SlotHolder {
  WriterSlot* slot = nullptr;
  bool tried = false;
  ~SlotHolder() {
    // In-flight writes of an exiting thread cannot exist: its ring drained first.
    if (slot != nullptr) slot->claimed.store(false, std::memory_order_release);
  }
};
thread_local SlotHolder t_slot;

// The calling thread's slot; null when all are taken (that thread's writes hold mu_ instead).
WriterSlot* ThreadSlot() {
  if (t_slot.tried) return t_slot.slot;
  t_slot.tried = true;
  for (size_t i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_slots[i].claimed.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      size_t high = g_slot_high.load(std::memory_order_relaxed);
      while (high < i + 1 &&
             !g_slot_high.compare_exchange_weak(high, i + 1, std::memory_order_acq_rel)) {
      }
      t_slot.slot = &g_slots[i];
      break;
    }
  }
  return t_slot.slot;
}

// Owner-only counter updates: a plain load and store (nobody else writes the slot).
void Add(std::atomic<uint32_t>& c, int32_t d) {
  c.store(c.load(std::memory_order_relaxed) + static_cast<uint32_t>(d), std::memory_order_release);
}

// Counts a write in the current epoch of `slot`; the epoch it used. A flip between reading the
// epoch and the count's store is caught by reading it again (the flipper's heavy barrier orders
// both sides): then the count moves to the new epoch.
int8_t Announce(WriterSlot* slot) {
  for (;;) {
    const uint32_t e = g_epoch.load(std::memory_order_acquire) & 1;
    Add(slot->count[e], 1);
    LightBarrier();
    if ((g_epoch.load(std::memory_order_acquire) & 1) == e) return static_cast<int8_t>(e);
    Add(slot->count[e], -1);
  }
}

// Lets the calling thread's own asynchronous completions run while it waits (engine/io_ring.h
// allows reaping from inside a command): its in-flight writes land only this way.
void ReapOwnRing() {
  if (engine::IoRing* ring = engine::IoRing::ForThread(); ring != nullptr && ring->inflight()) {
    ring->Poll(UINT32_MAX);
  }
}

// Flips the epoch and waits until every write counted in the old one has landed.
void GracePeriod() {
  while (!g_grace_mu.try_lock()) {
    ReapOwnRing();
    std::this_thread::yield();
  }
  const uint32_t old = g_epoch.load(std::memory_order_relaxed) & 1;
  g_epoch.store(old ^ 1, std::memory_order_seq_cst);
  HeavyBarrier();
  // Every write of the old epoch announced before the barrier is visible now; one announced
  // later sees the new epoch (and moves) or `active_` raised (and goes through mu_).
  const size_t high = g_slot_high.load(std::memory_order_acquire);
  bool waited = false;
  for (size_t i = 0; i < high; ++i) {
    const std::atomic<uint32_t>& c = g_slots[i].count[old];
    while (c.load(std::memory_order_acquire) != 0) {
      if (!waited) {
        waited = true;
        g_grace_waiting.fetch_add(1, std::memory_order_relaxed);
      }
      if (&g_slots[i] == t_slot.slot && engine::IoRing::ForThread() == nullptr) break;
      ReapOwnRing();
      std::this_thread::yield();
    }
  }
  if (waited) g_grace_waiting.fetch_sub(1, std::memory_order_relaxed);
  g_grace_mu.unlock();
}

bool Overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return a < b + bn && b < a + an; }

}  // namespace

uint32_t RangeLock::GracePeriodsWaitingForTesting() {
  return g_grace_waiting.load(std::memory_order_relaxed);
}

bool RangeLock::TryLock(uint64_t slba, uint64_t nlb, uintptr_t owner) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Held& h : held_) {
      if (Overlaps(slba, nlb, h.slba, h.nlb)) return false;
    }
    held_.push_back(Held{slba, nlb, owner, std::this_thread::get_id()});
    active_.fetch_add(1, std::memory_order_seq_cst);
  }
  GracePeriod();
  return true;
}

void RangeLock::Unlock(uintptr_t owner) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t before = held_.size();
  std::erase_if(held_, [owner](const Held& h) { return h.owner == owner; });
  if (before != held_.size()) {
    active_.fetch_sub(static_cast<uint32_t>(before - held_.size()), std::memory_order_release);
  }
}

size_t RangeLock::held() {
  std::lock_guard<std::mutex> lock(mu_);
  return held_.size();
}

Status RangeLock::Enter(uint64_t slba, uint64_t nlb, WriteTicket* ticket) {
  WriterSlot* slot = ThreadSlot();
  if (slot == nullptr) return EnterSlow(slba, nlb, ticket);
  const uint32_t e = g_epoch.load(std::memory_order_acquire) & 1;
  Add(slot->count[e], 1);
  LightBarrier();
  // Acquire: a write after a pair's Unlock is ordered after the pair's Write.
  if (active_.load(std::memory_order_acquire) == 0 &&
      (g_epoch.load(std::memory_order_acquire) & 1) == e) {
    ticket->epoch = static_cast<int8_t>(e);
    return Status::Success();
  }
  Add(slot->count[e], -1);  // retract: a pair that scans now must not wait for us
  return EnterSlow(slba, nlb, ticket);
}

Status RangeLock::EnterSlow(uint64_t slba, uint64_t nlb, WriteTicket* ticket) {
  WriterSlot* slot = t_slot.slot;
  const std::thread::id self = std::this_thread::get_id();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kMaxWaitUs);
  for (;;) {
    mu_.lock();
    const auto it = std::find_if(held_.begin(), held_.end(),
                                 [&](const Held& h) { return Overlaps(slba, nlb, h.slba, h.nlb); });
    if (it == held_.end()) {
      // Announced under mu_: a pair that locks later runs its grace period after this and waits.
      // A thread without a slot keeps mu_ until Exit (no pair can start meanwhile).
      if (slot != nullptr) {
        ticket->epoch = Announce(slot);
        mu_.unlock();
      } else {
        ticket->locked = this;
      }
      return Status::Success();
    }
    const bool same_thread = it->thread == self;
    mu_.unlock();
    // The pair's second command runs on this thread: waiting would never end.
    if (same_thread || std::chrono::steady_clock::now() >= deadline) {
      return nvm_sc::kCommandInterrupted;
    }
    std::this_thread::yield();
  }
}

void RangeLock::Exit(WriteTicket& ticket) {
  if (ticket.locked != nullptr) {
    ticket.locked->mu_.unlock();
  } else if (ticket.epoch >= 0 && t_slot.slot != nullptr) {
    Add(t_slot.slot->count[ticket.epoch], -1);
  }
  ticket = WriteTicket{};
}

}  // namespace nvemu
