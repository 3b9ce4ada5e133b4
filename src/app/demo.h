// `nvemu demo`: a guided tour of an in-process controller. Brings it up through host::PcieDriver,
// identifies it, creates I/O queue pairs, writes a recognizable pattern (demo_pattern.h) over a
// range of LBAs of every namespace through every queue in parallel (one host thread per queue),
// flushes, reads everything back, verifies every byte, and shuts the controller down.
//
// Each queue owns a disjoint LBA range of each namespace. The timing is a demo figure (small
// transfers, verification excluded), not a benchmark.
#pragma once

#include <nvme/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu::app {

struct DemoOptions {
  uint16_t queues = 2;          // I/O queue pairs (qid 1..queues)
  uint64_t io_size = 64 << 10;  // bytes per command (capped by MDTS, at least one LBA)
  uint32_t ios = 8;             // commands per queue and namespace, in each direction
};

struct DemoNamespace {
  uint32_t nsid = 0;
  nvme_id_ns id{};  // Identify Namespace after the I/O (NUSE counts what the demo wrote)
  BackendKind backend = BackendKind::kRam;
  uint32_t lba_size = 0;
  uint64_t lbas_per_queue = 0;  // LBAs each queue wrote and read
  uint32_t lbas_per_command = 0;
};

struct DemoReport {
  nvme_id_ctrl ctrl{};
  ProcessingMode mode = ProcessingMode::kNotify;
  uint32_t io_reactors = 0;
  std::vector<DemoNamespace> namespaces;

  uint16_t queues = 0;
  uint32_t queue_entries = 0;
  uint64_t write_commands = 0;
  uint64_t read_commands = 0;
  uint64_t flush_commands = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_read = 0;
  double write_seconds = 0;
  double read_seconds = 0;

  uint64_t blocks_verified = 0;    // blocks compared
  uint64_t blocks_mismatched = 0;  // of those, blocks with at least one wrong byte
  std::string first_mismatch;      // where the first wrong byte was; empty when none
  std::string shutdown_error;      // empty when the normal shutdown completed

  bool passed() const {
    return blocks_verified > 0 && blocks_mismatched == 0 && shutdown_error.empty();
  }
};

// REQUIRES: config.Validate() passed. Returns an Error when the demo could not run to the end
// (device creation, a command failing or timing out); verification results are in the report.
Result<DemoReport> RunDemo(const ControllerConfig& config, const DemoOptions& options);

}  // namespace nvemu::app
