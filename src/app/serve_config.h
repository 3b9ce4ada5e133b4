// The `nvemu serve` configuration file: the shared TOML schema (config_file.h: [controller],
// [engine], [[namespace]]) plus two tables only serve reads (docs/tcp.md, docs/cli.md):
//
//   [target]       address, port, discovery_port, in_capsule_data, maxh2cdata, max_r2t_bytes,
//                  kas_100ms
//   [[subsystem]]  nqn, serial, allowed_hosts = [...], and its own [[subsystem.namespace]] tables
//                  (the keys of [[namespace]])
//
// Without [[subsystem]] the target serves one subsystem: [controller] subnqn/serial and the
// top-level [[namespace]] tables. With [[subsystem]] tables, top-level [[namespace]] tables are an
// error (which subsystem would they belong to?). Every problem is one line "file:line:column: key:
// what" in the returned Error, as in config_file.h.
#pragma once

#include <string>
#include <string_view>

#include "app/overrides.h"
#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

// Parses `text` (named `source_name` in messages), then applies `overrides` (all but
// config_file): controller and engine options to the controller, namespace options to every
// subsystem's namespaces. The result has passed TargetConfig::Validate().
Result<TargetConfig> ParseServeConfig(std::string_view text, std::string_view source_name,
                                      const ConfigOverrides& overrides);

// Reads o.config_file (when set) and parses it as above; without a file, the defaults plus the
// overrides (one subsystem, the ControllerConfig's namespaces).
Result<TargetConfig> BuildServeConfig(const ConfigOverrides& o);

}  // namespace nvemu::app
