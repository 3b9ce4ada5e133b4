#include "app/commands.h"

#include "app/demo_print.h"
#include "app/identify_cmd.h"

namespace nvemu::app {
namespace {

void PrintJson(std::ostream& out, const nlohmann::ordered_json& j) { out << j.dump(2) << "\n"; }

std::string FailureReason(const DemoReport& r) {
  if (r.blocks_mismatched) return "data mismatch at " + r.first_mismatch;
  if (r.blocks_verified == 0) return "nothing was verified";
  return "shutdown: " + r.shutdown_error;
}

}  // namespace

int DemoCommand(const ConfigOverrides& overrides, const DemoOptions& options, bool json,
                std::ostream& out, std::ostream& err) {
  auto config = BuildConfig(overrides);
  if (!config.ok()) {
    err << "nvemu demo: configuration error:\n" << config.error().message << "\n";
    if (json) PrintJson(out, DemoErrorJson(config.error().message));
    return kExitConfig;
  }
  auto report = RunDemo(*config, options);
  if (!report.ok()) {
    err << "nvemu demo: FAILED: " << report.error().message << "\n";
    if (json) PrintJson(out, DemoErrorJson(report.error().message));
    return kExitFailure;
  }
  if (json) {
    PrintJson(out, DemoJson(*report));
  } else {
    out << FormatDemoText(*report);
  }
  if (!report->passed()) {
    err << "nvemu demo: FAILED: " << FailureReason(*report) << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

int IdentifyCommand(const ConfigOverrides& overrides, const TcpHostArgs& tcp,
                    std::optional<uint32_t> nsid, bool json, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& message, int rc) {
    err << "nvemu identify: "
        << (rc == kExitConfig && !tcp.enabled() ? "configuration error:\n" : "") << message << "\n";
    if (json) PrintJson(out, {{"result", "error"}, {"error", message}});
    return rc;
  };
  if (auto c = CheckTcpOnlyOptions(tcp); !c.ok()) return fail(c.error().message, kExitConfig);
  Result<IdentifyData> data = Error{""};
  if (tcp.enabled()) {
    auto options = TcpDriverOptionsFor(tcp);
    if (!options.ok()) return fail(options.error().message, kExitConfig);
    auto port = OpenTcpAdminPort(*options);
    if (!port.ok()) return fail(port.error().message, kExitFailure);
    data = CollectIdentify(**port, nsid);
    if (auto stop = (*port)->Close(); data.ok() && !stop.ok()) data = stop.error();
  } else {
    auto config = BuildConfig(overrides);
    if (!config.ok()) return fail(config.error().message, kExitConfig);
    data = CollectIdentify(*config, nsid);
  }
  if (!data.ok()) return fail(data.error().message, kExitFailure);
  if (json) {
    PrintJson(out, IdentifyJson(*data));
  } else {
    out << FormatIdentify(*data);
  }
  return kExitOk;
}

}  // namespace nvemu::app
