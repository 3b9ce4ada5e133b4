// RunPerf: one `nvemu perf` run. It measures the machine's copy limit for the pattern (before the
// device exists, so nothing competes with it), builds an in-process controller through the host
// library (PcieDriver: enumeration, CC.EN, Identify, queue creation, features), prefills the range
// it will read, then drives every queue from `threads` host threads for warm-up + time (or a fixed
// I/O count) and collects per-queue statistics and the engine's counters.
//
// Host threads: one thread drives several queues by default (--threads 1): on a small machine every
// extra spinning thread competes with the device reactors for a core. Each thread loops: read the
// clock, reap every queue, read the clock, refill every queue. Completions are polled (phase tags),
// as spdk_nvme_perf does; --irq creates the CQs with MSI-X vectors and counts the interrupts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/perf_copy_limit.h"
#include "app/perf_histogram.h"
#include "app/perf_job.h"
#include "app/perf_options.h"
#include "nvemu/config.h"
#include "nvemu/host/pcie_driver.h"
#include "nvemu/status.h"

namespace nvemu::app {

struct QueueResult {
  uint16_t qid = 0;
  uint8_t qprio = 0;
  JobStats stats;
};

// Counter deltas of one reactor over the measured window.
struct ReactorResult {
  std::string name;
  uint64_t entries = 0;     // commands processed
  uint64_t idle_polls = 0;  // loop iterations without work
  uint64_t sleeps = 0;      // notify-mode sleeps
  uint64_t ticks = 0;       // timer-mode ticks
  uint64_t late_ticks = 0;  // timer-mode ticks more than one period late
  uint32_t max_tick_entries = 0;
  uint64_t cq_full_stalls = 0;
  uint64_t interrupts = 0;  // MSI-X messages the reactor's queue group sent
};

struct PerfResult {
  PerfOptions options;
  // `nvemu perf --tcp` (perf_tcp.h): "tcp ADDR:PORT SUBNQN"; empty for the in-process device (then
  // mode .. entries_per_tick below describe it).
  std::string target;
  // Device and namespace as run.
  ProcessingMode mode = ProcessingMode::kNotify;
  uint32_t io_reactors = 1;
  std::string backend;
  uint32_t timer_period_us = 0;
  uint32_t entries_per_tick = 0;
  uint32_t lba_size = 512;
  std::string format;  // the namespace's metadata and PI handling (perf_format.h), "" without
  uint64_t range_bytes = 0;
  double prefill_s = 0;

  double elapsed_s = 0;  // measured window
  std::vector<QueueResult> queues;
  LatencyHistogram latency;  // every queue
  uint64_t ios = 0, reads = 0, writes = 0, errors = 0, bytes = 0;
  uint64_t host_interrupts = 0;  // MSI-X messages the host received in the window (--irq)
  std::vector<ReactorResult> reactors;
  std::optional<CopyLimit> copy_limit;  // over a buffer of its own, before the device exists
  std::string copy_limit_note;          // why there is none
  // The same loops over the RAM namespace's own memory on the device's core (read patterns of a
  // namespace without metadata; perf_copy_limit.h says why), and why there is none.
  std::optional<CopyLimit> ns_copy_limit;
  std::string ns_copy_limit_note;
  // Slices the namespace limit ran in, interleaved with the load (--limit-slices); 0: measured
  // once, before the load (or after it, when no slice came to run).
  uint32_t ns_copy_limit_slices = 0;

  double iops() const { return elapsed_s > 0 ? ios / elapsed_s : 0; }
  double bytes_per_s() const { return elapsed_s > 0 ? bytes / elapsed_s : 0; }
  // The limit the ratio uses: over the namespace's memory when measured, else the own buffer's.
  const CopyLimit* limit() const;
  // Achieved / limit() (0 when there is no limit).
  double ratio_to_limit() const;
  // Achieved / the own buffer's limit (0 when not measured).
  double ratio_to_buffer_limit() const;
};

// Test seams of RunPerf.
struct PerfHooks {
  // Called once the queues exist and the range is prefilled, just before the host threads start.
  std::function<void(host::PcieDriver&)> before_load;
};

// Runs the workload. `progress`, when set, receives a live "\r..." line once per second.
// Bounded: a run that completes nothing for 2 s (a timed run: after its time limit), or a timed
// run still draining max(2 s, --time) after its limit, fails with an error that says what it
// waits for (perf_watch.h).
Result<PerfResult> RunPerf(const ControllerConfig& config, const PerfOptions& options,
                           std::ostream* progress, const PerfHooks* hooks = nullptr);

}  // namespace nvemu::app
