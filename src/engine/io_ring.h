// IoRing: the io_uring instance of one reactor thread (liburing).
//
// A reactor creates its ring lazily, on its own thread, the first time a backend asks for one
// (IoRing::ForThread). Callers take an SQE with GetSqe(), prepare it with liburing's
// io_uring_prep_* and set its user_data with SetOp(): the pointer to an IoRing::Op embedded in
// caller-owned, preallocated storage that stays valid until Op::done runs. SQEs are submitted in
// batches (one io_uring_enter per reactor loop iteration, or sooner when the submission ring fills
// up); the reactor reaps completions in its poll loop and calls each Op's `done` on the reactor
// thread.
//
// Waking: the ring signals an eventfd when it posts completions; in notify mode the reactor sleeps
// on that eventfd (Reactor::Notify writes it too), so a completion wakes a sleeping reactor.
// The eventfd is disabled while the reactor is awake (IORING_CQ_EVENTFD_DISABLED), so a busy
// reactor costs no eventfd signal per completion.
//
// Availability: io_uring_queue_init may fail (old kernel, seccomp, RLIMIT_MEMLOCK); ForThread then
// returns null and logs one warning per thread, and backends fall back to synchronous I/O.
//
// Threading: everything runs on the owning reactor thread. Re-entrancy: `done` may call GetSqe(),
// Reap() or WaitInflight() (a connection closing from a completion drains the rest).
#pragma once

#include <cstdint>
#include <memory>

struct io_uring;
struct io_uring_sqe;

namespace nvemu::engine {

class IoRing {
 public:
  // Caller-owned completion record (embedded in a preallocated per-command slot).
  struct Op {
    // Called on the reactor thread with the CQE result (bytes, or -errno).
    void (*done)(Op* op, int32_t res) = nullptr;
  };

  // The ring of the calling reactor thread, created on first use; null when the thread is not a
  // reactor or io_uring is unavailable.
  static IoRing* ForThread();
  // Creates a ring of `entries` submission entries that signals `event_fd` (-1: none). Null (and
  // the reason in `*err`, an errno value) when io_uring is unavailable.
  static std::unique_ptr<IoRing> Create(unsigned entries, int event_fd, int* err);
  // Tests: pretend io_uring is unavailable for rings created from now on (fallback path).
  static void SetDisabledForTesting(bool disabled);

  ~IoRing();
  IoRing(const IoRing&) = delete;
  IoRing& operator=(const IoRing&) = delete;

  // A free SQE (submitting queued ones first when the submission ring is full); null only when
  // the kernel refuses the submission. The caller must prepare it and call SetOp().
  io_uring_sqe* GetSqe();
  // Binds a prepared SQE to `op` and counts it in flight.
  void SetOp(io_uring_sqe* sqe, Op* op);

  // Submits queued SQEs (one system call; none when nothing is queued).
  void Submit();
  // Submits, then runs the `done` of up to `budget` completed operations. Returns how many.
  uint32_t Poll(uint32_t budget);
  // Submits and waits until no operation is in flight, running their `done` callbacks.
  void WaitInflight();
  // Waits for at least one completion (submitting first) and runs the completed callbacks.
  void WaitOne();

  uint32_t inflight() const { return inflight_; }
  // Enables (before sleeping) or disables (while awake) the eventfd signal on completions.
  void SetEventFdEnabled(bool on);

  // Counters (reactor thread writes; tests read after the reactor quiesced).
  uint64_t submitted() const { return submitted_; }
  uint64_t completed() const { return completed_; }
  uint64_t submit_calls() const { return submit_calls_; }

 private:
  explicit IoRing(std::unique_ptr<io_uring> ring);
  uint32_t Reap(uint32_t budget);

  std::unique_ptr<io_uring> ring_;
  uint32_t queued_ = 0;    // prepared, not yet submitted
  uint32_t inflight_ = 0;  // bound to an Op, completion not yet reaped
  bool eventfd_enabled_ = true;
  uint64_t submitted_ = 0;
  uint64_t completed_ = 0;
  uint64_t submit_calls_ = 0;
};

// The reactor side of ForThread(): the calling thread's ring factory. Reactor::Run installs one
// for its thread; a thread without one has no ring.
class IoRingHost {
 public:
  virtual ~IoRingHost() = default;
  virtual IoRing* EnsureIoRing() = 0;
  static void SetForThread(IoRingHost* host);
};

}  // namespace nvemu::engine
