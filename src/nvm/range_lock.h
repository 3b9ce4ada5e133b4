// RangeLock: the per-namespace LBA range lock of fused Compare and Write (NVMe Base 2.0, 3.4.2
// Fused Operations; NVM Command Set 1.0, 3.2.1 Compare and 3.2.6 Write as a fused pair), and the
// gate every other command that writes LBAs passes, so that the pair is atomic against ALL writes
// to its range from any queue, reactor or controller, including writes that complete
// asynchronously (io_uring): a write is covered from the moment it passes the gate until its data
// has landed (WriteTicket released by the command's completion).
//
// Fused side (slow path): TryLock publishes [slba, slba+nlb) under mu_ and raises `active_`; from
// then on every new write of an overlapping range is held off. It then runs a grace period: the
// process-wide write epoch (one bit) is flipped, a heavy barrier (membarrier PRIVATE_EXPEDITED, or
// a fence when unavailable) makes every writer's announcement visible, and the pair waits until
// each thread's count of writes of the old epoch is zero. Writes of the old epoch are a finite set
// (new writes count in the new epoch), so the wait ends once they have landed. Grace periods run
// one at a time (a process-wide mutex, taken with try_lock). While it waits, the pair's thread
// reaps its own io_uring (its own in-flight writes can only land that way, and two pairs on two
// reactors that wait for each other's writes both make progress): no deadlock.
//
// Write side (every LBA-writing command except the fused Write itself): Enter announces the write
// in the calling thread's slot (count[epoch] += 1: a plain store to a line only that thread
// writes), runs a compiler-only barrier (the heavy barrier orders it) and loads `active_` and the
// epoch. No pair in flight -> the write proceeds: two uncontended loads, no lock, no
// read-modify-write, no allocation. Otherwise it retracts and takes mu_: no overlap -> it is
// announced under mu_ (so a pair that locks later waits for it) and proceeds; overlap -> it waits
// for the pair (yielding, holding nothing a pair waits for) while the holder runs on another
// thread, for at most `kMaxWaitUs`; a pair held by this very thread (its second command not
// fetched yet), or a pair that does not finish in time (the host never sent its second command),
// fails the write with Command Interrupted (retryable) instead of blocking the reactor.
//
// A WriteTicket must be released on the thread that entered (the asynchronous completion of a
// command runs on its reactor thread: nvm/async_slot.h). A thread that got no slot (more than
// kSlots threads ever wrote at once) keeps mu_ from Enter to Exit: its writes must stay
// synchronous (WriteScope::may_go_async() is false).
// Threading: any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "nvemu/status.h"

namespace nvemu {

class RangeLock;

// One write's pass through the gate: which epoch counts it (or, for a thread without a slot, the
// lock whose mutex it holds).
struct WriteTicket {
  int8_t epoch = -1;            // 0 or 1: counted in the thread's slot; -1: none
  RangeLock* locked = nullptr;  // mu_ held (thread without a slot)
  bool held() const { return epoch >= 0 || locked != nullptr; }
};

class RangeLock {
 public:
  // Locks [slba, slba+nlb) for `owner` unless it overlaps a range held by anyone; on success,
  // returns once every write that passed the gate before it (synchronous or in flight) has landed.
  bool TryLock(uint64_t slba, uint64_t nlb, uintptr_t owner);
  // Releases every range `owner` holds.
  void Unlock(uintptr_t owner);
  size_t held();

  // Ranges held right now (an atomic load; writers test it).
  uint32_t active() const { return active_.load(std::memory_order_relaxed); }

  // A write of [slba, slba+nlb) by the calling thread; see the header comment. Success: the
  // write may proceed and its ticket must be released (Exit, same thread) once its data has
  // landed. Failure (Command Interrupted): do not write; nothing to release.
  Status Enter(uint64_t slba, uint64_t nlb, WriteTicket* ticket);
  static void Exit(WriteTicket& ticket);

  // How long a colliding write waits for a pair held by another thread.
  static constexpr uint64_t kMaxWaitUs = 2000;

  // Tests: grace periods (any namespace) waiting right now for writes that passed the gate
  // earlier and have not landed yet.
  static uint32_t GracePeriodsWaitingForTesting();

 private:
  struct Held {
    uint64_t slba;
    uint64_t nlb;
    uintptr_t owner;
    std::thread::id thread;
  };
  Status EnterSlow(uint64_t slba, uint64_t nlb, WriteTicket* ticket);

  std::atomic<uint32_t> active_{0};
  std::mutex mu_;
  std::vector<Held> held_;  // GUARDED_BY(mu_)
};

// RAII form of Enter/Exit for one command's write. A write that goes asynchronous hands its
// ticket to the command's completion (Release) instead of releasing it when the scope ends.
class WriteScope {
 public:
  WriteScope() = default;
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;
  ~WriteScope() { RangeLock::Exit(ticket_); }
  Status Enter(RangeLock& lock, uint64_t slba, uint64_t nlb) {
    return lock.Enter(slba, nlb, &ticket_);
  }
  // False when the ticket holds a mutex: the write must complete before the scope ends.
  bool may_go_async() const { return ticket_.locked == nullptr; }
  // Hands the ticket over (to be released by RangeLock::Exit on this thread, later).
  WriteTicket Release() {
    WriteTicket t = ticket_;
    ticket_ = WriteTicket{};
    return t;
  }

 private:
  WriteTicket ticket_;
};

}  // namespace nvemu
