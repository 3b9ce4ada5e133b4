// QueueJob: the load on one I/O queue pair of `nvemu perf`: its data buffers (one slot of `block`
// bytes per outstanding command), the reap/refill step, and the queue's statistics.
//
// The steady state allocates nothing and makes no system call besides the clock (vDSO): commands
// are built on the stack, PRPs point into the job's DMA buffer, CIDs map to slots through a fixed
// array, the SQ doorbell is written once per refill batch and the CQ head doorbell once per reap
// batch (host::IoQueue::Reap).
//
// Threading: a job is driven by one host thread. `completed()` and `submitted()` may be read from
// any thread (the progress line, the stuck-run report); everything else after that thread is
// joined.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "app/perf_format.h"
#include "app/perf_histogram.h"
#include "app/perf_options.h"
#include "nvemu/host/pcie_driver.h"

namespace nvemu::app {

struct JobSpec {
  PerfPattern pattern = PerfPattern::kRandRead;
  uint32_t read_percent = 50;
  uint32_t nsid = 1;
  uint32_t lba_shift = 9;  // log2(LBA data size)
  uint32_t block = 4096;   // LBA data bytes per command
  // How the command's blocks travel (data and metadata buffers, PI); left at its default (or for
  // another lba_shift), plain LBAs.
  BlockFormat format;
  uint32_t queue_depth = 32;
  uint64_t range_blocks = 0;  // blocks of `block` bytes from LBA 0
  uint64_t first_block = 0;   // sequential patterns: where this queue starts
  uint64_t ios = 0;           // commands to submit (0: until StopSubmitting)
  uint64_t seed = 1;
};

// The offsets and the read/write mix of one queue's commands (fio's rw= and rwmixread=). Shared by
// the in-process and the NVMe/TCP jobs, so --seed picks the same offsets whatever the transport.
class AccessPattern {
 public:
  explicit AccessPattern(const JobSpec& spec)
      : spec_(spec), next_seq_(spec.first_block), rng_((spec.seed * 0x9E3779B97F4A7C15ull) | 1) {}
  // The next command's block (of spec.block bytes) within [0, spec.range_blocks).
  uint64_t NextBlock();
  bool NextIsRead();

 private:
  uint64_t NextRandom();  // xorshift64*

  const JobSpec& spec_;
  uint64_t next_seq_;
  uint64_t rng_;
};

struct JobStats {
  uint64_t ios = 0;  // completions recorded
  uint64_t reads = 0;
  uint64_t writes = 0;
  uint64_t errors = 0;  // completions with a non-zero status
  uint64_t bytes = 0;
  LatencyHistogram latency;  // submission (doorbell batch) to reap, ns
};

class QueueJob {
 public:
  // `buffer` holds queue_depth data slots of format.SlotStride(nlb) bytes; `metadata` (when the
  // format keeps metadata apart) queue_depth * format.MetaBytes(nlb) bytes. REQUIRES:
  // queue.entries() > queue_depth.
  QueueJob(host::IoQueue& queue, const JobSpec& spec, const host::DmaBuffer& buffer,
           const host::DmaBuffer& metadata = {});

  // Consumes the completions present; those reaped while `record` count in stats().
  uint32_t Reap(uint64_t now_ns, bool record);
  // Refills the queue up to its depth and rings the doorbell once; returns commands submitted.
  uint32_t Submit(uint64_t now_ns);
  void StopSubmitting() { submitting_ = false; }
  // Holds submission while the host thread drains the queue for a copy-limit slice (perf_run.cc),
  // then lets it go on; StopSubmitting() stays in force either way.
  void PauseSubmitting() { paused_ = true; }
  void ResumeSubmitting() { paused_ = false; }
  // Commands submitted and not yet reaped.
  uint32_t outstanding() const { return queue_.outstanding(); }
  // Reap() or Submit() would move something now (a completion waits, or a free slot and
  // commands left to submit). Reads no clock.
  bool HasWork() { return queue_.HasCompletion() || (!free_slots_.empty() && CanSubmit()); }
  // Nothing left to submit and nothing outstanding.
  bool Done() const { return !CanSubmit() && queue_.outstanding() == 0; }

  uint16_t qid() const { return queue_.qid(); }
  const JobStats& stats() const { return stats_; }
  uint64_t completed() const { return completed_.load(std::memory_order_relaxed); }
  // Commands submitted so far (any thread; with completed(): what is outstanding).
  uint64_t submitted() const { return submitted_total_.load(std::memory_order_relaxed); }
  uint64_t submit_failures() const { return submit_failures_; }

 private:
  bool CanSubmit() const {
    return submitting_ && !paused_ && (spec_.ios == 0 || submitted_ < spec_.ios);
  }
  host::IoQueue& queue_;
  const JobSpec spec_;
  AccessPattern pattern_{spec_};
  const host::DmaBuffer buffer_;
  const host::DmaBuffer metadata_;
  const uint32_t nlb_;                  // LBAs per command
  const uint64_t slot_stride_;          // data bytes between slots
  const uint64_t data_bytes_;           // data buffer bytes per command
  const uint64_t meta_bytes_;           // metadata buffer bytes per command (0: none)
  std::vector<uint16_t> free_slots_;    // stack of idle slots
  std::vector<uint16_t> slot_of_cid_;   // CID -> slot
  std::vector<uint64_t> submitted_ns_;  // by slot
  std::vector<uint8_t> slot_is_read_;   // by slot
  bool submitting_ = true;
  bool paused_ = false;
  uint64_t submitted_ = 0;
  uint64_t submit_failures_ = 0;
  JobStats stats_;
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> submitted_total_{0};  // mirror of submitted_ for other threads
};

}  // namespace nvemu::app
