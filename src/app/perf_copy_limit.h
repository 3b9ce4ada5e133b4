// The machine's own limit for a perf pattern: how many `block`-byte memcpys one core does per
// second between a buffer the size of the namespace range and a small ring of I/O buffers (as many
// as the queue depth), at random or sequential block-aligned offsets, reads copying out of the big
// buffer and writes into it. An in-process emulated controller cannot move data faster than this,
// so `nvemu perf` prints achieved / limit.
//
// Threading: copies on the calling thread while a second thread spins (as the host thread polls
// during the I/O run); allocates (and touches) `range` bytes for its duration.
#pragma once

#include <cstdint>

#include "nvemu/status.h"

namespace nvemu::app {

struct CopyLimitSpec {
  uint64_t range = 1ull << 30;  // bytes of the big buffer (the namespace range)
  uint32_t block = 4096;        // bytes per copy
  bool random = true;
  uint32_t read_percent = 100;  // share of copies out of the big buffer (reads)
  uint32_t ring_blocks = 32;    // small buffers (queue depth)
  double seconds = 1.0;
  uint64_t seed = 1;
};

struct CopyLimit {
  uint64_t copies = 0;
  double seconds = 0;
  double copies_per_s() const { return seconds > 0 ? copies / seconds : 0; }
  double bytes_per_s(uint32_t block) const { return copies_per_s() * block; }
};

Result<CopyLimit> MeasureCopyLimit(const CopyLimitSpec& spec);

}  // namespace nvemu::app
