#include "storage/fd_io.h"

#include <unistd.h>

#include <cerrno>

namespace nvemu {

IoStatus ReadFullyAt(int fd, void* dst, size_t len, uint64_t off, PreadFn pread_fn) {
  if (pread_fn == nullptr) pread_fn = ::pread;
  auto* p = static_cast<char*>(dst);
  while (len > 0) {
    const ssize_t n = pread_fn(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoStatus{errno != 0 ? errno : EIO};
    }
    if (n == 0) return IoStatus{EIO};
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return IoStatus{};
}

IoStatus WriteFullyAt(int fd, const void* src, size_t len, uint64_t off, PwriteFn pwrite_fn) {
  if (pwrite_fn == nullptr) pwrite_fn = ::pwrite;
  const auto* p = static_cast<const char*>(src);
  while (len > 0) {
    const ssize_t n = pwrite_fn(fd, p, len, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoStatus{errno != 0 ? errno : EIO};
    }
    if (n == 0) return IoStatus{EIO};
    p += n;
    off += static_cast<uint64_t>(n);
    len -= static_cast<size_t>(n);
  }
  return IoStatus{};
}

}  // namespace nvemu
