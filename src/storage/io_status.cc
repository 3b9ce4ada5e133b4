// Backend error -> NVMe status mapping; see storage/io_status.h for the table.
#include "storage/io_status.h"

#include <cerrno>

#include "storage/logger.h"

namespace nvemu {
namespace {

bool IsWrite(IoDirection direction) { return direction != IoDirection::kRead; }

// Sets *out and returns true for errors with a dedicated NVMe status; false for unexpected ones.
bool MapExpected(int err, IoDirection direction, Status* out) {
  switch (err) {
    case EIO:
    case ENODATA:  // the block layer's "medium error"
    case EBADMSG:  // checksum failure reported by some filesystems
      *out = IsWrite(direction) ? storage_sc::kWriteFault : sc::kUnrecoveredReadError;
      return true;
    case ENOSPC:
    case EDQUOT:
      *out = sc::kCapacityExceeded;
      return true;
    case EROFS:
      if (!IsWrite(direction)) return false;
      *out = storage_sc::kNamespaceWriteProtected;
      return true;
    case EACCES:
    case EPERM:
      *out = storage_sc::kAccessDenied;
      return true;
    default:
      return false;
  }
}

}  // namespace

const char* IoDirectionName(IoDirection direction) {
  switch (direction) {
    case IoDirection::kRead:
      return "read";
    case IoDirection::kWrite:
      return "write";
    case IoDirection::kFlush:
      return "flush";
  }
  return "?";
}

Status ToNvmeStatus(IoStatus status, IoDirection direction) {
  if (status.ok()) return sc::kSuccess;
  Status mapped;
  if (MapExpected(status.err, direction, &mapped)) {
    StorageLogger()->debug("backend {} failed: {} (errno {}) -> SCT {:#x} SC {:#04x}",
                           IoDirectionName(direction), ErrnoText(status.err), status.err,
                           static_cast<int>(mapped.sct()), mapped.sc());
    return mapped;
  }
  if (status.err == ERANGE) {
    StorageLogger()->error("backend {} out of bounds (caller bug): LBA Out of Range",
                           IoDirectionName(direction));
    return sc::kLbaOutOfRange;
  }
  StorageLogger()->error("backend {} failed: {} (errno {}): completing with Internal Error",
                         IoDirectionName(direction), ErrnoText(status.err), status.err);
  return sc::kInternalError;
}

}  // namespace nvemu
