// Asynchronous submission of Read, Write and Flush (NVM Command Set 1.0, 3.2.4, 3.2.6, 3.2.2)
// through AsyncBackend (see nvm/async_slot.h for which commands qualify).
//
// Each Try* returns true when the command's I/O was submitted: it then set req.in_flight and
// completes through req.async->complete. False means nothing happened: run the synchronous path.
// Threading: the calling reactor thread.
#pragma once

#include "nvm/io_cmd.h"
#include "nvm/io_common.h"

namespace nvemu::nvm {

bool TryStartRead(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r,
                  uint64_t bytes);
// `durable`: FUA set or the volatile write cache disabled (fdatasync before completion).
bool TryStartWrite(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r,
                   uint64_t bytes, bool durable);
bool TryStartFlush(Request& req, Namespace& ns);

}  // namespace nvemu::nvm
