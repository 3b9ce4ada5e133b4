// The nvemu configuration file: TOML for nvemu::ControllerConfig (the modern form of nvmeqemu's
// PCI/NVMe config files). docs/cli.md documents the schema; examples/nvemu.toml is a full example.
//
//   [controller]   PCI identity, strings, queue/register limits (CAP, MDTS, MSI-X)
//   [engine]       reactors and processing mode
//   [[namespace]]  one table per namespace (NSID 1, 2, ... in file order)
//
// Keys left out keep the defaults of ControllerConfig. A file with [[namespace]] tables replaces
// the default namespace list. Every problem found (syntax, unknown key, wrong type, out-of-range
// value, bad size unit, ControllerConfig::Validate()) becomes one line "file:line:column: key:
// what", sorted by line, in the returned Error; nothing throws. Pure functions apart from reading
// the file; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

// Reads and parses the file at `path`. The result has passed ControllerConfig::Validate().
Result<ControllerConfig> LoadConfigFile(const std::string& path);

// Parses TOML `text`; `source_name` names it in messages (normally the file name).
Result<ControllerConfig> ParseConfig(std::string_view text, std::string_view source_name);

}  // namespace nvemu::app
