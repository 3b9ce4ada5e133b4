#include "engine/reactor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>

namespace nvemu::engine {

Reactor::Reactor(ReactorOptions options) : options_(std::move(options)) {}

Reactor::~Reactor() { Stop(); }

void Reactor::Start() {
  stop_.store(false);
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { Run(); });
}

void Reactor::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  Wake();
  thread_.join();
  running_.store(false, std::memory_order_release);
  thread_id_.store(std::thread::id());
  DrainMailbox();  // messages posted during shutdown run inline
}

void Reactor::Post(std::function<void()> fn) {
  if (!Running()) {
    fn();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    mailbox_.push_back(std::move(fn));
    has_mail_.store(true, std::memory_order_seq_cst);
  }
  Wake();
}

void Reactor::RunSync(const std::function<void()>& fn) {
  if (!Running() || OnThread()) {
    fn();
    return;
  }
  std::promise<void> done;
  auto fut = done.get_future();
  Post([&] {
    fn();
    done.set_value();
  });
  fut.wait();
}

void Reactor::AddPoller(Poller* poller) { pollers_.push_back(poller); }

void Reactor::RemovePoller(Poller* poller) {
  pollers_.erase(std::remove(pollers_.begin(), pollers_.end(), poller), pollers_.end());
  next_poller_ = 0;
}

void Reactor::Wake() {
  wake_seq_.fetch_add(1, std::memory_order_seq_cst);
  wake_seq_.notify_one();
}

bool Reactor::DrainMailbox() {
  if (!has_mail_.load(std::memory_order_acquire)) return false;
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    batch.swap(mailbox_);
    has_mail_.store(false, std::memory_order_relaxed);
  }
  for (auto& fn : batch) fn();
  return !batch.empty();
}

uint32_t Reactor::PollAll(uint32_t budget) {
  uint32_t done = 0;
  for (Poller* p : pollers_) done += p->Poll(budget);
  return done;
}

void Reactor::Run() {
  thread_id_.store(std::this_thread::get_id());
  spdlog::debug("reactor {}: started", options_.name);
  auto next_tick = std::chrono::steady_clock::now();
  while (!stop_.load(std::memory_order_acquire)) {
    bool busy = DrainMailbox();
    if (options_.mode == ProcessingMode::kTimer) {
      // nvmeqemu's doorbell timer: one tick processes at most entries_per_tick entries in total,
      // starting where the previous tick stopped so that no poller starves.
      uint32_t budget = options_.entries_per_tick;
      for (size_t i = 0; i < pollers_.size() && budget > 0; ++i) {
        Poller* p = pollers_[(next_poller_ + i) % pollers_.size()];
        budget -= p->Poll(budget);
      }
      if (!pollers_.empty()) next_poller_ = (next_poller_ + 1) % pollers_.size();
      next_tick += std::chrono::microseconds(options_.timer_period_us);
      auto now = std::chrono::steady_clock::now();
      if (next_tick < now) next_tick = now;
      // Sleep until the tick, but wake for messages (Stop, RunSync) at once.
      if (!has_mail_.load() && !stop_.load()) {
        sleeping_.store(true);
        std::this_thread::sleep_until(next_tick);
        sleeping_.store(false);
      }
      continue;
    }
    busy |= PollAll(options_.poll_budget) > 0;
    if (busy) continue;
    idle_polls_.fetch_add(1, std::memory_order_relaxed);
    if (options_.mode == ProcessingMode::kPoll) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    // Notify mode: announce that we are about to sleep, then look once more so that work published
    // before a producer saw `sleeping_` is not missed.
    uint32_t seq = wake_seq_.load(std::memory_order_seq_cst);
    sleeping_.store(true, std::memory_order_seq_cst);
    if (has_mail_.load(std::memory_order_seq_cst) || PollAll(options_.poll_budget) > 0 ||
        stop_.load()) {
      sleeping_.store(false, std::memory_order_relaxed);
      continue;
    }
    sleeps_.fetch_add(1, std::memory_order_relaxed);
    wake_seq_.wait(seq, std::memory_order_seq_cst);
    sleeping_.store(false, std::memory_order_relaxed);
  }
  // Final drain so that RunSync callers waiting on us are released.
  DrainMailbox();
  spdlog::debug("reactor {}: stopped", options_.name);
}

}  // namespace nvemu::engine
