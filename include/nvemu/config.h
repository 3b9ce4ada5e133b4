// Controller and namespace parameters: the modern form of nvmeqemu's PCI/NVMe config files.
//
// Plain data; Validate() reports the first inconsistency. The app layer fills it from CLI options
// and a TOML file; embedders fill it directly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nvemu/status.h"

namespace nvemu {

enum class BackendKind { kRam, kFile, kNull };

struct NamespaceConfig {
  uint64_t size_bytes = 1ull << 30;  // namespace capacity in bytes (multiple of lba_size)
  uint32_t lba_size = 512;           // LBA data size: 512 or 4096
  uint32_t metadata_size = 0;        // metadata bytes per LBA (0, 8, 16 or 64): the metadata image
  bool extended_lba = false;         // FLBAS bit 4: metadata travels at the end of each LBA's data
  uint8_t pi_type = 0;        // end-to-end protection: 0 none, 1..3 Type 1..3 (needs metadata)
  bool pi_first = false;      // DPS bit 3: PI in the first bytes of the metadata (else the last)
  bool pi_64b_guard = false;  // 64b Guard PI format (16 bytes of PI; metadata_size 16)
  bool direct_io = false;     // file backend: open the data image with O_DIRECT
  // File backend: submit data reads/writes and flushes through each reactor's io_uring (many
  // commands in flight per reactor); falls back to synchronous I/O where io_uring is unavailable.
  bool io_uring = false;
  BackendKind backend = BackendKind::kRam;
  std::string data_path;      // file backend: data image (default: nvemu-n<nsid>.img)
  std::string metadata_path;  // file backend: metadata image (default: nvemu-n<nsid>.meta)
};

// How reactors wait for work (see docs/architecture.md).
enum class ProcessingMode { kPoll, kNotify, kTimer };

struct ControllerConfig {
  // PCI identity (NVMe Base 2.0 Identify VID/SSVID follow these).
  uint16_t vendor_id = 0x8086;
  uint16_t device_id = 0x0111;
  uint16_t subsystem_vendor_id = 0x8086;
  uint16_t subsystem_id = 0x0111;
  uint8_t revision_id = 0x01;

  std::string serial = "NVEMU0001";
  std::string model = "nvemu NVMe controller";
  std::string firmware_revision = "0.1";
  std::string subnqn = "nqn.2026-11.dev.nvemu:subsys0";

  uint32_t max_io_queues = 64;  // I/O SQ/CQ pairs (1..65535)
  uint32_t mqes = 1023;         // CAP.MQES: maximum queue entries, 0's based (1..65535)
  bool cqr = false;             // CAP.CQR: contiguous queues required
  uint8_t dstrd = 0;            // CAP.DSTRD: doorbell stride 2^(2+DSTRD) bytes (0..15)
  uint8_t timeout_500ms = 20;   // CAP.TO in 500 ms units
  uint8_t mdts = 7;             // Identify MDTS: max transfer 2^MDTS * 4 KiB (0 = no limit; 1..15)
  uint8_t mpsmin = 0;           // CAP.MPSMIN: 2^(12+MPSMIN)
  uint8_t mpsmax = 4;           // CAP.MPSMAX
  uint16_t msix_vectors = 65;   // MSI-X table size (1..2048)

  uint32_t io_reactors = 1;  // reactor threads serving I/O queues (admin has its own)
  ProcessingMode mode = ProcessingMode::kNotify;
  static constexpr uint32_t kMaxTimerPeriodUs = 1'000'000;
  static constexpr uint32_t kMaxEntriesPerTick = 65536;
  uint32_t timer_period_us = 5;   // timer mode: tick period (1..kMaxTimerPeriodUs)
  uint32_t entries_per_tick = 4;  // timer mode: entries processed per tick (1..kMaxEntriesPerTick)

  std::vector<NamespaceConfig> namespaces = {NamespaceConfig{}};

  // Admin command set and persistence (docs/admin.md).
  // State file (saved features, firmware slots, SMART counters, namespace table): "" = next to the
  // first file-backed namespace's data image ("<data image>.state.json"), "none" = no state file.
  std::string state_file;
  // Identify NN, highest NSID (0 = the number of namespaces configured).
  uint32_t max_namespaces = 0;
  // Identify TNVMCAP in bytes: the namespace pool (0 = configured total).
  uint64_t nvm_capacity = 0;
  uint8_t firmware_slots = 3;            // Identify FRMW.NOFS: firmware slots (1..7)
  bool firmware_slot1_read_only = true;  // Identify FRMW bit 0
  // SMART Percentage Used reaches 100 after this many bytes written (0 = 1000 times TNVMCAP).
  uint64_t endurance_bytes = 0;
  // SMART Composite Temperature in Kelvin (1..65535; WCTEMP is 343, CCTEMP 358) and Available Spare
  // in percent (0..100; the threshold is 10) at power-on: model values, no thermal or wear model
  // changes them. A value beyond the Temperature Threshold feature (04h) or below the spare
  // threshold sets the Critical Warning bit and posts the SMART asynchronous event.
  uint16_t composite_temperature = 313;
  uint8_t available_spare = 100;

  Result<void> Validate() const;
};

// NVMe over Fabrics target (NVMe/TCP): listeners, subsystems, discovery. Plain data; Validate() in
// core/fabrics reports the first inconsistency.
struct SubsystemConfig {
  std::string nqn = "nqn.2026-11.dev.nvemu:subsys0";
  std::string serial = "NVEMU0001";  // Identify SN of this subsystem's controllers
  std::vector<NamespaceConfig> namespaces = {NamespaceConfig{}};
  std::vector<std::string> allowed_hosts;  // host NQNs allowed to Connect; empty = any host
};

struct TargetConfig {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal to listen on
  uint16_t port = 4420;               // NVMe/TCP I/O port (0 = pick a free port, for tests)
  int32_t discovery_port = 8009;      // extra port for discovery; -1 = none, 0 = pick a free port
  uint32_t reactors = 1;              // event-loop threads; connections are spread round robin
  ProcessingMode mode = ProcessingMode::kNotify;  // kNotify sleeps in epoll when idle
  // Identity and limits of every controller (MQES, MDTS, CAP.TO, model, firmware); `subnqn`,
  // `serial` and `namespaces` come from each SubsystemConfig instead.
  ControllerConfig controller;
  uint32_t in_capsule_data = 8192;   // I/O queue in-capsule data bytes: IOCCSZ = (this + 64) / 16
  uint32_t maxh2cdata = 128 * 1024;  // ICResp MAXH2CDATA
  uint32_t max_r2t_bytes = 0;        // largest R2T (0 = the whole remaining transfer in one R2T)
  uint16_t kas_100ms = 1;            // Identify KAS: keep-alive timer granularity (100 ms units)
  std::vector<SubsystemConfig> subsystems = {SubsystemConfig{}};

  Result<void> Validate() const;
};

}  // namespace nvemu
