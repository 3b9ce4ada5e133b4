// NVM Command Set 1.0, 3.2.7 Write Uncorrectable: marks blocks invalid; later reads (Read, Compare,
// Verify, Copy sources) of them fail with Unrecovered Read Error until they are written again
// (Write, Write Zeroes, Copy destination) or deallocated. The marks live in the namespace's
// lock-free LbaBitmap (nvm/lba_bitmap.h); they are not persisted across restarts.
#include "nvm/io_common.h"

namespace nvemu::nvm {

Status ExecuteWriteUncorrectable(const IoContext& ctx, Request& req) {
  const LbaRange r = ParseRange(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = ResolveRange(ctx, req, r, &ns); !st.ok()) return st;
  if (Status st = CheckReservation(ctx, *ns, Access::kWrite); !st.ok()) return st;
  if (!ns->uncorrectable().Set(r.slba, r.nlb)) return sc::kInternalError;
  return Status::Success();
}

}  // namespace nvemu::nvm
