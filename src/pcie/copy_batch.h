// CopyBatch: the data copies of one SQ's commands in a poll pass, deferred and then run back to
// back (issue #6, the RAM randread target).
//
// Why: a 4 KiB random read out of a large RAM namespace is bound by memory latency (TLB walk and
// DRAM). Run inline, each copy thrashes L1 between the command-path steps around it, and nothing
// overlaps the next copy's memory latency except a short prefetch. Measured with
// bench/queue_bench (BM_RandRead4kRam1GiB/32, one thread): about 260 ns per command on top of the
// copy itself. Batched, the command path of all commands runs with hot caches, and the copies run
// as one loop that prefetches the start of the next copy's source while it copies the current
// one (the technique of `nvemu perf`'s look-ahead copy limit), so the command path adds far less.
//
// Contract: the queue engine (pcie/queues.cc) gives an I/O command's PrpChannel the batch; a
// handler's DataChannel::CopyToHost then queues host-contiguous pieces here instead of copying.
// Every command whose copies were queued holds its completion until Run() has performed them;
// the engine runs the batch before it posts those completions and before its ServeSq returns, so
// a batch never outlives the poll pass (namespace changes quiesce reactors between passes).
// Copies run in the order they were queued.
//
// Threading: owned by one QueueGroup, used on its reactor thread only. No allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace nvemu::pcie {

class CopyBatch {
 public:
  // Queued pieces at most (a 4 KiB read is one piece; a read over scattered PRP pages one per
  // page).
  static constexpr uint32_t kCapacity = 64;
  // Bytes at the start of the next copy's source prefetched while the current one copies (the
  // RAM backend's look-ahead prefetch and `nvemu perf`'s look-ahead limit loop use the same).
  static constexpr uint32_t kLookAheadBytes = 256;

  // Queues a copy of `len` bytes from `src` to `dst`; false (nothing queued) when full.
  bool Add(uint8_t* dst, const uint8_t* src, size_t len) {
    if (n_ == kCapacity) return false;
    copies_[n_++] = Copy{dst, src, len};
    return true;
  }
  uint32_t size() const { return n_; }
  uint32_t room() const { return kCapacity - n_; }
  bool empty() const { return n_ == 0; }
  // Drops the pieces queued after the first `n` (a command that could not queue all of its
  // pieces copies them itself).
  // REQUIRES: n >= done() (only pieces not yet performed can be dropped).
  void Truncate(uint32_t n) {
    if (n < n_) n_ = n;
  }
  // Performs the queued copies not yet performed, in order, up to piece `end` (exclusive).
  void RunUpTo(uint32_t end);
  // Pieces RunUpTo has performed since the batch was last emptied.
  uint32_t done() const { return done_; }
  // Performs every queued copy in order, then empties the batch.
  void Run();
  // Copies run since construction (reactor thread; for tests and counters).
  uint64_t copies_run() const { return copies_run_; }

 private:
  struct Copy {
    uint8_t* dst;
    const uint8_t* src;
    size_t len;
  };
  std::array<Copy, kCapacity> copies_{};
  uint32_t n_ = 0;
  uint32_t done_ = 0;  // pieces performed (RunUpTo)
  uint64_t copies_run_ = 0;
};

}  // namespace nvemu::pcie
