// `nvemu serve`: runs the NVMe/TCP target (nvemu/tcp_target.h) until SIGINT or SIGTERM, so that
// any NVMe/TCP host (the Linux kernel via nvme-cli, SPDK, `nvemu perf --tcp`) can use the emulated
// controller. The subsystem's namespaces, limits, reactors and processing mode come from the shared
// configuration options (--config, --namespaces, --backend, ...); the options below add the
// transport: listen address and ports, subsystem NQN, allowed hosts.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "app/overrides.h"

namespace nvemu::app {

struct ServeArgs {
  ConfigOverrides overrides;
  std::string address = "127.0.0.1";
  uint16_t port = 4420;
  int32_t discovery_port = 8009;
  std::string nqn;  // empty: the configuration's subnqn
  std::vector<std::string> allowed_hosts;
};

// Adds the `serve` subcommand.
void AddServe(CLI::App& app, ServeArgs& args);

// Builds the target, prints how to connect, serves until SIGINT/SIGTERM, stops cleanly. Exit
// status as app/commands.h (0 after a clean stop; 2 for a bad configuration; 1 if it cannot
// listen).
int ServeCommand(const ServeArgs& args, std::ostream& out, std::ostream& err);

}  // namespace nvemu::app
