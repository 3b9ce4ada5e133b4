// `nvemu log`: brings up a controller from the configuration and prints its log pages (NVMe Base
// 2.0, 5.16.1) readably (or those of a remote NVMe/TCP target, --tcp): Error Information (01h),
// SMART / Health (02h), Firmware Slot Information (03h), Changed Namespace List (04h, read with RAE
// = 1 so it is not cleared), Commands Supported and Effects (05h) and Device Self-test (06h). With
// a file-backed configuration the counters and slots are those persisted in the state file
// (core/state_file.h).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "app/admin_port.h"
#include "app/overrides.h"
#include "app/tcp_host.h"
#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

// The page names `--page` accepts, in print order; "all" selects every one.
inline const std::vector<std::string> kLogPageNames = {"supported", "error",   "smart",     "fw",
                                                       "changed",   "effects", "self-test", "all"};

// Reads the pages named in `pages` and formats them as text.
Result<std::string> CollectLogs(const ControllerConfig& config,
                                const std::vector<std::string>& pages);
// The same over an open port (which stays open).
Result<std::string> CollectLogs(AdminPort& port, const std::vector<std::string>& pages);

// `tcp.enabled()`: the pages of a new association with that NVMe/TCP target.
int LogCommand(const ConfigOverrides& overrides, const TcpHostArgs& tcp,
               const std::vector<std::string>& pages, std::ostream& out, std::ostream& err);

}  // namespace nvemu::app
