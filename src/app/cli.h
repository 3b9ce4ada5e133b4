// The nvemu command line: global options (--log-level, --version, --help) and the subcommands
// (demo, identify). main() is RunCli(); tests call it directly.
#pragma once

#include <ostream>

namespace nvemu::app {

// Parses argv, sets up logging, runs the chosen subcommand. Returns the process exit status (see
// commands.h; command-line errors exit 2, --help and --version exit 0). Command output goes to
// `out`; errors, help for bad usage and logs go to `err` (logs: always stderr).
int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace nvemu::app
