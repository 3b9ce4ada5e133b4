// Options of `nvemu perf`, the load generator (fio / spdk_nvme_perf style) over the in-process host
// library. Plain data: the CLI (perf_cli.cc) fills it; ValidatePerfOptions() checks it. The device
// itself (namespaces, backend, reactors, processing mode) is the ControllerConfig built from the
// shared configuration options.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nvemu/status.h"

namespace nvemu::app {

enum class PerfPattern { kRead, kWrite, kRandRead, kRandWrite, kRandRw };

struct PerfOptions {
  PerfPattern pattern = PerfPattern::kRandRead;
  uint32_t read_percent = 50;  // --mix: share of reads in randrw
  uint32_t block_size = 4096;  // --bs: bytes per command (a multiple of the LBA size)
  uint32_t queue_depth = 32;   // --qd: commands outstanding per queue
  uint32_t queues = 1;         // --queues: I/O queue pairs
  uint32_t threads = 1;        // --threads: host threads; queues are spread over them
  double time_s = 5.0;         // --time: measured seconds (ignored when ios > 0)
  uint64_t ios = 0;            // --ios: commands per queue instead of a time limit
  double warmup_s = 0.5;       // --warmup: seconds run before measuring
  uint32_t nsid = 1;           // --namespace
  uint64_t size = 0;           // --size: bytes of the namespace used from LBA 0 (0 = all)
  bool prefill = true;         // write the range before reading it (RAM/file backends)
  bool copy_limit = true;      // measure the machine's copy limit for the pattern
  double copy_limit_s = 1.0;   // --limit-time
  uint32_t limit_slices = 10;  // --limit-slices (perf_run.cc LimitSlices); 0 = once, before
  bool interrupts = false;     // --irq: MSI-X per queue (default: polled completions, no IRQs)
  // Arbitration: --arb rr|wrr, --weights H,M,L (1..256 each), --burst N (power of two <= 64, or
  // 0 = no limit), --qprio list cycled over the queues (urgent, high, medium, low).
  bool wrr = false;
  std::vector<uint32_t> weights = {1, 1, 1};
  uint32_t burst = 0;
  std::vector<uint8_t> qprio;
  // Interrupt coalescing (feature 08h): --coalesce THR,TIME as the feature's raw fields.
  int32_t coalesce_thr = -1;  // -1: leave the feature alone
  uint32_t coalesce_time = 0;
  uint64_t seed = 1;
  bool json = false;
  bool progress = true;  // live line, only when stdout is a terminal and not --json
};

std::string_view PatternName(PerfPattern p);
Result<PerfPattern> ParsePattern(std::string_view name);
// QPRIO names: urgent, high, medium, low (0..3).
Result<uint8_t> ParseQueuePriority(std::string_view name);
std::string_view QueuePriorityName(uint8_t qprio);

bool PatternReads(PerfPattern p);
bool PatternWrites(PerfPattern p);
bool PatternRandom(PerfPattern p);

// Checks the options that do not depend on the device (ranges, combinations).
Result<void> ValidatePerfOptions(const PerfOptions& o);

}  // namespace nvemu::app
