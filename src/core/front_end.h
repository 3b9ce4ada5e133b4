// FrontEnd: the transport hooks the transport-free Controller calls (cf. nvmet_fabrics_ops).
//
// The PCIe model implements all of them; NVMe over Fabrics front ends create queues with Connect and
// answer the PCIe-only queue commands with Invalid Command Opcode (NVMe Base 2.0, 6.1: Create/Delete
// I/O queue commands are not used on fabrics).
//
// Threading: EnableQueues/DisableQueues run on the control path with the controller's register lock
// held; the queue commands run on the admin reactor.
#pragma once

#include <cstdint>

#include "nvemu/status.h"
#include "spec/request.h"

namespace nvemu {

class FrontEnd {
 public:
  virtual ~FrontEnd() = default;

  // CC.EN 0->1 after the Controller validated CC/AQA/ASQ/ACQ: start serving the admin queue.
  virtual Status EnableQueues() = 0;
  // CC.EN 1->0, shutdown or subsystem reset: stop fetching commands, complete or abort every
  // outstanding command, delete every I/O queue and the admin queue. Returns when that is done.
  virtual void DisableQueues() = 0;

  // NVMe Base 2.0, 5.4 / 5.5 / 5.6 / 5.7. The Controller has checked the opcode-independent fields.
  virtual Status CreateIoCq(Request& req) = 0;
  virtual Status CreateIoSq(Request& req) = 0;
  virtual Status DeleteIoSq(Request& req) = 0;
  virtual Status DeleteIoCq(Request& req) = 0;
  // True while any I/O queue exists (Set Features Number of Queues is refused then).
  virtual bool HasIoQueues() const = 0;
};

}  // namespace nvemu
