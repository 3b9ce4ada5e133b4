// Asynchronous backend I/O (io_uring): the optional extension of Backend that lets one reactor keep
// many reads, writes and flushes in flight.
//
// Contract:
// - Start*() either starts the operation and returns true, and then `AsyncIo::done` runs exactly
//   once, later, on the calling reactor thread (never inline), with the final IoStatus; or returns
//   false without side effects, and the caller uses the synchronous Backend methods instead (no
//   io_uring on this thread, an O_DIRECT request that is not 4 KiB aligned, more than
//   kMaxAsyncIov pieces, a range outside the image).
// - Short transfers are finished by resubmitting the rest; EINTR/EAGAIN are retried; a read that
//   hits the end of the file is EIO (as ReadFullyAt).
// - `durable` writes and flushes end with fdatasync of both images (exactly what Backend::Flush
//   does), issued after the write completed, so `done` reports durable data.
// - The buffers and the AsyncIo must stay valid until `done` runs; nothing is allocated.
// Threading: reactor thread only (the ring is the thread's, engine/io_ring.h).
#pragma once

#include <sys/uio.h>

#include <cstdint>

#include "engine/io_ring.h"
#include "nvemu/backend.h"

namespace nvemu {

inline constexpr int kMaxAsyncIov = 32;

struct AsyncIo {
  // Set by the caller before Start*(): the completion.
  void (*done)(AsyncIo* io, IoStatus status) = nullptr;
  void* user = nullptr;  // the caller's record (untouched by the backend)

  // Backend state (one operation at a time).
  struct OpRef : engine::IoRing::Op {
    AsyncIo* io = nullptr;
  };
  enum class Phase : uint8_t { kIdle, kReadWrite, kSync };
  OpRef ops[2];
  iovec iov[kMaxAsyncIov];
  int iovcnt = 0;
  int first = 0;  // first iovec not yet fully transferred
  uint64_t off = 0;
  uint64_t remaining = 0;
  int fd = -1;
  int sync_fds[2] = {-1, -1};
  bool write = false;
  bool durable = false;
  Phase phase = Phase::kIdle;
  uint8_t pending = 0;
  IoStatus status;
  engine::IoRing* ring = nullptr;
};

class AsyncBackend {
 public:
  virtual ~AsyncBackend() = default;
  // Reads data image bytes [off, off + sum of iov lengths) into `iov`.
  virtual bool StartRead(AsyncIo* io, uint64_t off, const iovec* iov, int iovcnt) = 0;
  // Writes `iov` at data image offset `off`; `durable`: fdatasync before `done` (FUA, VWC off).
  virtual bool StartWrite(AsyncIo* io, uint64_t off, const iovec* iov, int iovcnt,
                          bool durable) = 0;
  // fdatasync of the data and metadata images (NVM Flush).
  virtual bool StartFlush(AsyncIo* io) = 0;
};

// The io_uring state machine behind AsyncBackend (storage/async_io.cc), over plain fds.
// `align` > 1 requires offsets, lengths and buffers aligned to it (O_DIRECT) or returns false.
bool StartAsyncReadWrite(AsyncIo* io, bool write, int fd, uint64_t off, const iovec* iov,
                         int iovcnt, uint32_t align, bool durable, int data_fd, int metadata_fd);
bool StartAsyncSync(AsyncIo* io, int data_fd, int metadata_fd);

}  // namespace nvemu
