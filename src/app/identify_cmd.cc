#include "app/identify_cmd.h"

#include <fmt/format.h>

#include "app/identify_json.h"
#include "app/identify_print.h"

namespace nvemu::app {

Result<IdentifyData> CollectIdentify(AdminPort& port, std::optional<uint32_t> nsid) {
  IdentifyData data;
  data.ctrl = port.id_ctrl();
  std::vector<uint32_t> nsids;
  if (nsid) {
    if (*nsid == 0 || *nsid > data.ctrl.nn) {
      return Error{fmt::format("namespace {} does not exist (the controller has NN = {})", *nsid,
                               data.ctrl.nn)};
    }
    nsids.push_back(*nsid);
  } else {
    auto active = ActiveNamespaceIds(port);
    if (!active.ok()) return active.error();
    nsids = std::move(*active);
  }
  for (uint32_t n : nsids) {
    auto id = IdentifyNamespace(port, n);
    if (!id.ok()) return id.error();
    data.namespaces.emplace_back(n, *id);
  }
  return data;
}

Result<IdentifyData> CollectIdentify(const ControllerConfig& config, std::optional<uint32_t> nsid) {
  auto port = OpenPcieAdminPort(config, 8u << 20);
  if (!port.ok()) return port.error();
  auto data = CollectIdentify(**port, nsid);
  auto stop = (*port)->Close();
  if (!data.ok()) return data.error();
  if (!stop.ok()) return stop.error();
  return data;
}

std::string FormatIdentify(const IdentifyData& data) {
  std::string out = FormatIdCtrl(data.ctrl);
  for (const auto& [nsid, id] : data.namespaces) out += "\n" + FormatIdNs(id, nsid);
  return out;
}

nlohmann::ordered_json IdentifyJson(const IdentifyData& data) {
  nlohmann::ordered_json j;
  j["controller"] = IdCtrlJson(data.ctrl);
  j["namespaces"] = nlohmann::ordered_json::array();
  for (const auto& [nsid, id] : data.namespaces) {
    nlohmann::ordered_json ns = {{"nsid", nsid}};
    ns.update(IdNsJson(id));
    j["namespaces"].push_back(std::move(ns));
  }
  return j;
}

}  // namespace nvemu::app
