// `nvemu serve`: runs the NVMe/TCP target (nvemu/tcp_target.h) until SIGINT or SIGTERM, so that
// any NVMe/TCP host (the Linux kernel via nvme-cli, SPDK, `nvemu perf --tcp`) can use the emulated
// controller. The configuration (serve_config.h) is the shared one (--config, --namespaces,
// --backend, ...) plus, in the --config file, [target] (listen address, ports, transport limits)
// and [[subsystem]] tables (several subsystems, each with its namespaces and allowed hosts); the
// options below override the file: listen address and ports, and with one subsystem its NQN and
// allowed hosts.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "app/overrides.h"

namespace nvemu::app {

struct ServeArgs {
  ConfigOverrides overrides;
  std::optional<std::string> address;     // default 127.0.0.1 (or [target] address)
  std::optional<uint16_t> port;           // default 4420
  std::optional<int32_t> discovery_port;  // default 8009
  std::string nqn;                        // empty: the configuration's subnqn
  std::vector<std::string> allowed_hosts;
};

// Adds the `serve` subcommand.
void AddServe(CLI::App& app, ServeArgs& args);

// Builds the target, prints how to connect, serves until SIGINT/SIGTERM, stops cleanly. Exit
// status as app/commands.h (0 after a clean stop; 2 for a bad configuration; 1 if it cannot
// listen).
int ServeCommand(const ServeArgs& args, std::ostream& out, std::ostream& err);

}  // namespace nvemu::app
