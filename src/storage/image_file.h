// Opening (or creating) one image file of the file backend: the data image or the metadata image.
//
// Contract of OpenOrCreateImage:
// - An existing regular file is opened read-write and kept as is; its size must equal `size`,
//   otherwise an Error names the file, its actual size and the expected size.
// - A missing file is created with O_CREAT|O_EXCL (if another process creates it first, the
// existing
//   file is opened instead), sized with ftruncate (sparse: no blocks are written), then the file
//   and its directory are fsync'ed so the new, correctly sized image survives a crash. If any step
//   after creation fails, the new file is unlinked again.
// - The file is locked with flock(LOCK_EX|LOCK_NB) for as long as the fd is open, so two emulators
//   cannot share an image by mistake. Filesystems without flock support (ENOLCK, EOPNOTSUPP) only
//   get a warning.
// - Every failure is returned as an Error with the strerror text; nothing throws (except
//   std::bad_alloc from string formatting).
// Threading: call from one thread per path; the returned fd may then be used from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "nvemu/status.h"
#include "storage/unique_fd.h"

namespace nvemu {

struct ImageFile {
  UniqueFd fd;
  bool created = false;       // true when this call created the file
  bool block_device = false;  // an existing block device (size >= the configured size)
};

// `role` names the image in messages ("data" or "metadata"). `extra_flags` are added to open(2)
// (O_DIRECT). An existing block device is accepted when it holds at least `size` bytes
// (BLKGETSIZE64); it is never created or truncated.
Result<ImageFile> OpenOrCreateImage(const std::string& path, const char* role, uint64_t size,
                                    int extra_flags = 0);

}  // namespace nvemu
