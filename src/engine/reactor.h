// Reactor: one thread that owns a set of pollers (queue groups, connections) and runs them.
//
// Ownership rule (docs/architecture.md): state a poller owns is touched only on its reactor's
// thread. Other threads change it by message: Post() (fire and forget) or RunSync() (wait for it).
// Messages are control-path only (they allocate and take the mailbox mutex); the I/O path never
// takes a lock or allocates.
//
// Waiting for work depends on the processing mode (docs/performance.md measures them):
//   kPoll   - busy-poll: lowest latency, one core per reactor. After 1 ms without work the
//             reactor yields its core once per idle millisecond (sched_yield), so that with more
//             spinning threads than cores under SCHED_FIFO no equal-priority thread starves.
//   kNotify - sleep when idle; producers call Notify() after publishing work (a doorbell write).
//             The handshake (sleeping flag, fence, re-poll before sleeping) means no wake-up is
//             lost, and Notify() costs one atomic load while the reactor is awake. The sleep is
//             bounded by the pollers' TimeoutNs() (e.g. an interrupt coalescing deadline).
//             Optionally the reactor spins `notify_spin_us` after its last work before sleeping.
//             Once the reactor has an io_uring (engine/io_ring.h) it sleeps on an eventfd instead
//             of the futex: Notify() writes it and the ring signals it on completions.
//   kTimer  - the historical nvmeqemu mode: every `timer_period_us` one tick gives the pollers a
//             shared budget of `entries_per_tick` entries; Notify() does nothing (work waits for
//             the next tick). Ticks follow an absolute schedule; the wait sleeps on a futex (so
//             messages are served at once) until shortly before the tick and spins the rest, the
//             spin length learnt from the observed sleep overshoot. A tick that starts more than
//             one period late is counted in late_ticks() and the schedule restarts from now.
#pragma once

#include <poll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/futex.h"
#include "engine/io_ring.h"
#include "nvemu/config.h"

namespace nvemu::engine {

class Poller {
 public:
  virtual ~Poller() = default;
  // Processes at most `budget` entries of work; returns how many it processed (0 = idle).
  virtual uint32_t Poll(uint32_t budget) = 0;
  // Nanoseconds after which the poller wants Poll() again even if no new work is published (a
  // deferred interrupt), or kWaitForever. Asked on the reactor thread just before it sleeps.
  virtual uint64_t TimeoutNs() { return kWaitForever; }
  // A file descriptor that becomes readable when the poller has new work (the NVMe/TCP poller's
  // epoll set), or -1. A notify-mode reactor sleeps in poll(2) on these and on its own eventfd, so
  // socket readiness, Post() and io_uring completions all wake it at once. Asked before each sleep.
  virtual int WaitFd() { return -1; }
};

struct ReactorOptions {
  std::string name = "reactor";
  ProcessingMode mode = ProcessingMode::kNotify;
  uint32_t timer_period_us = 5;
  uint32_t entries_per_tick = 4;
  uint32_t poll_budget = 64;  // entries per poller per iteration in poll/notify mode
  // Notify mode: after the last work found, keep polling this long before sleeping. A host that
  // submits again within the window finds the reactor awake (no futex wake-up on its doorbell);
  // an idle reactor still sleeps after at most this much spinning. 0 = sleep at once.
  uint32_t notify_spin_us = 0;
};

class Reactor final : private IoRingHost {
 public:
  explicit Reactor(ReactorOptions options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Starts the thread. REQUIRES: not running.
  void Start();
  // Runs pending messages, then stops and joins the thread. Idempotent. Messages posted while or
  // after it stops run inline on the poster.
  void Stop();

  // Runs `fn` on the reactor thread soon. Safe from any thread; if the reactor is not running,
  // `fn` runs inline on the caller.
  void Post(std::function<void()> fn);
  // Runs `fn` on the reactor thread and waits for it. Runs inline when called on the reactor
  // thread or when the reactor is not running. Never call it from a thread that the target reactor
  // may itself RunSync() on (the rule: admin/control -> I/O reactors only).
  void RunSync(const std::function<void()>& fn);

  // Registers / unregisters a poller. REQUIRES: on the reactor thread, or the reactor not running.
  void AddPoller(Poller* poller);
  void RemovePoller(Poller* poller);

  // Wakes the reactor if it sleeps (notify mode). Call after publishing work it should see.
  void Notify() {
    if (sleeping_.load(std::memory_order_seq_cst)) Wake();
  }

  bool OnThread() const { return std::this_thread::get_id() == thread_id_.load(); }
  bool Running() const { return running_.load(std::memory_order_acquire); }
  const std::string& name() const { return options_.name; }
  ProcessingMode mode() const { return options_.mode; }
  const ReactorOptions& options() const { return options_; }

  // Counters for tests and `nvemu perf` (written by the reactor thread only, read anywhere).
  // Loop iterations (poll/notify) that found no work, and notify-mode sleeps.
  uint64_t idle_polls() const { return idle_polls_.load(std::memory_order_relaxed); }
  uint64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }
  // Poll mode: times the reactor gave its core away after an idle millisecond.
  uint64_t poll_yields() const { return poll_yields_.load(std::memory_order_relaxed); }
  // Entries the pollers reported as processed.
  uint64_t entries() const { return entries_.load(std::memory_order_relaxed); }
  // Timer mode: ticks run, the most entries processed in one tick, ticks that started more than
  // one period late.
  uint64_t ticks() const { return ticks_.load(std::memory_order_relaxed); }
  uint32_t max_tick_entries() const { return max_tick_entries_.load(std::memory_order_relaxed); }
  uint64_t late_ticks() const { return late_ticks_.load(std::memory_order_relaxed); }

  // The reactor's io_uring, created on first use (IoRing::ForThread on this thread); null before
  // that or when io_uring is unavailable. Reactor thread only.
  IoRing* io_ring() const { return ring_.get(); }

 private:
  IoRing* EnsureIoRing() override;
  bool EnsureEventFd();
  // Notify mode, pollers with a wait fd: Wake() writes the eventfd from now on (reactor thread).
  void UseWakeFdIfPollersWait();
  void SleepOnEventFd(uint64_t timeout_ns);
  void Run();
  void RunTimer();
  void RunPollOrNotify();
  void Tick();
  // Timer mode: returns at `deadline_ns` (MonotonicNs) or on Stop(); serves messages meanwhile.
  void WaitUntil(uint64_t deadline_ns);
  bool DrainMailbox();
  uint32_t PollAll(uint32_t budget);
  uint64_t MinTimeoutNs();
  void Wake();

  const ReactorOptions options_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> running_{false};  // changed under mailbox_mu_ (Post checks it there)
  std::atomic<bool> stop_{false};

  std::vector<Poller*> pollers_;  // reactor thread only
  size_t next_poller_ = 0;        // timer mode: where the shared budget starts

  std::mutex mailbox_mu_;
  std::vector<std::function<void()>> mailbox_;  // guarded by mailbox_mu_
  std::atomic<bool> has_mail_{false};

  std::atomic<bool> sleeping_{false};
  std::atomic<uint32_t> wake_seq_{0};  // futex word: bumped by Wake()

  // io_uring (reactor thread only) and the eventfd it and Wake() signal; wake_fd_ >= 0 once the
  // notify-mode reactor sleeps in poll(2) on the eventfd (and its pollers' wait fds) instead of
  // the futex: from the ring's creation or the first sleep with a poller that has a wait fd.
  std::unique_ptr<IoRing> ring_;
  bool ring_failed_ = false;
  int event_fd_ = -1;
  std::atomic<int> wake_fd_{-1};
  std::vector<pollfd> sleep_fds_;  // reactor thread only: reused by SleepOnEventFd

  uint64_t sleep_overshoot_ns_ = 20'000;  // timer mode: learnt futex sleep overshoot

  std::atomic<uint64_t> idle_polls_{0};
  std::atomic<uint64_t> sleeps_{0};
  std::atomic<uint64_t> poll_yields_{0};
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> ticks_{0};
  std::atomic<uint32_t> max_tick_entries_{0};
  std::atomic<uint64_t> late_ticks_{0};
};

}  // namespace nvemu::engine
