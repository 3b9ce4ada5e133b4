// RangeLock: the per-namespace LBA range lock of fused Compare and Write (NVMe Base 2.0, 3.4.2
// Fused Operations; NVM Command Set 1.0, 3.2.x Compare and Write fused operation).
//
// Only fused operations take it (a documented slow path): plain reads and writes stay lock-free.
// A fused pair holds its range from the first command (Compare) to the second (Write); the two
// commands arrive one after the other from the same SQ, so the lock may be held across reactor
// polls. To never block a reactor (a holder on the same thread would deadlock), TryLock does not
// wait: a pair that finds its range held fails its first command with Command Interrupted
// (retryable) and its second with Command Aborted due to Failed Fused Command.
// Threading: any thread; a mutex guards the small list of held ranges.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace nvemu {

class RangeLock {
 public:
  // Locks [slba, slba+nlb) for `owner` unless it overlaps a range held by anyone.
  bool TryLock(uint64_t slba, uint64_t nlb, uintptr_t owner) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Held& h : held_) {
      if (slba < h.slba + h.nlb && h.slba < slba + nlb) return false;
    }
    held_.push_back(Held{slba, nlb, owner});
    return true;
  }
  // Releases every range `owner` holds.
  void Unlock(uintptr_t owner) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(held_, [owner](const Held& h) { return h.owner == owner; });
  }
  size_t held() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }

 private:
  struct Held {
    uint64_t slba;
    uint64_t nlb;
    uintptr_t owner;
  };
  std::mutex mu_;
  std::vector<Held> held_;  // GUARDED_BY(mu_)
};

}  // namespace nvemu
