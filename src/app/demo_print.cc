#include "app/demo_print.h"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "app/enum_names.h"
#include "app/identify_print.h"
#include "app/size_parse.h"

namespace nvemu::app {
namespace {

using Json = nlohmann::ordered_json;

double MiBps(uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) / (1 << 20) / seconds : 0.0;
}

std::string MaxTransfer(uint8_t mdts) {
  // MDTS is in units of CAP.MPSMIN; the summary assumes 4 KiB (MPSMIN = 0, the nvemu default).
  return mdts == 0 ? "no limit" : FormatSize((uint64_t{1} << mdts) * 4096) + " max transfer";
}

std::string Verification(const DemoReport& r) {
  if (r.blocks_verified == 0) return "FAILED: nothing was verified";
  if (r.blocks_mismatched == 0) {
    bool null = std::any_of(r.namespaces.begin(), r.namespaces.end(), [](const DemoNamespace& ns) {
      return ns.backend == BackendKind::kNull;
    });
    return fmt::format("PASSED ({} blocks read back, every byte compared{})", r.blocks_verified,
                       null ? "; null backend: zeroes expected" : "");
  }
  return fmt::format("FAILED ({} of {} blocks differ; first: {})", r.blocks_mismatched,
                     r.blocks_verified, r.first_mismatch);
}

}  // namespace

std::string FormatDemoText(const DemoReport& r) {
  std::string out;
  auto line = [&](std::string_view name, const std::string& value) {
    fmt::format_to(std::back_inserter(out), "  {:<14}: {}\n", name, value);
  };
  const nvme_id_ctrl& c = r.ctrl;
  out += "nvemu demo: in-process NVMe controller driven over PCIe by host::PcieDriver\n\n";
  out += "Controller\n";
  line("vid / ssvid", fmt::format("{:#06x} / {:#06x}", c.vid, c.ssvid));
  line("serial (sn)", IdString(c.sn, sizeof(c.sn)));
  line("model (mn)", IdString(c.mn, sizeof(c.mn)));
  line("firmware (fr)", IdString(c.fr, sizeof(c.fr)));
  line("version", FormatVersion(c.ver));
  line("mdts", fmt::format("{} ({})", c.mdts, MaxTransfer(c.mdts)));
  line("namespaces", fmt::format("{} active (nn {})", r.namespaces.size(), c.nn));
  line("engine",
       fmt::format("{} mode, {} I/O reactor(s)", ProcessingModeName(r.mode), r.io_reactors));
  out += "\nNamespaces\n";
  for (const DemoNamespace& ns : r.namespaces) {
    unsigned lbaf = InUseLbaFormat(ns.id);
    line(
        fmt::format("nsid {}", ns.nsid),
        fmt::format("{} ({} LBAs of {} B, lbaf {}: lbads {} ms {}), backend {}, nuse {} LBAs",
                    FormatSize(ns.id.nsze * ns.lba_size), ns.id.nsze, ns.lba_size, lbaf,
                    ns.id.lbaf[lbaf].ds, ns.id.lbaf[lbaf].ms, BackendName(ns.backend), ns.id.nuse));
  }
  out += "\nI/O\n";
  line("queues", fmt::format("{} I/O queue pair(s), qid 1..{}, {} entries each", r.queues, r.queues,
                             r.queue_entries));
  line("written", fmt::format("{} in {} write commands (+{} flush)", FormatSize(r.bytes_written),
                              r.write_commands, r.flush_commands));
  line("read", fmt::format("{} in {} read commands", FormatSize(r.bytes_read), r.read_commands));
  line("verification", Verification(r));
  line("timing",
       fmt::format("{} commands in {:.3f} s: write {:.1f} MiB/s, read {:.1f} MiB/s",
                   r.write_commands + r.read_commands, r.write_seconds + r.read_seconds,
                   MiBps(r.bytes_written, r.write_seconds), MiBps(r.bytes_read, r.read_seconds)));
  out += "                  (a demo figure, not a benchmark: small transfers, one run)\n";
  line("shutdown", r.shutdown_error.empty() ? "ok (CSTS.SHST complete)" : r.shutdown_error);
  out += fmt::format("\nRESULT: {}\n", r.passed() ? "PASS" : "FAIL");
  return out;
}

Json DemoJson(const DemoReport& r) {
  const nvme_id_ctrl& c = r.ctrl;
  Json j;
  j["result"] = r.passed() ? "pass" : "fail";
  j["controller"] = {{"vid", c.vid},
                     {"ssvid", c.ssvid},
                     {"sn", IdString(c.sn, sizeof(c.sn))},
                     {"mn", IdString(c.mn, sizeof(c.mn))},
                     {"fr", IdString(c.fr, sizeof(c.fr))},
                     {"ver", FormatVersion(c.ver)},
                     {"mdts", c.mdts},
                     {"nn", c.nn},
                     {"active_namespaces", r.namespaces.size()},
                     {"mode", ProcessingModeName(r.mode)},
                     {"io_reactors", r.io_reactors}};
  Json namespaces = Json::array();
  for (const DemoNamespace& ns : r.namespaces) {
    unsigned lbaf = InUseLbaFormat(ns.id);
    namespaces.push_back({{"nsid", ns.nsid},
                          {"nsze", ns.id.nsze},
                          {"nuse", ns.id.nuse},
                          {"lba_size", ns.lba_size},
                          {"lbaf", lbaf},
                          {"metadata_size", ns.id.lbaf[lbaf].ms},
                          {"backend", BackendName(ns.backend)},
                          {"lbas_per_queue", ns.lbas_per_queue},
                          {"lbas_per_command", ns.lbas_per_command}});
  }
  j["namespaces"] = namespaces;
  j["io"] = {{"queues", r.queues},
             {"queue_entries", r.queue_entries},
             {"write_commands", r.write_commands},
             {"read_commands", r.read_commands},
             {"flush_commands", r.flush_commands},
             {"bytes_written", r.bytes_written},
             {"bytes_read", r.bytes_read}};
  j["verification"] = {{"passed", r.blocks_verified > 0 && r.blocks_mismatched == 0},
                       {"blocks_verified", r.blocks_verified},
                       {"blocks_mismatched", r.blocks_mismatched}};
  if (!r.first_mismatch.empty()) j["verification"]["first_mismatch"] = r.first_mismatch;
  j["timing"] = {{"note", "demo figure, not a benchmark"},
                 {"write_seconds", r.write_seconds},
                 {"read_seconds", r.read_seconds},
                 {"write_mib_per_s", MiBps(r.bytes_written, r.write_seconds)},
                 {"read_mib_per_s", MiBps(r.bytes_read, r.read_seconds)}};
  j["shutdown"] = r.shutdown_error.empty() ? Json("ok") : Json(r.shutdown_error);
  return j;
}

Json DemoErrorJson(const std::string& message) {
  return Json{{"result", "error"}, {"error", message}};
}

}  // namespace nvemu::app
