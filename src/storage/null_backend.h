// Null backend internals: the validating factory behind MakeNullBackend (include/nvemu/backend.h).
//
// Reads return zeroes, writes are dropped, Flush succeeds, AllocatedBytes() is always 0. Bounds are
// still checked (IoStatus{ERANGE}) so the null backend fails where a real one would. Stateless
// after construction: safe from any number of threads.
#pragma once

#include <cstdint>
#include <memory>

#include "nvemu/backend.h"
#include "nvemu/status.h"

namespace nvemu {

// Validates size > 0 and builds the backend. MakeNullBackend returns nullptr (and logs) where this
// returns an Error.
Result<std::unique_ptr<Backend>> CreateNullBackend(uint64_t size, uint64_t metadata_size);

}  // namespace nvemu
