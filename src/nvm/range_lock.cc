// RangeLock (nvm/range_lock.h): fused Compare and Write ranges and the write gate. NVMe Base 2.0,
// 3.4.2 Fused Operations: "the controller shall ensure that ... the execution of the commands
// is atomic with respect to other commands that access the same LBA range".
//
// The write gate is an asymmetric Dekker handshake: a writer announces itself in its thread's
// slot and then loads `active_`; a pair raises `active_` and then scans the slots. The heavy side
// (membarrier PRIVATE_EXPEDITED: a full barrier on every running thread of the process) lets the
// writer use a compiler-only barrier between its store and its load. Without membarrier the
// writer issues a real fence.
#include "nvm/range_lock.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "nvm/nvm_status.h"

namespace nvemu {
namespace {

// One slot per thread that ever wrote (claimed on its first write, released at thread exit).
constexpr size_t kSlots = 1024;
struct alignas(64) WriterSlot {
  std::atomic<bool> claimed{false};
  std::atomic<const RangeLock*> lock{nullptr};  // the namespace being written, or null
  std::atomic<uint64_t> seq{0};                 // completed writes (written by the owner only)
};
WriterSlot g_slots[kSlots];
std::atomic<size_t> g_slot_high{0};  // slots [0, high) were claimed at some point

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

bool Overlaps(uint64_t a, uint64_t an, uint64_t b, uint64_t bn) { return a < b + bn && b < a + an; }

}  // namespace

bool RangeLock::TryLock(uint64_t slba, uint64_t nlb, uintptr_t owner) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Held& h : held_) {
      if (Overlaps(slba, nlb, h.slba, h.nlb)) return false;
    }
    held_.push_back(Held{slba, nlb, owner, std::this_thread::get_id()});
    active_.fetch_add(1, std::memory_order_seq_cst);
  }
  WaitForAnnouncedWrites();
  return true;
}

void RangeLock::WaitForAnnouncedWrites() {
  HeavyBarrier();
  // Every write announced before the barrier is visible now; a later one sees active_ != 0 and
  // takes mu_, where it finds our range. Wait for the announced ones (any range: they are short).
  const WriterSlot* own = t_slot.slot;
  const size_t high = g_slot_high.load(std::memory_order_acquire);
  for (size_t i = 0; i < high; ++i) {
    const WriterSlot& s = g_slots[i];
    if (&s == own || s.lock.load(std::memory_order_acquire) != this) continue;
    const uint64_t seq = s.seq.load(std::memory_order_acquire);
    while (s.lock.load(std::memory_order_acquire) == this &&
           s.seq.load(std::memory_order_acquire) == seq) {
      std::this_thread::yield();
    }
  }
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

Status RangeLock::EnterWrite(uint64_t slba, uint64_t nlb) {
  WriterSlot* slot = ThreadSlot();
  if (slot == nullptr) return EnterWriteSlow(slba, nlb);
  slot->lock.store(this, std::memory_order_relaxed);
  LightBarrier();
  // Acquire: a write after a pair's Unlock is ordered after the pair's Write.
  if (active_.load(std::memory_order_acquire) == 0) return Status::Success();
  return EnterWriteSlow(slba, nlb);
}

Status RangeLock::EnterWriteSlow(uint64_t slba, uint64_t nlb) {
  WriterSlot* slot = t_slot.slot;
  // Retract while we may wait: a pair that scans now must not wait for us.
  if (slot != nullptr) slot->lock.store(nullptr, std::memory_order_release);
  const std::thread::id self = std::this_thread::get_id();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(kMaxWaitUs);
  for (;;) {
    mu_.lock();
    const auto it = std::find_if(held_.begin(), held_.end(),
                                 [&](const Held& h) { return Overlaps(slba, nlb, h.slba, h.nlb); });
    if (it == held_.end()) {
      // Announced under mu_: a pair that locks later sees the slot in its scan and waits. A
      // thread without a slot keeps mu_ until ExitWrite (no pair can start meanwhile).
      if (slot != nullptr) {
        slot->lock.store(this, std::memory_order_relaxed);
        mu_.unlock();
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

void RangeLock::ExitWrite() {
  WriterSlot* slot = t_slot.slot;
  if (slot == nullptr) {
    mu_.unlock();
    return;
  }
  slot->seq.store(slot->seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  slot->lock.store(nullptr, std::memory_order_release);
}

}  // namespace nvemu
