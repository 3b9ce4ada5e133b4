// Futex wait/wake on a std::atomic<uint32_t> with an optional timeout (Linux futex(2)).
//
// std::atomic::wait cannot time out; the reactor needs a timed sleep for notify mode (interrupt
// coalescing deadlines) and timer mode (the next tick), and it must be woken at once by Wake().
// Threading: any thread; the word is shared between the sleeper and its wakers.
#pragma once

#include <atomic>
#include <cstdint>

namespace nvemu::engine {

inline constexpr uint64_t kWaitForever = UINT64_MAX;

// Sleeps while `*word == expected`, at most `timeout_ns` (kWaitForever: no limit). Returns early on
// FutexWake, on a signal, or when the value differs already. Spurious returns are allowed.
void FutexWait(std::atomic<uint32_t>& word, uint32_t expected, uint64_t timeout_ns);

// Wakes up to `count` threads sleeping on `word`.
void FutexWake(std::atomic<uint32_t>& word, int count);

// Asks the kernel for precise timed sleeps on this thread (PR_SET_TIMERSLACK = 1 ns; the default
// slack of 50 us would make a 5 us tick impossible to approach).
void SetPreciseTimerSlack();

// Monotonic time in nanoseconds (CLOCK_MONOTONIC through the vDSO: no system call).
uint64_t MonotonicNs();

}  // namespace nvemu::engine
