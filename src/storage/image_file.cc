// Image file creation and checks; see storage/image_file.h for the contract.
#include "storage/image_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "storage/logger.h"

namespace nvemu {
namespace {

constexpr mode_t kImageMode = 0644;
// Open/create attempts when racing another creator (open: ENOENT, create: EEXIST).
constexpr int kOpenAttempts = 3;

Error SysError(const std::string& what, const std::string& path, int err) {
  return Error{fmt::format("{} '{}': {}", what, path, ErrnoText(err))};
}

// Opens `path` read-write, creating it exclusively if it does not exist.
Result<ImageFile> OpenOrCreate(const std::string& path, const char* role, int extra_flags) {
  int err = 0;
  for (int attempt = 0; attempt < kOpenAttempts; ++attempt) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | extra_flags);
    if (fd >= 0) return ImageFile{UniqueFd(fd), false};
    err = errno;
    if (err == EINTR) continue;
    if (err != ENOENT) return SysError(fmt::format("open {} image", role), path, err);
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | extra_flags, kImageMode);
    if (fd >= 0) return ImageFile{UniqueFd(fd), true};
    err = errno;
    // EEXIST: someone created it between our two opens (or it is a dangling symlink): retry.
    if (err != EEXIST && err != EINTR) {
      return SysError(fmt::format("create {} image", role), path, err);
    }
  }
  return SysError(fmt::format("open {} image (gave up after {} attempts)", role, kOpenAttempts),
                  path, err);
}

Result<void> Lock(int fd, const std::string& path, const char* role) {
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc == 0) return {};
  const int err = errno;
  if (err == EWOULDBLOCK) {
    return Error{
        fmt::format("{} image '{}' is in use (locked by another process or backend)", role, path)};
  }
  if (err == ENOLCK || err == EOPNOTSUPP) {
    StorageLogger()->warn("{} image '{}': cannot lock ({}); continuing without a lock", role, path,
                          ErrnoText(err));
    return {};
  }
  return SysError(fmt::format("lock {} image", role), path, err);
}

Result<void> SyncDirectoryOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return SysError("open directory", dir, errno);
  // Some filesystems cannot fsync a directory (EINVAL); there is nothing more to do there.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return SysError("fsync directory", dir, errno);
  return {};
}

// Gives a freshly created, empty image its size and makes the creation durable.
Result<void> InitializeCreated(int fd, const std::string& path, const char* role, uint64_t size) {
  int rc;
  do {
    rc = ::ftruncate(fd, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0)
    return SysError(fmt::format("set size of {} image to {} bytes", role, size), path, errno);
  if (::fsync(fd) != 0) return SysError(fmt::format("fsync {} image", role), path, errno);
  return SyncDirectoryOf(path);
}

Result<void> CheckExisting(ImageFile& image, const std::string& path, const char* role,
                           uint64_t size) {
  const int fd = image.fd.get();
  struct stat st {};
  if (::fstat(fd, &st) != 0) return SysError(fmt::format("stat {} image", role), path, errno);
  if (S_ISBLK(st.st_mode)) {
    // A block device as the image: never resized; it must hold the configured size.
    uint64_t device_bytes = 0;
    if (::ioctl(fd, BLKGETSIZE64, &device_bytes) != 0) {
      return SysError(fmt::format("BLKGETSIZE64 of {} device", role), path, errno);
    }
    if (device_bytes < size) {
      return Error{fmt::format("{} device '{}' holds {} bytes, less than the configured {} bytes",
                               role, path, device_bytes, size)};
    }
    image.block_device = true;
    return {};
  }
  if (!S_ISREG(st.st_mode)) {
    return Error{fmt::format("{} image '{}' is not a regular file", role, path)};
  }
  if (static_cast<uint64_t>(st.st_size) != size) {
    return Error{fmt::format(
        "{} image '{}' is {} bytes but the configured size is {} bytes; refusing to use it (fix "
        "the configured size or remove the file)",
        role, path, st.st_size, size)};
  }
  return {};
}

}  // namespace

Result<ImageFile> OpenOrCreateImage(const std::string& path, const char* role, uint64_t size,
                                    int extra_flags) {
  auto image = OpenOrCreate(path, role, extra_flags);
  if (!image) return image;
  const int fd = image->fd.get();
  Result<void> ready = Lock(fd, path, role);
  if (ready) {
    ready = image->created ? InitializeCreated(fd, path, role, size)
                           : CheckExisting(*image, path, role, size);
  }
  if (!ready) {
    if (image->created) ::unlink(path.c_str());
    return ready.error();
  }
  if (image->created) StorageLogger()->info("created {} image '{}' ({} bytes)", role, path, size);
  return image;
}

}  // namespace nvemu
