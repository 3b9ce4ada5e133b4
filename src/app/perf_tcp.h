// RunPerfTcp: `nvemu perf --tcp`: the same load generator and result as RunPerf (perf_run.h), over
// the host library's NVMe/TCP initiator against any NVMe/TCP target. It connects an association
// (admin queue, CC.EN, Identify), asks for the I/O queues (Set Features Number of Queues), connects
// one TCP connection per I/O queue with QD + 1 entries, prefills the range it will read, then
// drives the queues from `threads` host threads for warm-up + time (or a fixed I/O count) and
// shuts the controller down.
//
// The copy-limit ratio and the engine counters describe an in-process device: they are absent
// here. Options that configure the in-process device (--irq, --arb, --weights, --burst, --qprio,
// --coalesce, the configuration options) are refused.
#pragma once

#include <ostream>

#include "app/perf_options.h"
#include "app/perf_run.h"
#include "nvemu/host/tcp_initiator.h"
#include "nvemu/status.h"

namespace nvemu::app {

// Fails, naming the option, when `o` asks for something only an in-process device has.
Result<void> ValidateTcpPerfOptions(const PerfOptions& o);

// Runs the workload. `progress`, when set, receives a live "\r..." line once per second.
Result<PerfResult> RunPerfTcp(const host::TcpDriverOptions& target, const PerfOptions& options,
                              std::ostream* progress);

}  // namespace nvemu::app
