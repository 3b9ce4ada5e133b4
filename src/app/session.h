// Bring-up and tear-down of an in-process controller through host::PcieDriver, shared by the
// commands that talk to one (`demo`, `identify`).
#pragma once

#include <nvme/types.h>

#include <cstddef>
#include <memory>
#include <vector>

#include "nvemu/config.h"
#include "nvemu/host/pcie_driver.h"
#include "nvemu/status.h"

namespace nvemu::app {

// An enabled controller and what Identify told about it.
struct Session {
  std::unique_ptr<host::PcieDriver> driver;
  nvme_id_ctrl id_ctrl{};
};

// Creates the device (REQUIRES: config.Validate() passed), enumerates it, enables it (CC.EN=1,
// CSTS.RDY=1) and runs Identify Controller. `dma_bytes` sizes the host memory arena.
Result<Session> StartSession(const ControllerConfig& config, size_t dma_bytes);

// The active NSIDs, ascending: Identify CNS 02h (Active Namespace ID list; NVMe
// Base 2.0, 5.17.2.2), repeated from the last NSID while a list comes back full.
Result<std::vector<uint32_t>> ActiveNamespaceIds(host::PcieDriver& driver);

// Identify Namespace for each NSID in `nsids`, in order.
Result<std::vector<nvme_id_ns>> IdentifyNamespaces(host::PcieDriver& driver,
                                                   const std::vector<uint32_t>& nsids);

// Normal shutdown (CC.SHN = 01b, wait for CSTS.SHST = 10b).
Result<void> StopSession(Session& session);

}  // namespace nvemu::app
