// Clock: the controller's source of time (keep-alive, timestamps, timer mode, power-on hours).
//
// SystemClock reads CLOCK_MONOTONIC; ManualClock only moves when Advance() is called, for deterministic
// tests. Threading: Now() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace nvemu {

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds since an arbitrary fixed origin; never goes backwards.
  virtual uint64_t NowNs() const = 0;
};

class SystemClock final : public Clock {
 public:
  uint64_t NowNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

class ManualClock final : public Clock {
 public:
  uint64_t NowNs() const override { return now_.load(std::memory_order_acquire); }
  void Advance(uint64_t ns) { now_.fetch_add(ns, std::memory_order_acq_rel); }

 private:
  std::atomic<uint64_t> now_{0};
};

}  // namespace nvemu
