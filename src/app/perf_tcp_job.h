// TcpQueueJob: the load on one NVMe/TCP I/O queue of `nvemu perf --tcp` (the counterpart of
// QueueJob, perf_job.h, for host::TcpQueue): its data buffers (one slot of `block` bytes per
// outstanding command), the poll/reap/refill step, and the queue's statistics.
//
// The steady state allocates nothing: commands are built on the stack and point into the job's
// buffer, CIDs map to slots through a fixed array, every refill batch goes out with one sendmsg
// (TcpQueue::Submit(..., send_now = false) + Flush) and each poll is one non-blocking recv when
// nothing is buffered.
//
// Threading: a job is driven by one host thread. `completed()` may be read from any thread (the
// progress line); everything else after that thread is joined.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "app/perf_job.h"
#include "nvemu/host/tcp_initiator.h"

namespace nvemu::app {

class TcpQueueJob {
 public:
  // REQUIRES: queue.entries() > spec.queue_depth; spec.format needs no separate metadata buffer
  // (fabrics carry metadata only inside extended LBAs).
  TcpQueueJob(host::TcpQueue& queue, uint16_t qid, const JobSpec& spec);

  // Receives what arrived (no wait), then consumes the completions; those reaped while `record`
  // count in stats(). A connection failure ends the job (failed(), error()).
  uint32_t PollAndReap(uint64_t now_ns, bool record);
  // Refills the queue up to its depth and sends the batch; returns commands submitted.
  uint32_t Submit(uint64_t now_ns);
  void StopSubmitting() { submitting_ = false; }
  // Nothing left to submit and nothing outstanding, or the connection failed.
  bool Done() const { return failed_ || (!CanSubmit() && queue_.outstanding() == 0); }

  uint16_t qid() const { return qid_; }
  bool failed() const { return failed_; }
  const std::string& error() const { return error_; }
  const JobStats& stats() const { return stats_; }
  uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }

 private:
  bool CanSubmit() const { return submitting_ && (spec_.ios == 0 || submitted_ < spec_.ios); }
  void Fail(const std::string& why);

  host::TcpQueue& queue_;
  const uint16_t qid_;
  const JobSpec spec_;
  AccessPattern pattern_{spec_};
  const uint32_t nlb_;                  // LBAs per command
  const size_t slot_bytes_;             // data buffer bytes per command (spec.format)
  std::vector<uint8_t> buffer_;         // queue_depth slots of slot_bytes_
  std::vector<uint16_t> free_slots_;    // stack of idle slots
  std::vector<uint16_t> slot_of_cid_;   // CID -> slot
  std::vector<uint64_t> submitted_ns_;  // by slot
  std::vector<uint8_t> slot_is_read_;   // by slot
  bool submitting_ = true;
  bool failed_ = false;
  std::string error_;
  uint64_t submitted_ = 0;
  JobStats stats_;
  std::atomic<uint64_t> completed_{0};
};

}  // namespace nvemu::app
