// io_uring read/write/fdatasync state machine of the file backend (storage/async_io.h).
#include "storage/async_io.h"

#include <liburing.h>

#include <cerrno>
#include <cstring>

namespace nvemu {
namespace {

bool Aligned(uint64_t v, uint32_t align) { return (v & (align - 1)) == 0; }

void Finish(AsyncIo* io, IoStatus st) {
  io->phase = AsyncIo::Phase::kIdle;
  io->done(io, st);
}

void OnCqe(engine::IoRing::Op* op, int32_t res);

// Queues the (rest of the) read or write. False when the ring has no SQE to give.
bool IssueReadWrite(AsyncIo* io) {
  io_uring_sqe* sqe = io->ring->GetSqe();
  if (sqe == nullptr) return false;
  const iovec* iov = io->iov + io->first;
  const unsigned n = static_cast<unsigned>(io->iovcnt - io->first);
  if (io->write) {
    io_uring_prep_writev(sqe, io->fd, iov, n, io->off);
  } else {
    io_uring_prep_readv(sqe, io->fd, iov, n, io->off);
  }
  io->phase = AsyncIo::Phase::kReadWrite;
  io->pending = 1;
  io->ring->SetOp(sqe, &io->ops[0]);
  return true;
}

// fdatasync of the data and metadata images, two SQEs completing in any order.
bool IssueSync(AsyncIo* io) {
  io_uring_sqe* sqes[2] = {};
  int count = 0;
  for (int fd : io->sync_fds) {
    if (fd < 0) continue;
    sqes[count] = io->ring->GetSqe();
    if (sqes[count] == nullptr) break;
    io_uring_prep_fsync(sqes[count], fd, IORING_FSYNC_DATASYNC);
    ++count;
  }
  const int want = (io->sync_fds[0] >= 0) + (io->sync_fds[1] >= 0);
  if (count != want) {
    // Hand back what we took: a no-op completes harmlessly.
    for (int i = 0; i < count; ++i) io_uring_prep_nop(sqes[i]);
    io->phase = AsyncIo::Phase::kSync;
    io->pending = static_cast<uint8_t>(count);
    io->status = IoStatus{EAGAIN};
    for (int i = 0; i < count; ++i) io->ring->SetOp(sqes[i], &io->ops[i]);
    return count != 0;
  }
  io->phase = AsyncIo::Phase::kSync;
  io->pending = static_cast<uint8_t>(count);
  io->status = IoStatus{};
  for (int i = 0; i < count; ++i) io->ring->SetOp(sqes[i], &io->ops[i]);
  return true;
}

// Drops `n` transferred bytes from the front of the iovec array.
void Advance(AsyncIo* io, uint64_t n) {
  io->off += n;
  io->remaining -= n;
  while (n > 0 && io->first < io->iovcnt) {
    iovec& v = io->iov[io->first];
    if (n >= v.iov_len) {
      n -= v.iov_len;
      ++io->first;
    } else {
      v.iov_base = static_cast<uint8_t*>(v.iov_base) + n;
      v.iov_len -= n;
      n = 0;
    }
  }
}

void OnReadWrite(AsyncIo* io, int32_t res) {
  io->pending = 0;
  if (res == -EINTR || res == -EAGAIN) {
    if (!IssueReadWrite(io)) Finish(io, IoStatus{EAGAIN});
    return;
  }
  if (res < 0) return Finish(io, IoStatus{-res});
  if (res == 0) return Finish(io, IoStatus{EIO});  // end of file (read) or no progress (write)
  Advance(io, static_cast<uint64_t>(res));
  if (io->remaining != 0) {
    if (!IssueReadWrite(io)) Finish(io, IoStatus{EAGAIN});  // short transfer: the rest
    return;
  }
  if (io->write && io->durable) {
    if (!IssueSync(io)) Finish(io, IoStatus{EAGAIN});
    return;
  }
  Finish(io, IoStatus{});
}

void OnSync(AsyncIo* io, int32_t res) {
  if (res == -EINTR || res == -EAGAIN) res = -EIO;  // not retried: report, never claim durable
  if (res < 0 && io->status.ok()) io->status = IoStatus{-res};
  if (--io->pending != 0) return;
  Finish(io, io->status);
}

void OnCqe(engine::IoRing::Op* op, int32_t res) {
  AsyncIo* io = static_cast<AsyncIo::OpRef*>(op)->io;
  if (io->phase == AsyncIo::Phase::kReadWrite) {
    OnReadWrite(io, res);
  } else {
    OnSync(io, res);
  }
}

bool Prepare(AsyncIo* io, int data_fd, int metadata_fd) {
  io->ring = engine::IoRing::ForThread();
  if (io->ring == nullptr || io->phase != AsyncIo::Phase::kIdle) return false;
  for (int i = 0; i < 2; ++i) {
    io->ops[i].io = io;
    io->ops[i].done = OnCqe;
  }
  io->sync_fds[0] = data_fd;
  io->sync_fds[1] = metadata_fd;
  return true;
}

}  // namespace

bool StartAsyncReadWrite(AsyncIo* io, bool write, int fd, uint64_t off, const iovec* iov,
                         int iovcnt, uint32_t align, bool durable, int data_fd, int metadata_fd) {
  if (iovcnt <= 0 || iovcnt > kMaxAsyncIov) return false;
  uint64_t total = 0;
  for (int i = 0; i < iovcnt; ++i) {
    if (align > 1 && (!Aligned(reinterpret_cast<uintptr_t>(iov[i].iov_base), align) ||
                      !Aligned(iov[i].iov_len, align))) {
      return false;
    }
    total += iov[i].iov_len;
  }
  if (align > 1 && !Aligned(off, align)) return false;
  if (!Prepare(io, data_fd, metadata_fd)) return false;
  std::memcpy(io->iov, iov, sizeof(iovec) * static_cast<size_t>(iovcnt));
  io->iovcnt = iovcnt;
  io->first = 0;
  io->off = off;
  io->remaining = total;
  io->fd = fd;
  io->write = write;
  io->durable = durable;
  io->status = IoStatus{};
  return IssueReadWrite(io);
}

bool StartAsyncSync(AsyncIo* io, int data_fd, int metadata_fd) {
  if (!Prepare(io, data_fd, metadata_fd)) return false;
  io->write = false;
  io->durable = true;
  io->remaining = 0;
  if (!IssueSync(io)) return false;
  if (!io->status.ok()) {
    // Partially issued: let the no-ops complete and report EAGAIN-free failure as EIO.
    io->status = IoStatus{EIO};
  }
  return true;
}

}  // namespace nvemu
