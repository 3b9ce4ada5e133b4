// RangeLock: the per-namespace LBA range lock of fused Compare and Write (NVMe Base 2.0, 3.4.2
// Fused Operations; NVM Command Set 1.0, 3.2.1 Compare and 3.2.6 Write as a fused pair), and the
// gate every other command that writes LBAs passes, so that the pair is atomic against ALL writes
// to its range from any queue, reactor or controller.
//
// Fused side (slow path): TryLock publishes [slba, slba+nlb) under mu_, raises `active_`, runs a
// process-wide heavy barrier (membarrier PRIVATE_EXPEDITED, or nothing when unavailable: then
// writers fence themselves), and waits until every write that another thread announced before it
// has finished. Such a write is executing synchronously, so the wait is short and bounded. A pair
// holds its range from the first command (Compare) to the second (Write); the two arrive one after
// the other from the same SQ, so the range may stay held across reactor polls. TryLock never
// waits for another pair: an overlapping held range fails it (the caller reports Command
// Interrupted, retryable).
//
// Write side (every LBA-writing command except the fused Write itself): WriteScope announces the
// write in the calling thread's slot (plain stores to a line only that thread writes), runs a
// compiler-only barrier (the heavy barrier orders it) and loads `active_`. No pair in flight ->
// the write proceeds: one uncontended atomic load, no lock, no read-modify-write. Otherwise the
// write takes mu_: no overlap -> proceeds (announced under mu_, so a later pair waits for it);
// overlap -> it retracts its announcement and waits for the pair (yielding, never holding
// anything a pair waits for) while the holder runs on another thread, for at most `kMaxWait`; a
// pair held by this very thread (its second command not fetched yet), or a pair that does not
// finish in time (the host never sent its second command), fails the write with Command
// Interrupted (retryable) instead of blocking the reactor.
//
// Limits: one announced write per thread at a time (synchronous writes). Asynchronous writes
// (io_uring) that are still in flight after their handler returned are not covered.
// Threading: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "nvemu/status.h"

namespace nvemu {

class RangeLock {
 public:
  // Locks [slba, slba+nlb) for `owner` unless it overlaps a range held by anyone; on success,
  // returns once no write announced before it is still executing.
  bool TryLock(uint64_t slba, uint64_t nlb, uintptr_t owner);
  // Releases every range `owner` holds.
  void Unlock(uintptr_t owner);
  size_t held();

  // Ranges held right now (an atomic load; writers test it).
  uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  // A write of [slba, slba+nlb) by the calling thread; see the header comment. Success: the
  // write may proceed and must be finished before ExitWrite. Failure (Command Interrupted): do
  // not write and do not call ExitWrite.
  Status EnterWrite(uint64_t slba, uint64_t nlb);
  void ExitWrite();

  // How long a colliding write waits for a pair held by another thread.
  static constexpr uint64_t kMaxWaitUs = 2000;

 private:
  struct Held {
    uint64_t slba;
    uint64_t nlb;
    uintptr_t owner;
    std::thread::id thread;
  };
  Status EnterWriteSlow(uint64_t slba, uint64_t nlb);
  void WaitForAnnouncedWrites();

  std::atomic<uint32_t> active_{0};
  std::mutex mu_;
  std::vector<Held> held_;  // GUARDED_BY(mu_)
};

// RAII form of EnterWrite/ExitWrite for one command's write. A null lock (no namespace) is a
// no-op.
class WriteScope {
 public:
  WriteScope() = default;
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;
  ~WriteScope() {
    if (lock_ != nullptr) lock_->ExitWrite();
  }
  Status Enter(RangeLock& lock, uint64_t slba, uint64_t nlb) {
    Status st = lock.EnterWrite(slba, nlb);
    if (st.ok()) lock_ = &lock;
    return st;
  }

 private:
  RangeLock* lock_ = nullptr;
};

}  // namespace nvemu
