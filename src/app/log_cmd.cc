#include "app/log_cmd.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "app/commands.h"
#include "app/log_print.h"
#include "app/session.h"

namespace nvemu::app {
namespace {

// Get Log Page (NVMe Base 2.0, 5.16): `len` bytes of log `lid` from offset 0.
Result<std::vector<uint8_t>> ReadLog(host::PcieDriver& drv, uint8_t lid, size_t len, bool rae) {
  auto buf = drv.dma().Alloc(len);
  if (!buf.ok()) return buf.error();
  Sqe sqe{};
  sqe.opc = 0x02;
  sqe.nsid = 0xffffffff;
  uint32_t numd = static_cast<uint32_t>(len / 4 - 1);
  sqe.cdw10 = lid | (rae ? 1u << 15 : 0) | (numd & 0xffff) << 16;
  sqe.cdw11 = numd >> 16;
  auto cqe = drv.Admin(sqe, &*buf, len);
  std::vector<uint8_t> data(buf->ptr, buf->ptr + len);
  drv.dma().Free(*buf);
  if (!cqe.ok()) return cqe.error();
  if (cqe->status >> 1) {
    return Error{fmt::format("Get Log Page {:#04x}: {}", lid,
                             Status::FromField(cqe->status >> 1).ToString())};
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
  auto session = StartSession(config, 8u << 20);
  if (!session.ok()) return session.error();
  host::PcieDriver& drv = *session->driver;
  std::string out;
  auto add = [&](const std::string& name, uint8_t lid, size_t len, bool rae,
                 auto format) -> Result<void> {
    if (!Wants(pages, name)) return {};
    auto data = ReadLog(drv, lid, len, rae);
    if (!data.ok()) return data.error();
    if (!out.empty()) out += "\n";
    out += format(*data);
    return {};
  };
  unsigned slots = (session->id_ctrl.frmw >> 1) & 0x7;
  Result<void> r = add("error", 0x01, 4096, false, [](const std::vector<uint8_t>& d) {
    std::vector<nvme_error_log_page> entries(d.size() / sizeof(nvme_error_log_page));
    std::memcpy(entries.data(), d.data(), entries.size() * sizeof(nvme_error_log_page));
    return FormatErrorLog(entries);
  });
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
  auto stop = StopSession(*session);
  if (!r.ok()) return r.error();
  if (!stop.ok()) return stop.error();
  return out;
}

int LogCommand(const ConfigOverrides& overrides, const std::vector<std::string>& pages,
               std::ostream& out, std::ostream& err) {
  auto config = BuildConfig(overrides);
  if (!config.ok()) {
    err << "nvemu log: configuration error:\n" << config.error().message << "\n";
    return kExitConfig;
  }
  auto text = CollectLogs(*config, pages.empty() ? std::vector<std::string>{"all"} : pages);
  if (!text.ok()) {
    err << "nvemu log: " << text.error().message << "\n";
    return kExitFailure;
  }
  out << *text;
  return kExitOk;
}

}  // namespace nvemu::app
