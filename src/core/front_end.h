// FrontEnd: the transport hooks the transport-free Controller calls (cf. nvmet_fabrics_ops).
//
// The PCIe model implements all of them; NVMe over Fabrics front ends create queues with Connect
// and answer the PCIe-only queue commands with Invalid Command Opcode (NVMe Base 2.0, 6.1:
// Create/Delete I/O queue commands are not used on fabrics).
//
// Threading: EnableQueues/DisableQueues run on the control path with the controller's register lock
// held; the queue commands run on the admin reactor.
#pragma once

#include <cstdint>

#include "nvemu/status.h"
#include "spec/function_ref.h"
#include "spec/request.h"

namespace nvemu {

class FrontEnd {
 public:
  virtual ~FrontEnd() = default;

  // CC.EN 0->1 after the Controller validated CC/AQA/ASQ/ACQ: start serving the admin queue.
  virtual Status EnableQueues() = 0;
  // CC.EN 1->0, shutdown, subsystem reset, FLR or power-off: stop fetching commands, complete or
  // abort every outstanding command, delete every I/O queue and the admin queue. Returns when that
  // is done. Contract: when it returns, no Controller::ExecuteIo call of this controller is running
  // and none starts until the next EnableQueues, because the Controller resets state the I/O path
  // reads (fused commands, features, namespaces) right after. Debug builds check it (an assertion
  // in Controller::StopQueues). May be called with no queue existing (e.g. twice in a row).
  virtual void DisableQueues() = 0;

  // NVMe Base 2.0, 5.4 / 5.5 / 5.6 / 5.7. The Controller has checked the opcode-independent fields.
  virtual Status CreateIoCq(Request& req) = 0;
  virtual Status CreateIoSq(Request& req) = 0;
  virtual Status DeleteIoSq(Request& req) = 0;
  virtual Status DeleteIoCq(Request& req) = 0;
  // True while any I/O queue exists (Set Features Number of Queues is refused then).
  virtual bool HasIoQueues() const = 0;

  // Deferred completions (issue #3): posts the completion of a command whose handler set
  // Request::deferred (an Asynchronous Event Request, an Abort waiting for its target). Any thread.
  // The front end delivers it on the thread that owns the queue and holds it while the CQ is full;
  // it drops it when the queue no longer exists (the controller was reset meanwhile).
  virtual void CompleteDeferred(uint16_t sqid, uint16_t cid, Status status, uint32_t dw0);
  // Abort (NVMe Base 2.0, 5.1): when command `cid` sits in SQ `sqid` not yet fetched, calls `mark`
  // on the thread that owns the SQ (so the fetch cannot race it) and returns true. Admin reactor.
  virtual bool FindUnfetched(uint16_t sqid, uint16_t cid, FunctionRef<void()> mark);
  // Returns once no I/O command that started before the call is still executing, so that a
  // replaced namespace table may be freed. Admin reactor.
  virtual void QuiesceIo() {}
  // NVMe Base 2.0, 5.11 Doorbell Buffer Config (PCIe only): the I/O queues' doorbells are shadowed
  // in host memory at `shadow`, EventIdx values at `eventidx` (page aligned; the Controller
  // checked). Front ends without doorbells answer Invalid Opcode. Admin reactor.
  virtual Status ConfigureShadowDoorbells(uint64_t shadow, uint64_t eventidx);
};

}  // namespace nvemu
