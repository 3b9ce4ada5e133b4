#include "app/perf_watch.h"

#include <fmt/format.h>
#include <pthread.h>
#include <sched.h>

namespace nvemu::app {

CpuBudget CurrentCpuBudget() {
  CpuBudget b;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    b.cpus = static_cast<unsigned>(CPU_COUNT(&set));
  }
  if (b.cpus == 0) b.cpus = 1;
  int policy = 0;
  sched_param param{};
  if (pthread_getschedparam(pthread_self(), &policy, &param) == 0) {
    b.realtime = policy == SCHED_FIFO || policy == SCHED_RR;
  }
  return b;
}

std::string OversubscriptionWarning(unsigned poll_reactors, unsigned host_threads,
                                    const CpuBudget& budget) {
  const unsigned spinners = poll_reactors + host_threads;
  if (spinners <= budget.cpus) return {};
  std::string w = fmt::format(
      "{} poll-mode I/O reactor(s) and {} host thread(s) spin, but the process may use {} CPU(s): "
      "the threads take turns on the cores, so the figures measure the scheduler, not the device "
      "(use --mode notify, fewer --reactors or --threads)",
      poll_reactors, host_threads, budget.cpus);
  if (budget.realtime) {
    w += "; under SCHED_FIFO/RR a waiting thread runs only when an idle reactor or host thread "
         "yields (after 1 ms without work), so expect a slow run";
  }
  return w;
}

RealtimeBoost::RealtimeBoost() {
  sched_param param{};
  if (pthread_getschedparam(pthread_self(), &policy_, &param) != 0) return;
  if (policy_ != SCHED_FIFO && policy_ != SCHED_RR) return;
  priority_ = param.sched_priority;
  sched_param boosted{};
  boosted.sched_priority = sched_get_priority_max(policy_);
  if (boosted.sched_priority <= priority_) return;
  active_ = pthread_setschedparam(pthread_self(), policy_, &boosted) == 0;
}

RealtimeBoost::~RealtimeBoost() {
  if (!active_) return;
  sched_param param{};
  param.sched_priority = priority_;
  pthread_setschedparam(pthread_self(), policy_, &param);
}

std::string DescribeStuckRun(bool timed, double late_s, double interval_s,
                             const std::vector<QueueProgress>& queues,
                             const std::vector<ReactorProgress>& reactors) {
  uint64_t outstanding = 0;
  for (const QueueProgress& q : queues) outstanding += q.outstanding;
  std::string s = timed ? fmt::format("the run did not end {:.1f} s after its time limit", late_s)
                        : fmt::format("the run completed no command for {:.1f} s", late_s);
  s += fmt::format(": the host thread(s) wait for {} completion(s);", outstanding);
  for (const QueueProgress& q : queues) {
    s += fmt::format(" queue {}: {} outstanding, {} reaped in the last {:.1f} s;", q.qid,
                     q.outstanding, q.completed_delta, interval_s);
  }
  for (const ReactorProgress& r : reactors) {
    const char* what = r.commands_delta != 0 ? "busy"
                       : r.idle_delta != 0   ? "polling, found nothing to fetch"
                       : r.sleeps_delta != 0 ? "asleep, found nothing to fetch"
                                             : "no poll pass (asleep, or never scheduled)";
    s += fmt::format(
        " reactor {}: {} command(s), {} idle poll(s), {} sleep(s) in the last {:.1f} s: {};",
        r.name, r.commands_delta, r.idle_delta, r.sleeps_delta, interval_s, what);
  }
  if (!s.empty() && s.back() == ';') s.back() = '.';
  return s;
}

}  // namespace nvemu::app
