// QueueLink: how the fabrics core reaches a transport queue (one NVMe/TCP connection) from any
// thread, without knowing the transport. The transport registers a link with the FabricsController
// when an I/O queue connects and removes it (under the controller's lock) before the link dies.
#pragma once

namespace nvemu::fabrics {

class QueueLink {
 public:
  virtual ~QueueLink() = default;
  // Asks the transport to close this queue's connection. Asynchronous and thread-safe; it may be
  // called under the FabricsController's lock, so it must not call back into the controller.
  // Commands in flight are completed or aborted by the transport; no new command executes.
  virtual void RequestClose(const char* why) = 0;
};

}  // namespace nvemu::fabrics
