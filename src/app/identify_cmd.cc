#include "app/identify_cmd.h"

#include <fmt/format.h>

#include "app/identify_json.h"
#include "app/identify_print.h"
#include "app/session.h"

namespace nvemu::app {

Result<IdentifyData> CollectIdentify(const ControllerConfig& config, std::optional<uint32_t> nsid) {
  auto session = StartSession(config, 8u << 20);
  if (!session.ok()) return session.error();
  IdentifyData data;
  data.ctrl = session->id_ctrl;
  std::vector<uint32_t> nsids;
  if (nsid) {
    if (*nsid == 0 || *nsid > data.ctrl.nn) {
      return Error{fmt::format("namespace {} does not exist (the controller has NN = {})", *nsid,
                               data.ctrl.nn)};
    }
    nsids.push_back(*nsid);
  } else {
    auto active = ActiveNamespaceIds(*session->driver);
    if (!active.ok()) return active.error();
    nsids = std::move(*active);
  }
  auto ids = IdentifyNamespaces(*session->driver, nsids);
  if (!ids.ok()) return ids.error();
  for (size_t i = 0; i < nsids.size(); ++i) data.namespaces.emplace_back(nsids[i], (*ids)[i]);
  if (auto r = StopSession(*session); !r.ok()) return r.error();
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
