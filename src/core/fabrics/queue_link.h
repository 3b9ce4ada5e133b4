// QueueLink: how the fabrics core reaches a transport queue (one NVMe/TCP connection) from any
// thread, without knowing the transport. The transport registers a link with the FabricsController
// when an I/O queue connects and removes it (under the controller's lock) before the link dies.
#pragma once

#include <atomic>
#include <cstdint>

#include "nvemu/status.h"

namespace nvemu::fabrics {

class QueueLink {
 public:
  virtual ~QueueLink() = default;
  // Asks the transport to close this queue's connection. Asynchronous and thread-safe; it may be
  // called under the FabricsController's lock, so it must not call back into the controller.
  // Commands in flight are completed or aborted by the transport; no new command executes.
  virtual void RequestClose(const char* why) = 0;
  // Completes command `cid` of this queue, whose handler deferred its completion (an Asynchronous
  // Event Request, an Abort). Asynchronous and thread-safe like RequestClose(); dropped when the
  // command is no longer outstanding.
  virtual void DeliverDeferred(uint16_t cid, Status status, uint32_t dw0) = 0;

  // I/O execution epoch, odd while this queue executes an I/O command (fabrics::Queue maintains
  // it; FabricsController::QuiesceIo() waits on it).
  std::atomic<uint64_t> io_epoch{0};
};

}  // namespace nvemu::fabrics
