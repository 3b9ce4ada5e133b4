// ToNvmeStatus: the one mapping from backend errors (IoStatus errno values) to NVMe status.
//
// Every command handler that calls a Backend converts the IoStatus here; no other code interprets
// errno values. Mapping (NVMe Base 2.0, 4.6.1.2; Generic Command Status: Figure 94, Media and Data
// Integrity Errors: Figure 96):
//   0                          -> Successful Completion (Generic 00h)
//   EIO, ENODATA, EBADMSG      -> read: Unrecovered Read Error (Media 81h);
//                                 write/flush: Write Fault (Media 80h)
//   ENOSPC, EDQUOT             -> Capacity Exceeded (Generic 81h, DNR): the backing store is full
//                                 (also the RAM backend when memory for a chunk cannot be
//                                 allocated)
//   ERANGE                     -> LBA Out of Range (Generic 80h, DNR): a backend bounds check
//   failed
//                                 (a bug above storage/, logged)
//   EROFS                      -> write/flush: Namespace is Write Protected (Generic 20h, DNR)
//   EACCES, EPERM              -> Access Denied (Media 86h, DNR)
//   anything else              -> Internal Error (Generic 06h, logged)
// Mapped errors are logged at debug level, unexpected ones at error level, on the "storage" logger
// (storage/logger.h).
// Threading: pure function apart from logging; callable from any thread.
#pragma once

#include "nvemu/backend.h"
#include "nvemu/status.h"

namespace nvemu {

// The operation that produced an IoStatus; media errors map differently for reads and writes.
enum class IoDirection { kRead, kWrite, kFlush };

// "read", "write" or "flush".
const char* IoDirectionName(IoDirection direction);

Status ToNvmeStatus(IoStatus status, IoDirection direction);

// Status values used by the mapping that include/nvemu/status.h does not name (yet).
namespace storage_sc {
// Media and Data Integrity Errors (Figure 96).
inline constexpr Status kWriteFault = Status::Media(0x80, false);
inline constexpr Status kAccessDenied = Status::Media(0x86);
// Generic Command Status (Figure 94).
inline constexpr Status kNamespaceWriteProtected = Status::Generic(0x20);
}  // namespace storage_sc

}  // namespace nvemu
