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
// Future work (issue #4): io_uring submission and O_DIRECT belong in a sibling class in its own
// file; this one stays the portable synchronous baseline.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>

#include "storage/bounds.h"
#include "storage/fd_io.h"
#include "storage/image_file.h"
#include "storage/logger.h"

namespace nvemu {
namespace {

constexpr uint64_t kMaxImageSize = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

class FileBackend final : public Backend {
 public:
  FileBackend(UniqueFd data, UniqueFd metadata, uint64_t size, uint64_t metadata_size)
      : data_(std::move(data)),
        metadata_(std::move(metadata)),
        size_(size),
        metadata_size_(metadata_size) {}

  uint64_t Size() const override { return size_; }
  uint64_t MetadataSize() const override { return metadata_size_; }

  IoStatus Read(uint64_t off, void* dst, size_t len) override {
    if (!RangeInBounds(off, len, size_)) return IoStatus{ERANGE};
    return ReadFullyAt(data_.get(), dst, len, off);
  }
  IoStatus Write(uint64_t off, const void* src, size_t len) override {
    if (!RangeInBounds(off, len, size_)) return IoStatus{ERANGE};
    return WriteFullyAt(data_.get(), src, len, off);
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
    return std::min<uint64_t>(static_cast<uint64_t>(st.st_blocks) * 512, size_);
  }
  const char* Kind() const override { return "file"; }

 private:
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
  auto data = OpenOrCreateImage(options.data_path, "data", options.size);
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
  return std::unique_ptr<Backend>(std::make_unique<FileBackend>(
      std::move(data->fd), std::move(metadata->fd), options.size, options.metadata_size));
}

}  // namespace nvemu
