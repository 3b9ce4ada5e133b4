#include "app/overrides.h"

#include <fmt/format.h>

#include "app/config_file.h"

namespace nvemu::app {
namespace {

void ResizeNamespaces(uint32_t count, std::vector<NamespaceConfig>& namespaces) {
  NamespaceConfig model = namespaces.empty() ? NamespaceConfig{} : namespaces.back();
  model.data_path.clear();  // copies use the default image names (nvemu-n<nsid>.img/.meta)
  model.metadata_path.clear();
  namespaces.resize(count, model);
}

}  // namespace

Result<void> ApplyOverrides(const ConfigOverrides& o, ControllerConfig& config) {
  if (o.namespaces) ResizeNamespaces(*o.namespaces, config.namespaces);
  for (NamespaceConfig& ns : config.namespaces) {
    if (o.ns_size) ns.size_bytes = *o.ns_size;
    if (o.lba_size) ns.lba_size = *o.lba_size;
    if (o.backend) ns.backend = *o.backend;
    if (o.metadata_size) ns.metadata_size = *o.metadata_size;
    if (o.extended_lba) ns.extended_lba = *o.extended_lba;
    if (o.pi_type) ns.pi_type = *o.pi_type;
    if (o.pi_first) ns.pi_first = *o.pi_first;
    if (o.pi_64b_guard) ns.pi_64b_guard = *o.pi_64b_guard;
    if (o.direct_io) ns.direct_io = *o.direct_io;
    if (o.io_uring) ns.io_uring = *o.io_uring;
  }
  if (o.data_path || o.metadata_path) {
    const char* option = o.data_path ? "--data-path" : "--metadata-path";
    if (config.namespaces.size() != 1) {
      return Error{
          fmt::format("{} needs exactly one namespace (there are {}); give per-namespace "
                      "paths in a config file",
                      option, config.namespaces.size())};
    }
    NamespaceConfig& ns = config.namespaces.front();
    if (ns.backend != BackendKind::kFile) {
      return Error{
          fmt::format("{} is only used with the file backend (add --backend file)", option)};
    }
    if (o.data_path) ns.data_path = *o.data_path;
    if (o.metadata_path) ns.metadata_path = *o.metadata_path;
  }
  if (o.max_io_queues) config.max_io_queues = *o.max_io_queues;
  if (o.io_reactors) config.io_reactors = *o.io_reactors;
  if (o.mode) config.mode = *o.mode;
  if (o.mdts) config.mdts = *o.mdts;
  if (o.dstrd) config.dstrd = *o.dstrd;
  if (o.timer_period_us) config.timer_period_us = *o.timer_period_us;
  if (o.entries_per_tick) config.entries_per_tick = *o.entries_per_tick;
  if (o.state_file) config.state_file = *o.state_file;
  if (o.max_namespaces) config.max_namespaces = *o.max_namespaces;
  if (o.nvm_capacity) config.nvm_capacity = *o.nvm_capacity;
  if (o.firmware_slots) config.firmware_slots = *o.firmware_slots;
  if (o.firmware_slot1_read_only) config.firmware_slot1_read_only = *o.firmware_slot1_read_only;
  if (o.endurance_bytes) config.endurance_bytes = *o.endurance_bytes;
  if (o.composite_temperature) config.composite_temperature = *o.composite_temperature;
  if (o.available_spare) config.available_spare = *o.available_spare;
  return {};
}

Result<ControllerConfig> BuildConfig(const ConfigOverrides& o) {
  ControllerConfig config;
  if (o.config_file) {
    auto loaded = LoadConfigFile(*o.config_file);
    if (!loaded.ok()) return loaded.error();
    config = std::move(*loaded);
  }
  if (auto r = ApplyOverrides(o, config); !r.ok()) return r.error();
  if (auto r = config.Validate(); !r.ok()) {
    return Error{fmt::format("invalid configuration{}: {}",
                             o.config_file
                                 ? fmt::format(" ({} with command-line options)", *o.config_file)
                                 : std::string(" (command-line options)"),
                             r.error().message)};
  }
  return config;
}

}  // namespace nvemu::app
