// Positional read/write loops over a file descriptor.
//
// pread/pwrite may transfer fewer bytes than asked (signals, huge requests, some filesystems) or
// fail with EINTR; these helpers retry until the whole range is done or a real error occurs. The
// system call is a parameter so tests can inject short transfers and EINTR. Threading: safe to call
// concurrently on the same fd (positional I/O shares no file offset).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "nvemu/backend.h"

namespace nvemu {

using PreadFn = ssize_t (*)(int fd, void* buf, size_t count, off_t offset);
using PwriteFn = ssize_t (*)(int fd, const void* buf, size_t count, off_t offset);

// Reads exactly `len` bytes at `off`. Returns IoStatus{errno} on failure and IoStatus{EIO} if the
// file ends early (an image that shrank underneath us). REQUIRES: off + len fits in off_t.
IoStatus ReadFullyAt(int fd, void* dst, size_t len, uint64_t off, PreadFn pread_fn = nullptr);

// Writes exactly `len` bytes at `off`. Returns IoStatus{errno} on failure, IoStatus{EIO} if the
// kernel reports progress of zero bytes. REQUIRES: off + len fits in off_t.
IoStatus WriteFullyAt(int fd, const void* src, size_t len, uint64_t off,
                      PwriteFn pwrite_fn = nullptr);

}  // namespace nvemu
