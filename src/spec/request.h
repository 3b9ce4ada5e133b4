// Request: one command as the core sees it, independent of the front end that carried it.
//
// The front end fills `sqe`, `sqid` and `data` and calls Controller::Execute{Admin,Io}; the handler
// returns a Status and may set the completion's command-specific dwords `dw0`/`dw1`.
#pragma once

#include <cstdint>

#include "nvemu/command.h"
#include "spec/data_channel.h"

namespace nvemu {

struct Request {
  Sqe sqe{};
  uint16_t sqid = 0;
  DataChannel* data = nullptr;  // never null while executing (NoDataChannel when there is none)
  uint32_t dw0 = 0;             // CQE Dword 0 (command specific)
  uint32_t dw1 = 0;             // CQE Dword 1 (command specific)
};

}  // namespace nvemu
