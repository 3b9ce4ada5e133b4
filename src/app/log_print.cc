#include "app/log_print.h"

#include <fmt/format.h>

#include <cstring>

#include "nvemu/status.h"

namespace nvemu::app {
namespace {

// 128-bit little-endian counter; shown exactly while it fits 64 bits.
std::string U128(const uint8_t (&v)[16]) {
  uint64_t lo, hi;
  std::memcpy(&lo, v, 8);
  std::memcpy(&hi, v + 8, 8);
  if (hi == 0) return fmt::format("{}", lo);
  return fmt::format("0x{:016x}{:016x}", hi, lo);
}

uint64_t Lo(const uint8_t (&v)[16]) {
  uint64_t lo;
  std::memcpy(&lo, v, 8);
  return lo;
}

std::string Ascii(const char* s, size_t n) {
  std::string r(s, strnlen(s, n));
  r.erase(r.find_last_not_of(' ') + 1);
  return r;
}

const char* SelfTestCode(uint8_t code) {
  switch (code) {
    case 1:
      return "short";
    case 2:
      return "extended";
    case 0xe:
      return "vendor specific";
    default:
      return "none";
  }
}

const char* SelfTestResult(uint8_t r) {
  static const char* kNames[] = {"completed without error",
                                 "aborted by a Device Self-test command",
                                 "aborted by a Controller Level Reset",
                                 "aborted by a namespace removal",
                                 "aborted by a Format NVM command",
                                 "fatal error",
                                 "failed (unknown segment)",
                                 "failed (known segment)",
                                 "aborted (unknown reason)",
                                 "aborted by a sanitize operation"};
  return r < 10 ? kNames[r] : "unused";
}

}  // namespace

std::string FormatErrorLog(const std::vector<nvme_error_log_page>& entries) {
  std::string out = "Error Information Log (01h)\n";
  size_t shown = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const nvme_error_log_page& e = entries[i];
    if (e.error_count == 0) continue;
    ++shown;
    Status st = Status::FromField(e.status_field >> 1);
    out += fmt::format(
        " entry {:2}: error_count {} sqid {:#x} cmdid {:#x} status {} parm_err_loc {:#x} lba {} "
        "nsid {:#x}\n",
        i, e.error_count, e.sqid, e.cmdid, st.ToString(), e.parm_error_location, e.lba, e.nsid);
  }
  if (shown == 0) out += " (no errors)\n";
  return out;
}

std::string FormatSmartLog(const nvme_smart_log& log) {
  uint16_t temp = static_cast<uint16_t>(log.temperature[0] | log.temperature[1] << 8);
  std::string out = "SMART / Health Information Log (02h)\n";
  out += fmt::format(" critical_warning           : {:#x}{}{}\n", log.critical_warning,
                     (log.critical_warning & 1) ? " (spare below threshold)" : "",
                     (log.critical_warning & 2) ? " (temperature threshold)" : "");
  out += fmt::format(" temperature                : {} K ({} C)\n", temp,
                     static_cast<int>(temp) - 273);
  out += fmt::format(" available_spare            : {}%\n", log.avail_spare);
  out += fmt::format(" available_spare_threshold  : {}%\n", log.spare_thresh);
  out += fmt::format(" percentage_used            : {}%\n", log.percent_used);
  out += fmt::format(" data_units_read            : {} ({} bytes or less)\n",
                     U128(log.data_units_read), Lo(log.data_units_read) * 512000);
  out += fmt::format(" data_units_written         : {} ({} bytes or less)\n",
                     U128(log.data_units_written), Lo(log.data_units_written) * 512000);
  out += fmt::format(" host_read_commands         : {}\n", U128(log.host_reads));
  out += fmt::format(" host_write_commands        : {}\n", U128(log.host_writes));
  out += fmt::format(" controller_busy_time       : {} min\n", U128(log.ctrl_busy_time));
  out += fmt::format(" power_cycles               : {}\n", U128(log.power_cycles));
  out += fmt::format(" power_on_hours             : {}\n", U128(log.power_on_hours));
  out += fmt::format(" unsafe_shutdowns           : {}\n", U128(log.unsafe_shutdowns));
  out += fmt::format(" media_errors               : {}\n", U128(log.media_errors));
  out += fmt::format(" num_err_log_entries        : {}\n", U128(log.num_err_log_entries));
  out += fmt::format(" warning_temp_time          : {} min\n", log.warning_temp_time);
  out += fmt::format(" critical_comp_temp_time    : {} min\n", log.critical_comp_time);
  if (log.temp_sensor[0] != 0) {
    out += fmt::format(" temperature_sensor_1       : {} K ({} C)\n", log.temp_sensor[0],
                       static_cast<int>(log.temp_sensor[0]) - 273);
  }
  return out;
}

std::string FormatFirmwareLog(const nvme_firmware_slot& log, unsigned slots) {
  std::string out = "Firmware Slot Information Log (03h)\n";
  out += fmt::format(" active slot : {}\n", log.afi & 0x7);
  unsigned next = (log.afi >> 4) & 0x7;
  out += fmt::format(" next reset  : {}\n", next == 0 ? std::string("-") : fmt::format("{}", next));
  for (unsigned s = 0; s < slots && s < 7; ++s) {
    std::string rev = Ascii(log.frs[s], 8);
    out += fmt::format(" slot {}      : {}\n", s + 1, rev.empty() ? "(empty)" : rev);
  }
  return out;
}

std::string FormatChangedNamespaces(const nvme_ns_list& list) {
  std::string out = "Changed Namespace List Log (04h)\n";
  if (list.ns[0] == 0xffffffff) return out + " more than 1024 namespaces changed\n";
  if (list.ns[0] == 0) return out + " (none)\n";
  for (uint32_t nsid : list.ns) {
    if (nsid == 0) break;
    out += fmt::format(" nsid {}\n", nsid);
  }
  return out;
}

// 00h (5.16.1.1): the LIDs with LSUPP set, with IOS and LIDSP when present.
std::string FormatSupportedLogPages(const nvme_supported_log_pages& log) {
  std::string out = "Supported Log Pages Log (00h)\n";
  for (unsigned lid = 0; lid < 256; ++lid) {
    const uint32_t e = log.lid_support[lid];
    if ((e & 1) == 0) continue;
    out += fmt::format("  {:#04x}", lid);
    if (e & (1u << 1)) out += " IOS";
    if (e >> 16) out += fmt::format(" LIDSP:{:#06x}", e >> 16);
    out += "\n";
  }
  return out;
}

std::string FormatEffectsLog(const nvme_cmd_effects_log& log) {
  auto flags = [](uint32_t e) {
    std::string f;
    if (e & (1u << 1)) f += " LBCC";
    if (e & (1u << 2)) f += " NCC";
    if (e & (1u << 3)) f += " NIC";
    if (e & (1u << 4)) f += " CCC";
    uint32_t cse = (e >> 16) & 0x7;
    if (cse == 1) f += " CSE:namespace";
    if (cse == 2) f += " CSE:controller";
    return f;
  };
  std::string out = "Commands Supported and Effects Log (05h)\n Admin commands:\n";
  for (unsigned opc = 0; opc < 256; ++opc) {
    if (log.acs[opc] & 1) out += fmt::format("  {:#04x}{}\n", opc, flags(log.acs[opc]));
  }
  out += " I/O commands (NVM command set):\n";
  for (unsigned opc = 0; opc < 256; ++opc) {
    if (log.iocs[opc] & 1) out += fmt::format("  {:#04x}{}\n", opc, flags(log.iocs[opc]));
  }
  return out;
}

std::string FormatSelfTestLog(const nvme_self_test_log& log) {
  std::string out = "Device Self-test Log (06h)\n";
  out += fmt::format(" current operation : {}", SelfTestCode(log.current_operation & 0xf));
  if (log.current_operation != 0) out += fmt::format(" ({}% done)", log.completion & 0x7f);
  out += "\n";
  for (unsigned i = 0; i < 20; ++i) {
    const nvme_st_result& r = log.result[i];
    if ((r.dsts & 0xf) == 0xf) continue;
    out += fmt::format(" result {:2}: {} test, {}, power-on hours {}", i, SelfTestCode(r.dsts >> 4),
                       SelfTestResult(r.dsts & 0xf), r.poh);
    if (r.vdi & 1) out += fmt::format(", nsid {:#x}", r.nsid);
    out += "\n";
  }
  return out;
}

}  // namespace nvemu::app
