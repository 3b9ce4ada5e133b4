#include "engine/futex.h"

#include <linux/futex.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace nvemu::engine {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
static_assert(std::atomic<uint32_t>::is_always_lock_free);

namespace {

uint32_t* Word(std::atomic<uint32_t>& word) {
  // A lock-free std::atomic<uint32_t> has the object representation of uint32_t (as libstdc++'s
  // own std::atomic::wait relies on).
  return reinterpret_cast<uint32_t*>(&word);
}

}  // namespace

void FutexWait(std::atomic<uint32_t>& word, uint32_t expected, uint64_t timeout_ns) {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns != kWaitForever) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    tsp = &ts;
  }
  // FUTEX_WAIT's timeout is relative (CLOCK_MONOTONIC). EAGAIN/EINTR/ETIMEDOUT all mean "look
  // again", which is what every caller does.
  syscall(SYS_futex, Word(word), FUTEX_WAIT_PRIVATE, expected, tsp, nullptr, 0);
}

void FutexWake(std::atomic<uint32_t>& word, int count) {
  syscall(SYS_futex, Word(word), FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

void SetPreciseTimerSlack() { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace nvemu::engine
