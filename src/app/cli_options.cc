#include "app/cli_options.h"

#include <span>
#include <string>
#include <vector>

#include "app/enum_names.h"
#include "app/size_parse.h"

namespace nvemu::app {
namespace {

constexpr const char* kConfigGroup = "Configuration (override the config file)";

std::vector<std::string> Names(std::span<const std::string_view> names) {
  return {names.begin(), names.end()};
}

}  // namespace

CLI::Validator SizeValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto r = ParseSize(text);
        return r.ok() ? std::string() : r.error().message;
      },
      "SIZE");
}

void AddConfigOptions(CLI::App& app, ConfigOverrides& o) {
  app.add_option_function<std::string>(
         "-c,--config", [&o](const std::string& path) { o.config_file = path; },
         "TOML configuration file (docs/cli.md); options below override its values")
      ->type_name("FILE");
  app.add_option_function<uint32_t>(
         "--namespaces", [&o](uint32_t n) { o.namespaces = n; },
         "number of namespaces: keeps the first N, or adds copies of the last one")
      ->check(CLI::Range(1u, 1024u))
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--ns-size", [&o](const std::string& s) { o.ns_size = ParseSize(s).value(); },
         "size of every namespace: bytes, or with a unit (512MiB, 1GiB, 4TiB, 1GB)")
      ->check(SizeValidator())
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--lba-size", [&o](uint32_t n) { o.lba_size = n; }, "LBA data size of every namespace")
      ->check(CLI::IsMember({512u, 4096u}))
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--backend", [&o](const std::string& s) { o.backend = *ParseBackend(s); },
         "storage of every namespace: ram (sparse), file (image files), null (discards data)")
      ->check(CLI::IsMember(Names(kBackendNames)))
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--data-path", [&o](const std::string& s) { o.data_path = s; },
         "file backend data image (one namespace only; default nvemu-n<nsid>.img)")
      ->type_name("FILE")
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--metadata-path", [&o](const std::string& s) { o.metadata_path = s; },
         "file backend metadata image (one namespace only; default nvemu-n<nsid>.meta)")
      ->type_name("FILE")
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--metadata-size", [&o](uint32_t n) { o.metadata_size = n; },
         "metadata bytes per LBA of every namespace (0, 8, 16 = 64b Guard PI, 64)")
      ->check(CLI::IsMember({0u, 8u, 16u, 64u}))
      ->group(kConfigGroup);
  app.add_flag_function(
         "--extended-lba", [&o](int64_t) { o.extended_lba = true; },
         "metadata travels at the end of each LBA's data (FLBAS bit 4), every namespace")
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--pi-type", [&o](uint32_t n) { o.pi_type = static_cast<uint8_t>(n); },
         "end-to-end protection of every namespace: 0 none, 1..3 Type 1..3 (needs metadata)")
      ->check(CLI::Range(0u, 3u))
      ->group(kConfigGroup);
  app.add_flag_function(
         "--pi-first", [&o](int64_t) { o.pi_first = true; },
         "protection information in the first bytes of the metadata (DPS bit 3)")
      ->group(kConfigGroup);
  app.add_flag_function(
         "--pi-64b-guard", [&o](int64_t) { o.pi_64b_guard = true; },
         "64b Guard protection information format (with --metadata-size 16)")
      ->group(kConfigGroup);
  app.add_flag_function(
         "--direct-io", [&o](int64_t) { o.direct_io = true; },
         "file backend: open the data images with O_DIRECT")
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--io", [&o](const std::string& s) { o.io_uring = s == "uring"; },
         "file backend I/O submission: sync (pread/pwrite on the reactor) or uring (asynchronous, "
         "through each reactor's io_uring; falls back to sync where io_uring is unavailable)")
      ->check(CLI::IsMember(Names(kIoNames)))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--max-io-queues", [&o](uint32_t n) { o.max_io_queues = n; },
         "I/O queue pairs the controller supports")
      ->check(CLI::Range(1u, 65535u))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--io-reactors", [&o](uint32_t n) { o.io_reactors = n; },
         "reactor threads serving I/O queues")
      ->check(CLI::Range(1u, 256u))
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--mode", [&o](const std::string& s) { o.mode = *ParseProcessingMode(s); },
         "how reactors find work: poll (busy-poll), notify (doorbell wakes), timer (periodic tick)")
      ->check(CLI::IsMember(Names(kProcessingModeNames)))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--timer-period-us", [&o](uint32_t n) { o.timer_period_us = n; },
         "timer mode: tick period in microseconds")
      ->check(CLI::Range(1u, ControllerConfig::kMaxTimerPeriodUs))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--entries-per-tick", [&o](uint32_t n) { o.entries_per_tick = n; },
         "timer mode: queue entries processed per tick")
      ->check(CLI::Range(1u, ControllerConfig::kMaxEntriesPerTick))
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--state-file", [&o](const std::string& s) { o.state_file = s; },
         "state file (saved features, firmware, SMART, namespace table); \"none\" = none; "
         "default: <first file-backed data image>.state.json")
      ->type_name("FILE")
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--max-namespaces", [&o](uint32_t n) { o.max_namespaces = n; },
         "Identify NN: highest NSID for namespace management (0 = the namespaces configured)")
      ->check(CLI::Range(0u, 1024u))
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--nvm-capacity", [&o](const std::string& s) { o.nvm_capacity = ParseSize(s).value(); },
         "Identify TNVMCAP: the namespace management pool (default: the configured namespaces)")
      ->check(SizeValidator())
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--firmware-slots", [&o](uint32_t n) { o.firmware_slots = static_cast<uint8_t>(n); },
         "firmware slots (Identify FRMW.NOFS)")
      ->check(CLI::Range(1u, 7u))
      ->group(kConfigGroup);
  app.add_option_function<bool>(
         "--firmware-slot1-read-only", [&o](bool b) { o.firmware_slot1_read_only = b; },
         "firmware slot 1 is read-only (Identify FRMW bit 0): true or false")
      ->type_name("BOOL")
      ->group(kConfigGroup);
  app.add_option_function<std::string>(
         "--endurance", [&o](const std::string& s) { o.endurance_bytes = ParseSize(s).value(); },
         "bytes written for SMART Percentage Used to reach 100 (default: 1000 x TNVMCAP)")
      ->check(SizeValidator())
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--temperature", [&o](uint32_t k) { o.composite_temperature = static_cast<uint16_t>(k); },
         "SMART Composite Temperature in Kelvin (default 313; WCTEMP 343, CCTEMP 358)")
      ->check(CLI::Range(1u, 65535u))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--spare", [&o](uint32_t p) { o.available_spare = static_cast<uint8_t>(p); },
         "SMART Available Spare in percent (default 100; threshold 10)")
      ->check(CLI::Range(0u, 100u))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--mdts", [&o](uint32_t n) { o.mdts = static_cast<uint8_t>(n); },
         "Maximum Data Transfer Size: 2^MDTS * 4 KiB, 0 = no limit")
      ->check(CLI::Range(0u, 15u))
      ->group(kConfigGroup);
  app.add_option_function<uint32_t>(
         "--dstrd", [&o](uint32_t n) { o.dstrd = static_cast<uint8_t>(n); },
         "CAP.DSTRD: doorbell stride 2^(2+DSTRD) bytes")
      ->check(CLI::Range(0u, 15u))
      ->group(kConfigGroup);
}

}  // namespace nvemu::app
