// Registration of nvemu's command-line options with CLI11: the configuration overrides shared by
// the subcommands, and validators for sizes and names.
#pragma once

#include <CLI/CLI.hpp>

#include "app/overrides.h"

namespace nvemu::app {

// --config; namespaces: --namespaces, --ns-size, --lba-size, --backend, --data-path,
// --metadata-path, --metadata-size, --extended-lba, --pi-type, --pi-first, --pi-64b-guard,
// --direct-io, --io; controller: --max-io-queues, --io-reactors, --mode, --timer-period-us,
// --entries-per-tick, --mdts, --dstrd; admin and persistence: --state-file, --max-namespaces,
// --nvm-capacity, --firmware-slots, --firmware-slot1-read-only, --endurance, --temperature,
// --spare; filling `o` (which must outlive `app`).
void AddConfigOptions(CLI::App& app, ConfigOverrides& o);

// Accepts what ParseSize() accepts ("64KiB", "1GiB", "4096"); the error is ParseSize's message.
CLI::Validator SizeValidator();

}  // namespace nvemu::app
