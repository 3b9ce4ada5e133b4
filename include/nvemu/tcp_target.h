// TcpTarget: an NVMe over Fabrics target on NVMe/TCP (NVMe/TCP Transport 1.0, NVMe Base 2.0 chapter
// 6). It listens on `TargetConfig::address`:`port` (and a discovery port), serves the configured
// NVM subsystems and the Discovery subsystem (nqn.2014-08.org.nvmexpress.discovery), and creates a
// controller per host association (dynamic controller model). Any NVMe/TCP host (the Linux kernel,
// SPDK, nvme-cli, nvemu's own initiator) can connect:
//   auto target = TcpTarget::Create(config);   // builds subsystems, opens backends
//   target.value()->Start();                    // binds, listens, starts the reactors
//   ...                                         // serve until told to stop
//   target.value()->Stop();                     // closes connections cleanly
//
// Threading: Start()/Stop() from one control thread; the getters from any thread. Connections are
// served by `TargetConfig::reactors` reactor threads. Destroying the target stops it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "nvemu/config.h"
#include "nvemu/status.h"

namespace nvemu {

class TcpTarget {
 public:
  virtual ~TcpTarget() = default;

  // Validates `config` and builds the subsystems (file backends are opened here).
  static Result<std::unique_ptr<TcpTarget>> Create(const TargetConfig& config);

  // Binds the listeners and starts serving. Fails if an address cannot be bound.
  virtual Result<void> Start() = 0;
  // Stops accepting, lets every connection finish sending the responses of commands already
  // executed (bounded by a short deadline), closes all connections, ends every controller and
  // stops the reactors. Commands waiting for host data are aborted. Idempotent.
  virtual void Stop() = 0;

  // The bound I/O port (useful with port 0), and the discovery port (-1 when there is none).
  virtual uint16_t port() const = 0;
  virtual int32_t discovery_port() const = 0;
  // Live connections and controllers (for tests and status output).
  virtual size_t connection_count() const = 0;
  virtual size_t controller_count() const = 0;
};

}  // namespace nvemu
