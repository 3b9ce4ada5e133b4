// File backend: a data image and a metadata image on a filesystem (as nvmeqemu's DiskInfo
// nvme_disk.img + nvme_meta.img), accessed with synchronous pread/pwrite.
//
// Contract (see also OpenFileBackend in include/nvemu/backend.h and storage/image_file.h):
// - Read/Write/ReadMetadata/WriteMetadata: bounds-checked (IoStatus{ERANGE}), then pread/pwrite
// loops
//   that finish short transfers and retry EINTR; other failures return IoStatus{errno}.
// - Flush: fdatasync of both images (both are attempted; the first error is returned).
// - AllocatedBytes: an estimate, st_blocks * 512 of the data image capped at Size(), read with
// fstat on
//   every call (cheap, but not meant for the I/O path). Filesystem allocation granularity,
//   preallocation and copy-on-write sharing make it differ from the bytes the host wrote; 0 if
//   fstat fails.
// Threading: every method may be called concurrently (positional I/O; the fds are constant after
// construction). The destructor closes the fds (and so releases the image locks); REQUIRES no call
// in flight.
//
// - Deallocate: fallocate(PUNCH_HOLE | KEEP_SIZE) on the data image (block devices: the kernel
//   zeroes or discards the range); where that is unsupported, zeroes are written.
//   DeallocateMetadata writes the metadata fill pattern (or punches a hole when it is zero).
// - Newly created metadata images are filled with the metadata fill pattern.
// - O_DIRECT (options.direct): the data image bypasses the page cache. Requests whose offset,
//   length or buffer are not aligned to kDirectAlign go through an aligned bounce buffer
//   (storage/direct_io.h); the metadata image stays buffered (its records are 8..64 bytes).
//   Flush still calls fdatasync (O_DIRECT does not flush a volatile device cache).
// - Block devices as the data image: the size comes from BLKGETSIZE64 (storage/image_file.h);
//   nothing is truncated or created.
//
// - io_uring (options.io_uring): Async() offers StartRead/StartWrite/StartFlush on the calling
//   reactor's ring (storage/async_io.h); the synchronous methods above stay available for
//   metadata formats, the other commands and threads without a ring.
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>

#include "storage/async_io.h"
#include "storage/bounds.h"
#include "storage/direct_io.h"
#include "storage/fd_io.h"
#include "storage/fill.h"
#include "storage/image_file.h"
#include "storage/logger.h"

namespace nvemu {
namespace {

constexpr uint64_t kMaxImageSize = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

class FileBackend final : public Backend, private AsyncBackend {
 public:
  FileBackend(UniqueFd data, UniqueFd metadata, uint64_t size, uint64_t metadata_size,
              const MetadataFill& fill, bool direct, bool io_uring)
      : data_(std::move(data)),
        metadata_(std::move(metadata)),
        size_(size),
        metadata_size_(metadata_size),
        fill_(fill),
        direct_(direct),
        io_uring_(io_uring) {}

  AsyncBackend* Async() override { return io_uring_ ? this : nullptr; }
  bool StartRead(AsyncIo* io, uint64_t off, const iovec* iov, int iovcnt) override {
    if (!RangeInBounds(off, IovBytes(iov, iovcnt), size_)) return false;
    return StartAsyncReadWrite(io, false, data_.get(), off, iov, iovcnt, Align(), false,
                               data_.get(), metadata_.get());
  }
  bool StartWrite(AsyncIo* io, uint64_t off, const iovec* iov, int iovcnt, bool durable) override {
    if (!RangeInBounds(off, IovBytes(iov, iovcnt), size_)) return false;
    return StartAsyncReadWrite(io, true, data_.get(), off, iov, iovcnt, Align(), durable,
                               data_.get(), metadata_.get());
  }
  bool StartFlush(AsyncIo* io) override { return StartAsyncSync(io, data_.get(), metadata_.get()); }

  uint64_t Size() const override { return size_; }
  uint64_t MetadataSize() const override { return metadata_size_; }

  IoStatus Read(uint64_t off, void* dst, size_t len) override {
    if (!RangeInBounds(off, len, size_)) return IoStatus{ERANGE};
    if (direct_) return DirectRead(data_.get(), dst, len, off);
    return ReadFullyAt(data_.get(), dst, len, off);
  }
  IoStatus Write(uint64_t off, const void* src, size_t len) override {
    if (!RangeInBounds(off, len, size_)) return IoStatus{ERANGE};
    if (direct_) return DirectWrite(data_.get(), src, len, off, direct_locks_);
    return WriteFullyAt(data_.get(), src, len, off);
  }
  IoStatus Deallocate(uint64_t off, uint64_t len) override {
    if (!RangeInBounds(off, len, size_)) return IoStatus{ERANGE};
    if (PunchHole(data_.get(), off, len)) return IoStatus{};
    return WriteFill(off, len, MetadataFill{},
                     [this](uint64_t o, const void* p, size_t n) { return Write(o, p, n); });
  }
  IoStatus DeallocateMetadata(uint64_t off, uint64_t len) override {
    if (!RangeInBounds(off, len, metadata_size_)) return IoStatus{ERANGE};
    if (fill_.zero() && PunchHole(metadata_.get(), off, len)) return IoStatus{};
    return WriteFill(off, len, fill_, [this](uint64_t o, const void* p, size_t n) {
      return WriteFullyAt(metadata_.get(), p, n, o);
    });
  }
  IoStatus ReadMetadata(uint64_t off, void* dst, size_t len) override {
    if (!RangeInBounds(off, len, metadata_size_)) return IoStatus{ERANGE};
    return ReadFullyAt(metadata_.get(), dst, len, off);
  }
  IoStatus WriteMetadata(uint64_t off, const void* src, size_t len) override {
    if (!RangeInBounds(off, len, metadata_size_)) return IoStatus{ERANGE};
    return WriteFullyAt(metadata_.get(), src, len, off);
  }
  IoStatus Flush() override {
    const IoStatus data = Sync(data_.get());
    const IoStatus metadata = Sync(metadata_.get());
    return data.ok() ? metadata : data;
  }
  uint64_t AllocatedBytes() const override {
    struct stat st {};
    if (::fstat(data_.get(), &st) != 0) return 0;
    if (S_ISBLK(st.st_mode)) return size_;  // a device has no holes to count
    return std::min<uint64_t>(static_cast<uint64_t>(st.st_blocks) * 512, size_);
  }
  const char* Kind() const override { return "file"; }

 private:
  uint32_t Align() const { return direct_ ? static_cast<uint32_t>(kDirectAlign) : 1; }
  static uint64_t IovBytes(const iovec* iov, int iovcnt) {
    uint64_t n = 0;
    for (int i = 0; i < iovcnt; ++i) n += iov[i].iov_len;
    return n;
  }

  // Punches a hole (reads as zero afterwards). False when the filesystem or device cannot.
  static bool PunchHole(int fd, uint64_t off, uint64_t len) {
    if (len == 0) return true;
    int rc;
    do {
      rc = ::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
                       static_cast<off_t>(len));
    } while (rc != 0 && errno == EINTR);
    return rc == 0;
  }

  static IoStatus Sync(int fd) {
    int rc;
    do {
      rc = ::fdatasync(fd);
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? IoStatus{} : IoStatus{errno};
  }

  const UniqueFd data_;
  const UniqueFd metadata_;
  const uint64_t size_;
  const uint64_t metadata_size_;
  const MetadataFill fill_;
  const bool direct_;
  const bool io_uring_;
  DirectLocks direct_locks_;
};

Result<void> ValidateOptions(const FileBackendOptions& o) {
  if (o.data_path.empty()) return Error{"file backend: data image path is empty"};
  if (o.metadata_path.empty()) return Error{"file backend: metadata image path is empty"};
  if (o.data_path == o.metadata_path) {
    return Error{
        fmt::format("file backend: data and metadata images are the same path '{}'", o.data_path)};
  }
  if (o.size == 0) return Error{"file backend: size must be greater than 0"};
  if (o.size > kMaxImageSize || o.metadata_size > kMaxImageSize) {
    return Error{
        fmt::format("file backend: size {} / metadata size {} exceeds the limit of {} bytes",
                    o.size, o.metadata_size, kMaxImageSize)};
  }
  return {};
}

// Rejects two paths that name the same file (hard link, symlink, "./x" vs "x").
Result<void> CheckDistinct(int data_fd, int metadata_fd, const FileBackendOptions& o) {
  struct stat a {};
  struct stat b {};
  if (::fstat(data_fd, &a) != 0 || ::fstat(metadata_fd, &b) != 0) {
    return Error{fmt::format("file backend: stat images: {}", ErrnoText(errno))};
  }
  if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
    return Error{
        fmt::format("file backend: data image '{}' and metadata image '{}' are the same file",
                    o.data_path, o.metadata_path)};
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Backend>> OpenFileBackend(const FileBackendOptions& options) {
  if (Result<void> valid = ValidateOptions(options); !valid) return valid.error();
  auto data =
      OpenOrCreateImage(options.data_path, "data", options.size, options.direct ? O_DIRECT : 0);
  if (!data) return data.error();
  auto metadata = OpenOrCreateImage(options.metadata_path, "metadata", options.metadata_size);
  Result<void> distinct =
      metadata ? CheckDistinct(data->fd.get(), metadata->fd.get(), options) : metadata.error();
  if (!distinct) {
    // Leave no half-created pair behind: drop the images this call created.
    if (data->created) ::unlink(options.data_path.c_str());
    if (metadata && metadata->created) ::unlink(options.metadata_path.c_str());
    return distinct.error();
  }
  if (metadata->created && !options.metadata_fill.zero()) {
    // A new metadata image reads as the fill pattern, like an unwritten RAM metadata image.
    const int fd = metadata->fd.get();
    IoStatus st =
        WriteFill(0, options.metadata_size, options.metadata_fill,
                  [fd](uint64_t o, const void* p, size_t n) { return WriteFullyAt(fd, p, n, o); });
    if (st.ok() && ::fsync(fd) != 0) st = IoStatus{errno};
    if (!st.ok()) {
      if (data->created) ::unlink(options.data_path.c_str());
      ::unlink(options.metadata_path.c_str());
      return Error{fmt::format("file backend: initialise metadata image '{}': {}",
                               options.metadata_path, ErrnoText(st.err))};
    }
  }
  return std::unique_ptr<Backend>(std::make_unique<FileBackend>(
      std::move(data->fd), std::move(metadata->fd), options.size, options.metadata_size,
      options.metadata_fill, options.direct, options.io_uring));
}

}  // namespace nvemu
