#include "app/log_cmd.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "app/commands.h"
#include "app/log_print.h"

namespace nvemu::app {
namespace {

// Get Log Page (NVMe Base 2.0, 5.16): `len` bytes of log `lid` from offset 0.
Result<std::vector<uint8_t>> ReadLog(AdminPort& port, uint8_t lid, size_t len, bool rae) {
  std::vector<uint8_t> data(len);
  Sqe sqe{};
  sqe.opc = 0x02;
  sqe.nsid = 0xffffffff;
  uint32_t numd = static_cast<uint32_t>(len / 4 - 1);
  sqe.cdw10 = lid | (rae ? 1u << 15 : 0) | (numd & 0xffff) << 16;
  sqe.cdw11 = numd >> 16;
  auto cqe = port.Admin(sqe, data);
  if (!cqe.ok()) return cqe.error();
  if (cqe->status_field() != 0) {
    return Error{fmt::format("Get Log Page {:#04x}: {}", lid,
                             Status::FromField(cqe->status_field()).ToString())};
  }
  return data;
}

template <typename T>
T As(const std::vector<uint8_t>& v) {
  T t{};
  std::memcpy(&t, v.data(), std::min(sizeof(T), v.size()));
  return t;
}

bool Wants(const std::vector<std::string>& pages, const std::string& name) {
  return std::find(pages.begin(), pages.end(), name) != pages.end() ||
         std::find(pages.begin(), pages.end(), "all") != pages.end();
}

}  // namespace

Result<std::string> CollectLogs(const ControllerConfig& config,
                                const std::vector<std::string>& pages) {
  auto port = OpenPcieAdminPort(config, 8u << 20);
  if (!port.ok()) return port.error();
  auto text = CollectLogs(**port, pages);
  auto stop = (*port)->Close();
  if (!text.ok()) return text.error();
  if (!stop.ok()) return stop.error();
  return text;
}

Result<std::string> CollectLogs(AdminPort& port, const std::vector<std::string>& pages) {
  std::string out;
  auto add = [&](const std::string& name, uint8_t lid, size_t len, bool rae,
                 auto format) -> Result<void> {
    if (!Wants(pages, name)) return {};
    auto data = ReadLog(port, lid, len, rae);
    if (!data.ok()) return data.error();
    if (!out.empty()) out += "\n";
    out += format(*data);
    return {};
  };
  unsigned slots = (port.id_ctrl().frmw >> 1) & 0x7;
  Result<void> r =
      add("supported", 0x00, sizeof(nvme_supported_log_pages), false,
          [](const auto& d) { return FormatSupportedLogPages(As<nvme_supported_log_pages>(d)); });
  // LID 00h is optional (older targets, e.g. the Linux nvmet of 6.1, lack it): with "all" its
  // failure is reported in the output instead of failing the command.
  if (!r.ok() && std::find(pages.begin(), pages.end(), "supported") == pages.end()) {
    out += "Supported Log Pages Log (00h): " + r.error().message + "\n";
    r = {};
  }
  if (r.ok()) {
    r = add("error", 0x01, 4096, false, [](const std::vector<uint8_t>& d) {
      std::vector<nvme_error_log_page> entries(d.size() / sizeof(nvme_error_log_page));
      std::memcpy(entries.data(), d.data(), entries.size() * sizeof(nvme_error_log_page));
      return FormatErrorLog(entries);
    });
  }
  if (r.ok()) {
    r = add("smart", 0x02, sizeof(nvme_smart_log), false,
            [](const auto& d) { return FormatSmartLog(As<nvme_smart_log>(d)); });
  }
  if (r.ok()) {
    r = add("fw", 0x03, sizeof(nvme_firmware_slot), false,
            [&](const auto& d) { return FormatFirmwareLog(As<nvme_firmware_slot>(d), slots); });
  }
  if (r.ok()) {
    r = add("changed", 0x04, sizeof(nvme_ns_list), true,
            [](const auto& d) { return FormatChangedNamespaces(As<nvme_ns_list>(d)); });
  }
  if (r.ok()) {
    r = add("effects", 0x05, sizeof(nvme_cmd_effects_log), false,
            [](const auto& d) { return FormatEffectsLog(As<nvme_cmd_effects_log>(d)); });
  }
  if (r.ok()) {
    r = add("self-test", 0x06, sizeof(nvme_self_test_log), false,
            [](const auto& d) { return FormatSelfTestLog(As<nvme_self_test_log>(d)); });
  }
  if (!r.ok()) return r.error();
  return out;
}

int LogCommand(const ConfigOverrides& overrides, const TcpHostArgs& tcp,
               const std::vector<std::string>& pages, std::ostream& out, std::ostream& err) {
  const std::vector<std::string> wanted = pages.empty() ? std::vector<std::string>{"all"} : pages;
  Result<std::string> text = Error{""};
  if (auto c = CheckTcpOnlyOptions(tcp); !c.ok()) {
    err << "nvemu log: " << c.error().message << "\n";
    return kExitConfig;
  }
  if (tcp.enabled()) {
    auto options = TcpDriverOptionsFor(tcp);
    if (!options.ok()) {
      err << "nvemu log: " << options.error().message << "\n";
      return kExitConfig;
    }
    auto port = OpenTcpAdminPort(*options);
    if (!port.ok()) {
      err << "nvemu log: " << port.error().message << "\n";
      return kExitFailure;
    }
    text = CollectLogs(**port, wanted);
    if (auto stop = (*port)->Close(); text.ok() && !stop.ok()) text = stop.error();
  } else {
    auto config = BuildConfig(overrides);
    if (!config.ok()) {
      err << "nvemu log: configuration error:\n" << config.error().message << "\n";
      return kExitConfig;
    }
    text = CollectLogs(*config, wanted);
  }
  if (!text.ok()) {
    err << "nvemu log: " << text.error().message << "\n";
    return kExitFailure;
  }
  out << *text;
  return kExitOk;
}

}  // namespace nvemu::app
