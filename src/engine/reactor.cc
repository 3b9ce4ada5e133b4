#include "engine/reactor.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

namespace nvemu::engine {
namespace {

// Counters have a single writer (the reactor thread): a plain load + store, no locked RMW.
template <typename T>
void Bump(std::atomic<T>& counter, T by = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Timer mode: spin at least this long before a tick (futex wake-up jitter on top of the learnt
// overshoot).
constexpr uint64_t kSpinMarginNs = 2'000;

// Poll mode: idle time after which the reactor yields its core once (see RunPollOrNotify).
constexpr uint64_t kPollYieldAfterNs = 1'000'000;

}  // namespace

Reactor::Reactor(ReactorOptions options) : options_(std::move(options)) {}

Reactor::~Reactor() { Stop(); }

void Reactor::Start() {
  stop_.store(false);
  {
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    running_.store(true, std::memory_order_release);
  }
  thread_ = std::thread([this] { Run(); });
}

void Reactor::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  Wake();
  thread_.join();
  {
    // From here on Post() runs messages inline; whatever it queued before is drained below.
    std::lock_guard<std::mutex> lock(mailbox_mu_);
    running_.store(false, std::memory_order_release);
  }
  thread_id_.store(std::thread::id());
  DrainMailbox();
}

void Reactor::Post(std::function<void()> fn) {
  {
    std::unique_lock<std::mutex> lock(mailbox_mu_);
    if (running_.load(std::memory_order_acquire)) {
      mailbox_.push_back(std::move(fn));
      has_mail_.store(true, std::memory_order_seq_cst);
      lock.unlock();
      Wake();
      return;
    }
  }
  fn();
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
  const int fd = wake_fd_.load(std::memory_order_seq_cst);
  if (fd >= 0) {
    const uint64_t one = 1;
    ssize_t rc;
    do {
      rc = ::write(fd, &one, sizeof(one));
    } while (rc < 0 && errno == EINTR);
    return;
  }
  FutexWake(wake_seq_, 1);
}

// Entries of each reactor's submission ring (completions: twice as many, and the kernel keeps
// overflowing ones: IORING_FEAT_NODROP).
constexpr unsigned kIoRingEntries = 256;

bool Reactor::EnsureEventFd() {
  if (event_fd_ < 0) event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return event_fd_ >= 0;
}

void Reactor::UseWakeFdIfPollersWait() {
  if (wake_fd_.load(std::memory_order_relaxed) >= 0) return;
  for (Poller* p : pollers_) {
    if (p->WaitFd() < 0) continue;
    if (!EnsureEventFd()) {
      spdlog::error("reactor {}: eventfd: {}; sleeping on the futex", options_.name,
                    std::strerror(errno));
      return;
    }
    // Before `sleeping_` is announced (both seq_cst): a producer that sees the reactor asleep
    // also sees this fd, so its Wake() writes the eventfd the sleep below waits on.
    wake_fd_.store(event_fd_, std::memory_order_seq_cst);
    return;
  }
}

IoRing* Reactor::EnsureIoRing() {
  if (ring_ || ring_failed_) return ring_.get();
  if (!OnThread()) return nullptr;
  int err = 0;
  if (EnsureEventFd()) {
    ring_ = IoRing::Create(kIoRingEntries, event_fd_, &err);
  } else {
    err = errno;
  }
  if (!ring_) {
    ring_failed_ = true;
    spdlog::warn("reactor {}: io_uring unavailable ({}); file I/O stays synchronous", options_.name,
                 std::strerror(err));
    return nullptr;
  }
  spdlog::debug("reactor {}: io_uring ready", options_.name);
  // Timer mode keeps its futex sleeps (completions are reaped at the next tick).
  if (options_.mode == ProcessingMode::kNotify)
    wake_fd_.store(event_fd_, std::memory_order_seq_cst);
  return ring_.get();
}

// Notify-mode sleep once the reactor has a ring or a poller with a wait fd: the eventfd that
// Wake() and the ring signal, plus every poller's wait fd (socket readiness for NVMe/TCP).
void Reactor::SleepOnEventFd(uint64_t timeout_ns) {
  sleep_fds_.clear();
  sleep_fds_.push_back(pollfd{event_fd_, POLLIN, 0});
  for (Poller* p : pollers_) {
    if (const int fd = p->WaitFd(); fd >= 0) sleep_fds_.push_back(pollfd{fd, POLLIN, 0});
  }
  int timeout_ms = -1;
  if (timeout_ns != kWaitForever) {
    timeout_ms =
        static_cast<int>(std::min<uint64_t>((timeout_ns + 999'999) / 1'000'000, 1'000'000));
  }
  ::poll(sleep_fds_.data(), sleep_fds_.size(), timeout_ms);
  uint64_t v;
  while (::read(event_fd_, &v, sizeof(v)) > 0) {
  }
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
  // Submits what the pollers queued this pass, then runs the completions that arrived.
  if (ring_) done += ring_->Poll(budget);
  if (done != 0) Bump(entries_, uint64_t{done});
  return done;
}

uint64_t Reactor::MinTimeoutNs() {
  uint64_t t = kWaitForever;
  for (Poller* p : pollers_) t = std::min(t, p->TimeoutNs());
  return t;
}

void Reactor::Run() {
  thread_id_.store(std::this_thread::get_id());
  IoRingHost::SetForThread(this);
  if (options_.mode != ProcessingMode::kPoll) SetPreciseTimerSlack();
  spdlog::debug("reactor {}: started", options_.name);
  if (options_.mode == ProcessingMode::kTimer) {
    RunTimer();
  } else {
    RunPollOrNotify();
  }
  // Final drain so that RunSync callers waiting on us are released.
  DrainMailbox();
  if (ring_) {
    // Asynchronous I/O still in flight completes here, on this thread, before the ring goes.
    ring_->WaitInflight();
    ring_.reset();
  }
  if (event_fd_ >= 0) {
    wake_fd_.store(-1, std::memory_order_seq_cst);
    ::close(event_fd_);
    event_fd_ = -1;
  }
  ring_failed_ = false;
  IoRingHost::SetForThread(nullptr);
  spdlog::debug("reactor {}: stopped", options_.name);
}

void Reactor::RunPollOrNotify() {
  const bool notify = options_.mode == ProcessingMode::kNotify;
  const uint64_t spin_ns = uint64_t{options_.notify_spin_us} * 1000;
  bool worked = false;       // notify mode: work was found since the last sleep
  uint64_t idle_since = 0;   // start of the current idle stretch (0 = not measured yet)
  uint32_t idle_passes = 0;  // poll mode: idle passes, to read the clock on every 64th only
  while (!stop_.load(std::memory_order_acquire)) {
    bool busy = DrainMailbox();
    busy |= PollAll(options_.poll_budget) > 0;
    if (busy) {
      worked = true;
      idle_since = 0;
      continue;
    }
    Bump(idle_polls_);
    if (!notify) {
      // Poll mode: spin, but after kPollYieldAfterNs without work, give the core away once per
      // idle stretch of that length. With more spinning threads than cores under SCHED_FIFO (chrt)
      // an equal-priority host thread that must submit the next command would otherwise never run
      // (the run of issue #6 that took 13 minutes instead of 4 s); under CFS it is a cheap hint.
      // Costs nothing while busy: the clock is read on every 64th idle pass only.
      CpuRelax();
      if ((++idle_passes & 63) != 0) continue;
      const uint64_t now = MonotonicNs();
      if (idle_since == 0) idle_since = now;
      if (now - idle_since >= kPollYieldAfterNs) {
        Bump(poll_yields_);
        std::this_thread::yield();
        idle_since = 0;
      }
      continue;
    }
    if (spin_ns != 0 && worked) {
      const uint64_t now = MonotonicNs();
      if (idle_since == 0) idle_since = now;
      if (now - idle_since < spin_ns) {
        CpuRelax();
        continue;
      }
    }
    // Announce the sleep, then look once more: a producer publishes work, then loads `sleeping_`
    // (both seq_cst); we store `sleeping_`, fence, then read its doorbells. One of the two sides
    // sees the other, so work published before the producer saw `sleeping_ == false` is found here.
    UseWakeFdIfPollersWait();
    uint32_t seq = wake_seq_.load(std::memory_order_seq_cst);
    if (ring_) ring_->SetEventFdEnabled(true);  // a completion from now on wakes the sleep
    sleeping_.store(true, std::memory_order_seq_cst);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (has_mail_.load(std::memory_order_seq_cst) || PollAll(options_.poll_budget) > 0 ||
        stop_.load()) {
      sleeping_.store(false, std::memory_order_relaxed);
      if (ring_) ring_->SetEventFdEnabled(false);
      continue;
    }
    Bump(sleeps_);
    if (wake_fd_.load(std::memory_order_relaxed) >= 0) {
      SleepOnEventFd(MinTimeoutNs());
      if (ring_) ring_->SetEventFdEnabled(false);
    } else {
      FutexWait(wake_seq_, seq, MinTimeoutNs());
    }
    sleeping_.store(false, std::memory_order_relaxed);
    worked = false;
    idle_since = 0;
  }
}

// nvmeqemu's doorbell timer: one tick processes at most entries_per_tick entries in total,
// starting where the previous tick stopped so that no poller starves.
void Reactor::Tick() {
  uint32_t budget = options_.entries_per_tick;
  const size_t n = pollers_.size();
  for (size_t i = 0; i < n && budget > 0; ++i) {
    Poller* p = pollers_[(next_poller_ + i) % n];
    budget -= std::min(budget, p->Poll(budget));
  }
  if (n != 0) next_poller_ = (next_poller_ + 1) % n;
  // Asynchronous I/O completions are not SQ entries: they do not draw from the tick's budget.
  if (ring_) ring_->Poll(UINT32_MAX);
  const uint32_t done = options_.entries_per_tick - budget;
  if (done != 0) Bump(entries_, uint64_t{done});
  if (done > max_tick_entries_.load(std::memory_order_relaxed)) {
    max_tick_entries_.store(done, std::memory_order_relaxed);
  }
  Bump(ticks_);
}

void Reactor::RunTimer() {
  const uint64_t period = uint64_t{options_.timer_period_us} * 1000;
  uint64_t next_tick = MonotonicNs();
  while (!stop_.load(std::memory_order_acquire)) {
    DrainMailbox();
    Tick();
    next_tick += period;
    const uint64_t now = MonotonicNs();
    if (now > next_tick + period) {
      Bump(late_ticks_);
      next_tick = now;
    }
    WaitUntil(next_tick);
  }
}

void Reactor::WaitUntil(uint64_t deadline_ns) {
  for (;;) {
    if (stop_.load(std::memory_order_acquire)) return;
    if (has_mail_.load(std::memory_order_acquire)) DrainMailbox();
    const uint64_t now = MonotonicNs();
    if (now >= deadline_ns) return;
    const uint64_t remaining = deadline_ns - now;
    if (remaining <= sleep_overshoot_ns_ + kSpinMarginNs) {
      CpuRelax();  // the last stretch: spin for accuracy
      continue;
    }
    // Sleep until shortly before the tick; Post() and Stop() bump wake_seq_ and end it early.
    const uint32_t seq = wake_seq_.load(std::memory_order_seq_cst);
    if (has_mail_.load(std::memory_order_seq_cst) || stop_.load()) continue;
    const uint64_t request = remaining - sleep_overshoot_ns_ - kSpinMarginNs;
    FutexWait(wake_seq_, seq, request);
    const uint64_t slept = MonotonicNs() - now;
    if (slept >= request) {
      // Learn the overshoot: follow increases at once, decay slowly.
      const uint64_t over = slept - request;
      sleep_overshoot_ns_ = std::max(over, sleep_overshoot_ns_ - sleep_overshoot_ns_ / 16);
    }
  }
}

}  // namespace nvemu::engine
