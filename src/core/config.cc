#include "nvemu/config.h"

#include <fmt/format.h>

namespace nvemu {

Result<void> ControllerConfig::Validate() const {
  auto fail = [](std::string msg) { return Result<void>(Error{std::move(msg)}); };
  if (max_io_queues < 1 || max_io_queues > 65535) {
    return fail(fmt::format("max_io_queues {} outside 1..65535", max_io_queues));
  }
  if (mqes < 1 || mqes > 65535) return fail(fmt::format("mqes {} outside 1..65535", mqes));
  if (dstrd > 15) return fail(fmt::format("dstrd {} outside 0..15", dstrd));
  if (mdts > 15) return fail(fmt::format("mdts {} outside 0..15", mdts));
  if (mpsmin > mpsmax || mpsmax > 15) {
    return fail(fmt::format("mpsmin {} / mpsmax {} invalid", mpsmin, mpsmax));
  }
  if (timeout_500ms == 0) {
    return fail("timeout_500ms 0 outside 1..255 (CAP.TO, in 500 ms units)");
  }
  if (msix_vectors < 1 || msix_vectors > 2048) {
    return fail(fmt::format("msix_vectors {} outside 1..2048", msix_vectors));
  }
  if (io_reactors < 1 || io_reactors > 256) {
    return fail(fmt::format("io_reactors {} outside 1..256", io_reactors));
  }
  // Timer mode (nvmeqemu's periodic tick): a period of 1 us .. 1 s and 1..65536 entries a tick.
  // The upper bounds hold in every mode (the values are kept for a later switch to timer mode).
  if (timer_period_us > kMaxTimerPeriodUs ||
      (mode == ProcessingMode::kTimer && timer_period_us == 0)) {
    return fail(
        fmt::format("timer_period_us {} outside 1..{}", timer_period_us, kMaxTimerPeriodUs));
  }
  if (entries_per_tick > kMaxEntriesPerTick ||
      (mode == ProcessingMode::kTimer && entries_per_tick == 0)) {
    return fail(
        fmt::format("entries_per_tick {} outside 1..{}", entries_per_tick, kMaxEntriesPerTick));
  }
  if (serial.empty() || serial.size() > 20) return fail("serial must be 1..20 characters");
  if (model.empty() || model.size() > 40) return fail("model must be 1..40 characters");
  if (firmware_revision.empty() || firmware_revision.size() > 8) {
    return fail("firmware_revision must be 1..8 characters");
  }
  if (subnqn.empty() || subnqn.size() > 223) return fail("subnqn must be 1..223 characters");
  if (namespaces.size() > 1024) {
    return fail(fmt::format("namespaces: {} configured, at most 1024", namespaces.size()));
  }
  if (!state_file.empty() && state_file.back() == '/') {
    return fail(fmt::format("state_file '{}' names a directory, not a file", state_file));
  }
  if (max_namespaces != 0 && max_namespaces < namespaces.size()) {
    return fail(fmt::format("max_namespaces {} is below the {} namespaces configured",
                            max_namespaces, namespaces.size()));
  }
  if (max_namespaces > 1024) {
    return fail(fmt::format("max_namespaces {} outside 0..1024", max_namespaces));
  }
  if (firmware_slots < 1 || firmware_slots > 7) {
    return fail(fmt::format("firmware_slots {} outside 1..7", firmware_slots));
  }
  if (composite_temperature == 0) return fail("composite_temperature 0 K (must be 1..65535)");
  if (available_spare > 100) {
    return fail(fmt::format("available_spare {} outside 0..100", available_spare));
  }
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const NamespaceConfig& ns = namespaces[i];
    if (ns.lba_size != 512 && ns.lba_size != 4096) {
      return fail(
          fmt::format("namespace {}: lba_size {} (must be 512 or 4096)", i + 1, ns.lba_size));
    }
    if (ns.metadata_size != 0 && ns.metadata_size != 8 && ns.metadata_size != 16 &&
        ns.metadata_size != 64) {
      return fail(fmt::format("namespace {}: metadata_size {} (must be 0, 8, 16 or 64)", i + 1,
                              ns.metadata_size));
    }
    if ((ns.metadata_size == 16) != ns.pi_64b_guard) {
      return fail(
          fmt::format("namespace {}: metadata_size 16 is the 64b Guard PI format "
                      "(pi_64b_guard) and only it",
                      i + 1));
    }
    if (ns.pi_type > 3) {
      return fail(fmt::format("namespace {}: pi_type {} (must be 0..3)", i + 1, ns.pi_type));
    }
    if (ns.pi_type != 0 && ns.metadata_size == 0) {
      return fail(fmt::format("namespace {}: pi_type {} needs metadata (metadata_size >= 8)", i + 1,
                              ns.pi_type));
    }
    if (ns.pi_first && ns.pi_type == 0) {
      return fail(fmt::format("namespace {}: pi_first needs pi_type 1..3", i + 1));
    }
    if (ns.extended_lba && ns.metadata_size == 0) {
      return fail(
          fmt::format("namespace {}: extended_lba needs metadata (metadata_size >= 8)", i + 1));
    }
    if (ns.direct_io && ns.backend != BackendKind::kFile) {
      return fail(fmt::format("namespace {}: direct_io needs the file backend", i + 1));
    }
    if (ns.io_uring && ns.backend != BackendKind::kFile) {
      return fail(fmt::format("namespace {}: io = \"uring\" needs the file backend", i + 1));
    }
    if (ns.size_bytes == 0 || ns.size_bytes % ns.lba_size != 0) {
      return fail(
          fmt::format("namespace {}: size_bytes {} is not a non-zero multiple of lba_size {}",
                      i + 1, ns.size_bytes, ns.lba_size));
    }
  }
  // The namespace pool (TNVMCAP) holds at least the configured namespaces.
  uint64_t total = 0;
  for (const NamespaceConfig& ns : namespaces) total += ns.size_bytes;
  if (nvm_capacity != 0 && nvm_capacity < total) {
    return fail(fmt::format("nvm_capacity {} is below the {} bytes of the configured namespaces",
                            nvm_capacity, total));
  }
  return {};
}

}  // namespace nvemu
