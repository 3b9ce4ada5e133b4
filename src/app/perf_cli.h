// `nvemu perf`: command-line registration (CLI11) and the command body. Registered in cli.cc
// next to demo and identify; docs/performance.md lists the options and what they measure.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>

#include "app/overrides.h"
#include "app/perf_options.h"
#include "app/tcp_host.h"

namespace nvemu::app {

struct PerfArgs {
  ConfigOverrides overrides;
  PerfOptions options;
  TcpHostArgs tcp;  // --tcp: against a remote NVMe/TCP target (perf_tcp.h)
};

// Adds the `perf` subcommand: the shared configuration options plus the workload options.
void AddPerf(CLI::App& app, PerfArgs& args);

// Builds the configuration, runs the workload, prints text or JSON. Exit status as commands.h.
int PerfCommand(const PerfArgs& args, std::ostream& out, std::ostream& err);

}  // namespace nvemu::app
