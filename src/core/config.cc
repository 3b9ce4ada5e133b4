#include <fmt/format.h>

#include "nvemu/config.h"

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
  if (timeout_500ms == 0) return fail("timeout (CAP.TO) must be at least 1 (500 ms)");
  if (msix_vectors < 1 || msix_vectors > 2048) {
    return fail(fmt::format("msix_vectors {} outside 1..2048", msix_vectors));
  }
  if (io_reactors < 1 || io_reactors > 256) {
    return fail(fmt::format("io_reactors {} outside 1..256", io_reactors));
  }
  if (mode == ProcessingMode::kTimer && (timer_period_us == 0 || entries_per_tick == 0)) {
    return fail("timer mode needs timer_period_us > 0 and entries_per_tick > 0");
  }
  if (serial.empty() || serial.size() > 20) return fail("serial must be 1..20 characters");
  if (model.empty() || model.size() > 40) return fail("model must be 1..40 characters");
  if (firmware_revision.empty() || firmware_revision.size() > 8) {
    return fail("firmware_revision must be 1..8 characters");
  }
  if (subnqn.empty() || subnqn.size() > 223) return fail("subnqn must be 1..223 characters");
  if (namespaces.size() > 1024) return fail("at most 1024 namespaces");
  if (max_namespaces != 0 && max_namespaces < namespaces.size()) {
    return fail(fmt::format("max_namespaces {} is below the {} namespaces configured",
                            max_namespaces, namespaces.size()));
  }
  if (max_namespaces > 1024) return fail("max_namespaces must be at most 1024");
  if (firmware_slots < 1 || firmware_slots > 7) {
    return fail(fmt::format("firmware_slots {} outside 1..7", firmware_slots));
  }
  for (size_t i = 0; i < namespaces.size(); ++i) {
    const NamespaceConfig& ns = namespaces[i];
    if (ns.lba_size != 512 && ns.lba_size != 4096) {
      return fail(fmt::format("namespace {}: lba_size {} (must be 512 or 4096)", i + 1, ns.lba_size));
    }
    if (ns.metadata_size != 0 && ns.metadata_size != 8 && ns.metadata_size != 16 &&
        ns.metadata_size != 64) {
      return fail(fmt::format("namespace {}: metadata_size {} (must be 0, 8, 16 or 64)", i + 1,
                              ns.metadata_size));
    }
    if ((ns.metadata_size == 16) != ns.pi_64b_guard) {
      return fail(fmt::format("namespace {}: metadata_size 16 is the 64b Guard PI format "
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
    if (ns.io_uring && ns.backend != BackendKind::kFile) {
      return fail(fmt::format("namespace {}: io = \"uring\" needs the file backend", i + 1));
    }
    if (ns.size_bytes == 0 || ns.size_bytes % ns.lba_size != 0) {
      return fail(fmt::format("namespace {}: size {} is not a non-zero multiple of {}", i + 1,
                              ns.size_bytes, ns.lba_size));
    }
  }
  return {};
}

}  // namespace nvemu
