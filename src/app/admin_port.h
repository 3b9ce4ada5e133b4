// AdminPort: a controller's admin queue whatever the transport, so that `nvemu identify` and
// `nvemu log` run the same commands and printers against an in-process controller (PCIe, through
// host::PcieDriver) or a remote NVMe/TCP target (host::TcpDriver). Opening a port brings the
// controller up (enable + Identify Controller); Close() shuts it down normally (CC.SHN).
//
// Threading: one thread at a time.
#pragma once

#include <nvme/types.h>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "nvemu/command.h"
#include "nvemu/config.h"
#include "nvemu/host/tcp_initiator.h"
#include "nvemu/status.h"

namespace nvemu::app {

class AdminPort {
 public:
  virtual ~AdminPort() = default;
  // Executes an admin command that moves `in.size()` bytes (0: none) from the controller into
  // `in`. A non-zero NVMe status is a successful call; the caller checks the CQE.
  virtual Result<Cqe> Admin(const Sqe& sqe, std::span<uint8_t> in) = 0;
  // Normal shutdown (CC.SHN = 01b, wait for CSTS.SHST = 10b).
  virtual Result<void> Close() = 0;
  const nvme_id_ctrl& id_ctrl() const { return id_ctrl_; }

 protected:
  nvme_id_ctrl id_ctrl_{};
};

// An in-process controller built from `config` (REQUIRES: config.Validate() passed), with
// `dma_bytes` of host memory.
Result<std::unique_ptr<AdminPort>> OpenPcieAdminPort(const ControllerConfig& config,
                                                     size_t dma_bytes);
// A new association with the NVMe/TCP target `options` describes (Connect, enable, Identify).
Result<std::unique_ptr<AdminPort>> OpenTcpAdminPort(const host::TcpDriverOptions& options);

// The active NSIDs, ascending: Identify CNS 02h (Active Namespace ID list; NVMe Base 2.0,
// 5.17.2.2), repeated from the last NSID while a list comes back full.
Result<std::vector<uint32_t>> ActiveNamespaceIds(AdminPort& port);
// Identify Namespace (CNS 00h) of `nsid`.
Result<nvme_id_ns> IdentifyNamespace(AdminPort& port, uint32_t nsid);

}  // namespace nvemu::app
