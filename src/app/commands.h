// The bodies of the nvemu subcommands, after the command line is parsed: build the configuration,
// run, print. Output goes to `out` (stdout), messages for people to `err` (stderr).
//
// Exit status: 0 success; 1 the command ran and failed (device error, verification failure);
// 2 bad configuration (kExitConfig; command-line syntax errors also exit 2, from cli.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>

#include "app/demo.h"
#include "app/overrides.h"
#include "app/tcp_host.h"

namespace nvemu::app {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitConfig = 2;

int DemoCommand(const ConfigOverrides& overrides, const DemoOptions& options, bool json,
                std::ostream& out, std::ostream& err);

// `tcp.enabled()`: identify a new association with that NVMe/TCP target instead.
int IdentifyCommand(const ConfigOverrides& overrides, const TcpHostArgs& tcp,
                    std::optional<uint32_t> nsid, bool json, std::ostream& out, std::ostream& err);

}  // namespace nvemu::app
