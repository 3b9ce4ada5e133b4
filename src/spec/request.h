// Request: one command as the core sees it, independent of the front end that carried it.
//
// The front end fills `sqe`, `sqid` and `data` and calls Controller::Execute{Admin,Io}; the handler
// returns a Status and may set the completion's command-specific dwords `dw0`/`dw1`.
#pragma once

#include <cstdint>

#include "nvemu/command.h"
#include "spec/data_channel.h"

namespace nvemu {

struct AsyncSlot;  // nvm/async_slot.h: a front end's preallocated per-command async state

struct Request {
  Sqe sqe{};
  uint16_t sqid = 0;
  DataChannel* data = nullptr;  // never null while executing (NoDataChannel when there is none)
  // The separate metadata buffer of a namespace formatted with metadata and FLBAS bit 4 cleared
  // (NVMe over PCIe: MPTR, a contiguous buffer or an SGL). Null when the transport has none:
  // NVMe over Fabrics carries metadata only as extended LBAs, inside `data`.
  DataChannel* metadata = nullptr;
  uint32_t dw0 = 0;             // CQE Dword 0 (command specific)
  uint32_t dw1 = 0;             // CQE Dword 1 (command specific)
  // Set by a handler that completes the command later (Asynchronous Event Request, an Abort
  // waiting for its target): the front end posts no completion now; the Controller calls
  // FrontEnd::CompleteDeferred once the command is done.
  bool deferred = false;
  // Asynchronous I/O (io_uring): the front end offers a free slot of its per-queue pool (null: the
  // command must complete synchronously). A handler that submitted the command's I/O sets
  // `in_flight`; the front end then posts nothing now and the slot's completion callback
  // (AsyncSlot::complete) runs later on the same reactor thread with the final status.
  AsyncSlot* async = nullptr;
  bool in_flight = false;
  // Error Information log Parameter Error Location (NVMe Base 2.0, 5.16.1.2): byte offset of the
  // bad field in the SQE in bits 7:0 and the bit in bits 10:8; 0xffff when not applicable.
  uint16_t error_loc = 0xffff;
};

}  // namespace nvemu
