// Backend: the storage behind one namespace. A data image plus a metadata image (as nvmeqemu's
// DiskInfo), addressed in bytes; the namespace layer maps LBAs onto it.
//
// Implementations: RAM (sparse, the default), file (data + metadata image files, or a block device
// as the data image), null (no data kept). Threading: every I/O method may be called concurrently
// from several reactor threads on any ranges; concurrent writes to overlapping ranges leave either
// write's bytes (no torn pointers, no crash).
//
// Unwritten and deallocated ranges: the data image reads as zero; the metadata image reads as the
// backend's metadata fill pattern (MetadataFill), repeated from offset 0. The NVM layer uses that
// pattern so that deallocated logical blocks of a namespace with protection information carry
// Application/Reference Tags of all ones (checks disabled), see nvm/namespace.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "nvemu/status.h"

namespace nvemu {

class AsyncBackend;  // storage/async_io.h (in-tree): io_uring submission

// The outcome of a backend operation: 0 or a positive errno value. storage/io_status.h maps it to
// an NVMe status in one place.
struct IoStatus {
  int err = 0;
  bool ok() const { return err == 0; }
};

// The bytes an unwritten or deallocated range of the metadata image reads as: `bytes[0..period)`
// repeated from metadata offset 0. period 0 means zeroes. REQUIRES: period is 0 or a power of two
// <= 64 (metadata sizes are powers of two, so each logical block's metadata gets the same bytes).
struct MetadataFill {
  uint8_t period = 0;
  uint8_t bytes[64] = {};
  bool zero() const {
    for (unsigned i = 0; i < period; ++i) {
      if (bytes[i] != 0) return false;
    }
    return true;
  }
  uint8_t at(uint64_t off) const { return period == 0 ? 0 : bytes[off & (period - 1)]; }
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Size of the data image in bytes.
  virtual uint64_t Size() const = 0;
  // Size of the metadata image in bytes (0 when the namespace has no metadata).
  virtual uint64_t MetadataSize() const = 0;

  // REQUIRES: off + len <= Size(). Unwritten bytes read as zero.
  virtual IoStatus Read(uint64_t off, void* dst, size_t len) = 0;
  // REQUIRES: off + len <= Size().
  virtual IoStatus Write(uint64_t off, const void* src, size_t len) = 0;
  // REQUIRES: off + len <= MetadataSize().
  virtual IoStatus ReadMetadata(uint64_t off, void* dst, size_t len) = 0;
  virtual IoStatus WriteMetadata(uint64_t off, const void* src, size_t len) = 0;
  // Makes every completed write durable (no-op for volatile backends).
  virtual IoStatus Flush() = 0;
  // Deallocates [off, off+len) of the data image: afterwards it reads as zero and whole allocation
  // units stop counting in AllocatedBytes() (RAM: whole 64 KiB chunks are released; file: holes
  // are punched). REQUIRES: off + len <= Size(). The default writes zeroes.
  virtual IoStatus Deallocate(uint64_t off, uint64_t len);
  // Returns [off, off+len) of the metadata image to the fill pattern. The default writes it.
  virtual IoStatus DeallocateMetadata(uint64_t off, uint64_t len);
  // Bytes of the data image that hold written data (for Identify Namespace NUSE).
  virtual uint64_t AllocatedBytes() const = 0;
  // Performance hint: the queue engine is about to Read (or Write) [off, off+len). A backend whose
  // data lives in memory may start fetching it (software prefetch); the default does nothing.
  // Must not block, allocate or fail; any range is allowed.
  virtual void Prefetch(uint64_t off, size_t len, bool write) {
    (void)off;
    (void)len;
    (void)write;
  }
  // Zero-copy read access for backends whose data lives in process memory: a pointer to the bytes
  // [off, off+len) when they are contiguous in memory and hold written data, else nullptr (the
  // caller then uses Read(); the default always returns nullptr). The pointer stays valid while
  // the backend exists; concurrent writes and deallocations change the bytes it shows exactly as
  // they would change what Read() returns. Must not block, allocate or fail; any range is allowed.
  virtual const uint8_t* MapRead(uint64_t off, size_t len) {
    (void)off;
    (void)len;
    return nullptr;
  }
  // "ram", "file" or "null", for logs and the CLI.
  virtual const char* Kind() const = 0;
  // Asynchronous submission of data reads/writes and flushes (the file backend with io_uring),
  // or null: every operation is synchronous. See src/storage/async_io.h.
  virtual AsyncBackend* Async() { return nullptr; }
};

// Sparse RAM backend: memory is allocated in chunks on first write, so a 1 TiB namespace costs only
// what was written. Unwritten ranges read as zero (metadata: as `fill`).
std::unique_ptr<Backend> MakeRamBackend(uint64_t size, uint64_t metadata_size,
                                        const MetadataFill& fill = {});

// Null backend: writes are dropped, reads return zeroes; for measuring the command path alone.
std::unique_ptr<Backend> MakeNullBackend(uint64_t size, uint64_t metadata_size);

struct FileBackendOptions {
  std::string data_path;      // data image
  std::string metadata_path;  // metadata image (created even when metadata_size is 0)
  uint64_t size = 0;          // data image size in bytes
  uint64_t metadata_size = 0;
  MetadataFill metadata_fill;  // written over a newly created metadata image
  // Open the data image with O_DIRECT (bypassing the page cache). Unaligned requests bounce
  // through an aligned buffer; see storage/file_backend.cc.
  bool direct = false;
  // Submit data reads/writes and flushes through the calling reactor's io_uring (asynchronous
  // completion; storage/async_io.h). Where a thread has no ring (io_uring unavailable, not a
  // reactor) the synchronous path is used.
  bool io_uring = false;
};

// File backend: opens (or creates, sized, on first use) the data image and the metadata image.
// Reopening existing images keeps their content; an image whose size differs from the configured
// size is an error (so a mistyped size never silently truncates data). The data path may name a
// block device: its size (BLKGETSIZE64) must be at least `size`; it is never truncated or created.
Result<std::unique_ptr<Backend>> OpenFileBackend(const FileBackendOptions& options);

}  // namespace nvemu
