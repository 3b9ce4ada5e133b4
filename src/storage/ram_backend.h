// RAM backend internals: the validating factory behind MakeRamBackend (include/nvemu/backend.h).
//
// Data and metadata images are two SparseTables (storage/sparse_table.h): 64 KiB chunks whose
// memory is allocated on first write (one address-space reservation per GiB region written; the
// kernel populates only the pages touched), lock-free. A 1 TiB namespace costs 8 KiB of top-level
// table until written.
// AllocatedBytes() counts data chunk bytes that hold data (a multiple of 64 KiB except for the
// image's last chunk), so NUSE derived from it is rounded up to the chunk size; Deallocate() of
// whole chunks releases their memory (madvise) and lowers it again.
//
// Atomicity: a write is copied with memcpy. Concurrent overlapping writes leave each byte from one
// of the writers, but a logical block may mix bytes of two writers; a controller that reports
// AWUN/AWUPF must serialise overlapping writes above this layer (for example per LBA range).
//
// Memory exhaustion: a write that cannot allocate a chunk returns IoStatus{ENOSPC} (a
// thin-provisioned pool ran out: Capacity Exceeded), never throws.
#pragma once

#include <cstdint>
#include <memory>

#include "nvemu/backend.h"
#include "nvemu/status.h"

namespace nvemu {

// Largest data or metadata image the RAM backend accepts (1 PiB).
inline constexpr uint64_t kRamBackendMaxSize = uint64_t{1} << 50;

// Validates the sizes (size in 1..kRamBackendMaxSize, metadata_size <= kRamBackendMaxSize) and
// builds the backend. MakeRamBackend returns nullptr (and logs) where this returns an Error.
Result<std::unique_ptr<Backend>> CreateRamBackend(uint64_t size, uint64_t metadata_size,
                                                  const MetadataFill& fill = {});

}  // namespace nvemu
