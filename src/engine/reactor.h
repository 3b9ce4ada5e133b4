// Reactor: one thread that owns a set of pollers (queue groups, connections) and runs them.
//
// Ownership rule (docs/architecture.md): state a poller owns is touched only on its reactor's thread.
// Other threads change it by message: Post() (fire and forget) or RunSync() (wait for it). Messages are
// control-path only (they allocate); the I/O path never takes a lock or allocates.
//
// Waiting for work depends on the processing mode:
//   kPoll   - busy-poll: lowest latency, one core per reactor.
//   kNotify - sleep when idle; producers call Notify() after publishing work (a doorbell write). The
//             handshake (sleeping flag + re-poll before sleeping) means no wake-up is lost, and Notify()
//             costs one atomic load while the reactor is awake.
//   kTimer  - nvmeqemu compatible: every `timer_period_us` the pollers get a shared budget of
//             `entries_per_tick` entries; Notify() does nothing (work waits for the next tick).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nvemu/config.h"

namespace nvemu::engine {

class Poller {
 public:
  virtual ~Poller() = default;
  // Processes at most `budget` entries of work; returns how many it processed (0 = idle).
  virtual uint32_t Poll(uint32_t budget) = 0;
};

struct ReactorOptions {
  std::string name = "reactor";
  ProcessingMode mode = ProcessingMode::kNotify;
  uint32_t timer_period_us = 5;
  uint32_t entries_per_tick = 4;
  uint32_t poll_budget = 64;  // entries per poller per iteration in poll/notify mode
};

class Reactor {
 public:
  explicit Reactor(ReactorOptions options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Starts the thread. REQUIRES: not running.
  void Start();
  // Runs pending messages, then stops and joins the thread. Idempotent.
  void Stop();

  // Runs `fn` on the reactor thread soon. Safe from any thread; if the reactor is not running, `fn`
  // runs inline on the caller.
  void Post(std::function<void()> fn);
  // Runs `fn` on the reactor thread and waits for it. Runs inline when called on the reactor thread or
  // when the reactor is not running. Never call it from a thread that the target reactor may itself
  // RunSync() on (the rule: admin/control -> I/O reactors only).
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

  // Counters for tests and `nvemu perf`: loop iterations that found no work, and sleeps.
  uint64_t idle_polls() const { return idle_polls_.load(std::memory_order_relaxed); }
  uint64_t sleeps() const { return sleeps_.load(std::memory_order_relaxed); }

 private:
  void Run();
  bool DrainMailbox();
  uint32_t PollAll(uint32_t budget);
  void Wake();

  const ReactorOptions options_;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_{false};

  std::vector<Poller*> pollers_;  // reactor thread only
  size_t next_poller_ = 0;        // timer mode: where the shared budget starts

  std::mutex mailbox_mu_;
  std::vector<std::function<void()>> mailbox_;  // guarded by mailbox_mu_
  std::atomic<bool> has_mail_{false};

  std::atomic<bool> sleeping_{false};
  std::atomic<uint32_t> wake_seq_{0};

  std::atomic<uint64_t> idle_polls_{0};
  std::atomic<uint64_t> sleeps_{0};
};

}  // namespace nvemu::engine
