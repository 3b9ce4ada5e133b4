// Positional I/O on a file descriptor opened with O_DIRECT.
//
// O_DIRECT needs the file offset, the length and the buffer aligned to the device's logical block
// size. kDirectAlign (4096) satisfies every Linux block device and filesystem. Aligned requests go
// straight to pread/pwrite; others go through a per-thread aligned bounce buffer (allocated once
// per thread, grown to the largest request, never shrunk). A write that does not cover whole
// aligned blocks is a read-modify-write of its first/last block; those take one of DirectLocks'
// striped mutexes per aligned block so that two such writes to different LBAs of one 4 KiB block
// (512-byte LBAs on different reactors) cannot lose each other's bytes. Aligned writes never lock.
//
// Threading: any thread; the bounce buffer is thread_local.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "nvemu/backend.h"

namespace nvemu {

inline constexpr size_t kDirectAlign = 4096;

struct DirectLocks {
  static constexpr size_t kStripes = 64;
  std::mutex stripes[kStripes];
  std::mutex& For(uint64_t block) { return stripes[block % kStripes]; }
};

IoStatus DirectRead(int fd, void* dst, size_t len, uint64_t off);
IoStatus DirectWrite(int fd, const void* src, size_t len, uint64_t off, DirectLocks& locks);

}  // namespace nvemu
