// The schema of the nvemu configuration file: which tables and keys exist, their types and ranges,
// and how they map onto ControllerConfig (see config_file.h for the file-level contract).
#pragma once

#include <toml++/toml.h>

#include <string_view>

#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

// Builds a ControllerConfig from a parsed document. Starts from ControllerConfig's defaults,
// applies every table, then runs ControllerConfig::Validate(). On failure the Error holds one line
// per problem, "source_name:line:column: key: what", sorted by position.
Result<ControllerConfig> ApplySchema(const toml::table& root, std::string_view source_name);

}  // namespace nvemu::app
