#include "engine/io_ring.h"

#include <liburing.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace nvemu::engine {
namespace {

thread_local IoRingHost* t_host = nullptr;
std::atomic<bool> g_disabled{false};

}  // namespace

void IoRingHost::SetForThread(IoRingHost* host) { t_host = host; }

IoRing* IoRing::ForThread() { return t_host ? t_host->EnsureIoRing() : nullptr; }

void IoRing::SetDisabledForTesting(bool disabled) { g_disabled.store(disabled); }

std::unique_ptr<IoRing> IoRing::Create(unsigned entries, int event_fd, int* err) {
  *err = 0;
  if (g_disabled.load()) {
    *err = ENOSYS;
    return nullptr;
  }
  auto ring = std::make_unique<io_uring>();
  std::memset(ring.get(), 0, sizeof(io_uring));
  if (int rc = io_uring_queue_init(entries, ring.get(), 0); rc < 0) {
    *err = -rc;
    return nullptr;
  }
  if (event_fd >= 0) {
    if (int rc = io_uring_register_eventfd(ring.get(), event_fd); rc < 0) {
      io_uring_queue_exit(ring.get());
      *err = -rc;
      return nullptr;
    }
  }
  std::unique_ptr<IoRing> r(new IoRing(std::move(ring)));
  r->SetEventFdEnabled(false);  // the reactor is awake while it creates the ring
  return r;
}

IoRing::IoRing(std::unique_ptr<io_uring> ring) : ring_(std::move(ring)) {}

IoRing::~IoRing() {
  if (inflight_ != 0) WaitInflight();
  io_uring_queue_exit(ring_.get());
}

io_uring_sqe* IoRing::GetSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  if (sqe != nullptr) return sqe;
  Submit();
  sqe = io_uring_get_sqe(ring_.get());
  if (sqe == nullptr) {
    // Every SQE is still owned by the kernel's submission queue: reap to make progress.
    Reap(UINT32_MAX);
    Submit();
    sqe = io_uring_get_sqe(ring_.get());
  }
  return sqe;
}

void IoRing::SetOp(io_uring_sqe* sqe, Op* op) {
  io_uring_sqe_set_data(sqe, op);
  ++queued_;
  ++inflight_;
}

void IoRing::Submit() {
  while (queued_ != 0) {
    ++submit_calls_;
    const int rc = io_uring_submit(ring_.get());
    if (rc > 0) {
      submitted_ += static_cast<uint32_t>(rc);
      queued_ -= std::min<uint32_t>(queued_, static_cast<uint32_t>(rc));
      continue;
    }
    if (rc == -EINTR) continue;
    if (rc == -EAGAIN || rc == -EBUSY) {
      // The kernel is out of resources or the completion queue overflowed: reap, retry later.
      Reap(UINT32_MAX);
      return;
    }
    if (rc < 0) spdlog::error("io_uring: submit failed: {}", std::strerror(-rc));
    return;
  }
}

uint32_t IoRing::Reap(uint32_t budget) {
  uint32_t n = 0;
  while (n < budget) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_peek_cqe(ring_.get(), &cqe) != 0 || cqe == nullptr) break;
    auto* op = static_cast<Op*>(io_uring_cqe_get_data(cqe));
    const int32_t res = cqe->res;
    io_uring_cqe_seen(ring_.get(), cqe);
    --inflight_;
    ++completed_;
    ++n;
    op->done(op, res);  // may submit more, or reap recursively
  }
  return n;
}

uint32_t IoRing::Poll(uint32_t budget) {
  Submit();
  if (inflight_ == 0) return 0;
  return Reap(budget);
}

void IoRing::WaitOne() {
  if (inflight_ == 0) return;
  Submit();
  io_uring_cqe* cqe = nullptr;
  int rc;
  do {
    rc = io_uring_wait_cqe(ring_.get(), &cqe);
  } while (rc == -EINTR);
  if (rc < 0) {
    spdlog::error("io_uring: wait failed: {}", std::strerror(-rc));
    return;
  }
  Reap(UINT32_MAX);
}

void IoRing::WaitInflight() {
  while (inflight_ != 0) WaitOne();
}

void IoRing::SetEventFdEnabled(bool on) {
  if (on == eventfd_enabled_) return;
  eventfd_enabled_ = on;
  io_uring_cq_eventfd_toggle(ring_.get(), on);
}

}  // namespace nvemu::engine
