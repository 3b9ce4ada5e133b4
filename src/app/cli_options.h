// Registration of nvemu's command-line options with CLI11: the configuration overrides shared by
// the subcommands, and validators for sizes and names.
#pragma once

#include <CLI/CLI.hpp>

#include "app/overrides.h"

namespace nvemu::app {

// --config, --namespaces, --ns-size, --lba-size, --backend, --io, --data-path, --metadata-path,
// --max-io-queues, --io-reactors, --mode, --mdts, --dstrd, filling `o` (which must outlive `app`).
void AddConfigOptions(CLI::App& app, ConfigOverrides& o);

// Accepts what ParseSize() accepts ("64KiB", "1GiB", "4096"); the error is ParseSize's message.
CLI::Validator SizeValidator();

}  // namespace nvemu::app
