// Command-line overrides of configuration values, and the one place where the effective
// configuration is built: ControllerConfig defaults (one 1 GiB RAM namespace), then the --config
// file, then these overrides, then ControllerConfig::Validate().
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

struct ConfigOverrides {
  std::optional<std::string> config_file;  // --config FILE

  // Namespaces. --namespaces N keeps the first N namespaces, or adds copies of the last one (size,
  // LBA size, metadata size, backend; default image paths) until there are N. The other namespace
  // options then apply to every namespace; --data-path/--metadata-path need exactly one namespace.
  std::optional<uint32_t> namespaces;
  std::optional<uint64_t> ns_size;
  std::optional<uint32_t> lba_size;
  std::optional<BackendKind> backend;
  std::optional<std::string> data_path;
  std::optional<std::string> metadata_path;
  std::optional<uint32_t> metadata_size;
  std::optional<bool> extended_lba;
  std::optional<uint8_t> pi_type;
  std::optional<bool> pi_first;
  std::optional<bool> pi_64b_guard;
  std::optional<bool> direct_io;
  std::optional<bool> io_uring;  // --io uring|sync

  // Controller and engine.
  std::optional<uint32_t> max_io_queues;
  std::optional<uint32_t> io_reactors;
  std::optional<ProcessingMode> mode;
  std::optional<uint8_t> mdts;
  std::optional<uint8_t> dstrd;
  std::optional<uint32_t> timer_period_us;
  std::optional<uint32_t> entries_per_tick;

  // Admin command set and persistence.
  std::optional<std::string> state_file;
  std::optional<uint32_t> max_namespaces;
  std::optional<uint64_t> nvm_capacity;
  std::optional<uint8_t> firmware_slots;
  std::optional<bool> firmware_slot1_read_only;
  std::optional<uint64_t> endurance_bytes;
  std::optional<uint16_t> composite_temperature;
  std::optional<uint8_t> available_spare;
};

// Applies `o` (except config_file) to `config`. Fails, naming the option, when an override cannot
// apply (e.g. --data-path with several namespaces).
Result<void> ApplyOverrides(const ConfigOverrides& o, ControllerConfig& config);

// Defaults, then o.config_file (if any), then the overrides, then Validate(). Error messages name
// the file position or the option at fault.
Result<ControllerConfig> BuildConfig(const ConfigOverrides& o);

}  // namespace nvemu::app
