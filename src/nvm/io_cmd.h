// NVM command set I/O commands (NVM Command Set 1.0, 3.2 and 3.3): table-driven dispatch by opcode.
//
// Threading: ExecuteIoCommand runs on I/O reactors concurrently; it only reads IoContext and uses the
// namespaces' thread-safe backends. No locks, no allocation.
#pragma once

#include <cstdint>
#include <span>

#include "nvm/namespace.h"
#include "spec/request.h"

namespace nvemu {

struct IoContext {
  // Active namespaces indexed by NSID - 1 (null = inactive NSID within NN).
  std::span<Namespace* const> namespaces;
  // Largest data transfer in bytes (Identify MDTS); 0 = no limit.
  uint64_t max_transfer_bytes = 0;
};

// Executes an I/O command; sets req.dw0/dw1 when the command defines them.
Status ExecuteIoCommand(const IoContext& ctx, Request& req);

}  // namespace nvemu
