// The machine's own limit for a perf pattern: how many `block`-byte memcpys one core does per
// second between a buffer the size of the namespace range and a small ring of I/O buffers (as many
// as the queue depth), at random or sequential block-aligned offsets, reads copying out of the big
// buffer and writes into it. An in-process emulated controller cannot move data faster than this,
// so `nvemu perf` prints achieved / limit.
//
// Two copy loops run, `seconds` each: a plain memcpy loop, and one that first prefetches the start
// of the next copy's big-buffer block (kLookAheadBytes, as the RAM backend's look-ahead prefetch
// does for the next command), which overlaps that block's TLB walk and DRAM latency with the
// current copy. The limit is the faster of the two: a limit that the device's own technique can
// beat is no limit (on the 2-vCPU EPYC guest the look-ahead loop was 30-50 % faster).
//
// Which memory: by default a buffer of its own, allocated (and touched) for the measurement. With
// `source` (read patterns only) the loops copy out of that memory instead: `nvemu perf` passes
// the RAM namespace's own mapping, so that the limit and the device read the same physical pages.
// That matters on a VM: the same loops over buffers of different processes differ by up to 35 %
// here (2.6-3.5 M copies/s, within one buffer ±5 %), so a limit over a buffer of its own measures
// in part where the hypervisor placed that buffer, not what the device costs.
//
// Threading: copies on the calling thread while, with `spinner`, a second thread spins (as the
// host thread polls during the I/O run; `nvemu perf` always keeps it, tests may turn it off).
#pragma once

#include <algorithm>
#include <cstdint>

#include "nvemu/status.h"

namespace nvemu::app {

struct CopyLimitSpec {
  uint64_t range = 1ull << 30;  // bytes of the big buffer (the namespace range)
  uint32_t block = 4096;        // bytes per copy
  bool random = true;
  uint32_t read_percent = 100;  // share of copies out of the big buffer (reads)
  uint32_t ring_blocks = 32;    // small buffers (queue depth)
  double seconds = 1.0;         // per loop
  uint64_t seed = 1;
  // Copy out of these `range` bytes instead of a buffer of its own. REQUIRES: read_percent 100
  // (the memory is only read); it stays valid and unwritten during the measurement.
  const uint8_t* source = nullptr;
  bool spinner = true;  // keep a second thread spinning meanwhile
};

// Bytes the look-ahead loop prefetches of the next block (SparseTable::Prefetch does the same).
inline constexpr uint32_t kLookAheadBytes = 256;

struct CopyRate {
  uint64_t copies = 0;
  double seconds = 0;
  double copies_per_s() const { return seconds > 0 ? copies / seconds : 0; }
};

struct CopyLimit {
  CopyRate plain;       // memcpy loop
  CopyRate look_ahead;  // memcpy loop with a prefetch of the next block
  // The limit: the faster loop.
  double copies_per_s() const { return std::max(plain.copies_per_s(), look_ahead.copies_per_s()); }
  double bytes_per_s(uint32_t block) const { return copies_per_s() * block; }
};

Result<CopyLimit> MeasureCopyLimit(const CopyLimitSpec& spec);

}  // namespace nvemu::app
