// Keeping an `nvemu perf` run bounded (issue #6: a poll-mode run with more spinning threads than
// cores once took 13 minutes instead of 4 s).
//
// - CPU budget: the spinning threads a run needs (poll-mode I/O reactors plus host threads) against
//   the cores the process may use. More spinners than cores measures the scheduler, not the
//   device; under SCHED_FIFO/RR (`chrt`) an equal-priority thread that never blocks keeps its core,
//   so without the reactors' idle yield (engine/reactor.h) the host thread could wait forever.
// - RealtimeBoost: the monitor (the thread that enforces --time) runs above the process' real-time
//   priority, so that spinning device and host threads cannot keep it from its deadline.
// - DescribeStuckRun: what a run that did not end waits for (outstanding commands per queue, and
//   whether each reactor and queue still made progress).
//
// Threading: plain functions; RealtimeBoost changes the calling thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nvemu::app {

struct CpuBudget {
  unsigned cpus = 1;      // CPUs in the process' affinity mask
  bool realtime = false;  // the calling thread runs SCHED_FIFO or SCHED_RR
};
CpuBudget CurrentCpuBudget();

// A warning when `spinners` busy-polling threads exceed the budget; empty when they fit.
std::string OversubscriptionWarning(unsigned poll_reactors, unsigned host_threads,
                                    const CpuBudget& budget);

// While alive, raises the calling thread to the highest priority of its real-time policy (no-op
// under SCHED_OTHER or without the privilege); restores the previous priority on destruction.
class RealtimeBoost {
 public:
  RealtimeBoost();
  ~RealtimeBoost();
  RealtimeBoost(const RealtimeBoost&) = delete;
  RealtimeBoost& operator=(const RealtimeBoost&) = delete;
  bool active() const { return active_; }

 private:
  bool active_ = false;
  int policy_ = 0;
  int priority_ = 0;
};

// Progress of one queue / one device reactor over the last sample interval.
struct QueueProgress {
  uint16_t qid = 0;
  uint64_t outstanding = 0;      // submitted and not yet reaped
  uint64_t completed_delta = 0;  // reaped during the interval
};
struct ReactorProgress {
  std::string name;
  uint64_t commands_delta = 0;  // commands processed during the interval
  uint64_t idle_delta = 0;      // idle polls during the interval
  uint64_t sleeps_delta = 0;    // notify-mode sleeps during the interval
};

// One paragraph for the error message of a stuck run: a timed run (`timed`) that had not ended
// `late_s` seconds after its time limit, or an --ios run without a completion for `late_s` seconds.
std::string DescribeStuckRun(bool timed, double late_s, double interval_s,
                             const std::vector<QueueProgress>& queues,
                             const std::vector<ReactorProgress>& reactors);

}  // namespace nvemu::app
