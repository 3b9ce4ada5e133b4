// AsyncSlot: the preallocated state of one NVM command that completes asynchronously (io_uring
// file backend). A front end owns a pool of them per queue (no allocation per command), offers a
// free one in Request::async, and gets it back through `complete` once the command is done.
//
// Which commands go asynchronous (nvm/async_io.cc): Read and Write of namespaces without metadata
// whose data channel can describe the host buffers directly (DataChannel::DirectIov), and Flush of
// one namespace, on a backend with Async() on a reactor that has an io_uring. Everything else, and
// any command whose submission is refused, completes synchronously as before.
//
// Threading: a slot belongs to one reactor thread; `complete` runs on it. REQUIRES of the front
// end: the slot, the command's host buffers and the namespace stay valid until `complete` ran
// (queue deletion, controller reset, namespace changes and connection teardown wait for the
// queue's in-flight slots: engine::IoRing::WaitOne).
#pragma once

#include <cstdint>

#include "nvemu/status.h"
#include "nvm/range_lock.h"
#include "spec/request.h"
#include "storage/async_io.h"

namespace nvemu {

class Namespace;
class IoStats;

struct AsyncSlot {
  // Front end: called once per asynchronous command with its final status (CQE / CapsuleResp).
  void (*complete)(AsyncSlot* slot, Status status) = nullptr;
  void* owner = nullptr;  // front end: its queue or connection
  void* user = nullptr;   // front end: its per-command record
  uint16_t cid = 0;       // front end: the command's CID
  Sqe sqe{};              // front end: the command (error log, tracing)

  // NVM command set: what completion still has to do.
  AsyncIo io;
  Namespace* ns = nullptr;
  IoStats* stats = nullptr;
  uint64_t slba = 0;
  uint32_t nlb = 0;
  uint64_t bytes = 0;
  uint8_t opc = 0;
  // A Write's pass through its namespace's fused-pair gate (nvm/range_lock.h), released when the
  // data has landed, before `complete`: fused Compare and Write waits for it meanwhile.
  WriteTicket gate;
};

}  // namespace nvemu
