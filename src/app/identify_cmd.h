// `nvemu identify`: Identify Controller and Identify Namespace of a controller, printed like
// nvme-cli's id-ctrl / id-ns (identify_print.h) or as JSON (identify_json.h), of an in-process
// controller brought up from the configuration or of a remote NVMe/TCP target (--tcp), through
// AdminPort (admin_port.h).
#pragma once

#include <nvme/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "app/admin_port.h"
#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

struct IdentifyData {
  nvme_id_ctrl ctrl{};
  std::vector<std::pair<uint32_t, nvme_id_ns>> namespaces;  // (NSID, data), ascending NSID
};

// Starts the controller, identifies it and namespace `nsid` (any NSID in 1..NN; an inactive one
// reads as zeroes) or, when nullopt, every active namespace; shuts the controller down. REQUIRES:
// config.Validate() passed.
Result<IdentifyData> CollectIdentify(const ControllerConfig& config, std::optional<uint32_t> nsid);
// The same over an open port (which stays open).
Result<IdentifyData> CollectIdentify(AdminPort& port, std::optional<uint32_t> nsid);

// id-ctrl text, then a blank line and id-ns text for each namespace.
std::string FormatIdentify(const IdentifyData& data);

// {"controller": {id-ctrl fields}, "namespaces": [{"nsid": N, id-ns fields}, ...]}
nlohmann::ordered_json IdentifyJson(const IdentifyData& data);

}  // namespace nvemu::app
