// Fused Compare and Write (NVMe Base 2.0, 3.4.2 Fused Operations; NVM Command Set 1.0, 3.2.1 and
// 3.2.6): FUSE = 01b on a Compare, immediately followed in the same SQ by a Write with FUSE = 10b
// on the same LBA range. The pair is atomic against every command that writes the range, from any
// queue, reactor or controller: the first command takes the namespace's RangeLock
// (nvm/range_lock.h), which first waits for writes already executing on the range, and the second
// releases it. Other writes pass the lock's write gate (an atomic load while no pair is in
// flight); one that collides with a held range waits for the pair on another thread, or fails
// with Command Interrupted (retryable) when the pair does not finish in time or is held by its
// own thread.
//
// Commands complete one at a time, so the Compare's completion is posted before the Write is
// fetched. Errors: the first fails (Compare Failure, any other error, or Command Interrupted when
// another pair holds an overlapping range: retryable) -> the second completes with Command Aborted
// due to Failed Fused Command. A second without a successful first -> Command Aborted due to
// Missing Fused Command. A first followed by a non-fused command: the pair is dropped (its
// range unlocked); the spec's "abort the first" cannot be applied to an already completed command.
#include "nvm/io_common.h"
#include "nvm/nvm_status.h"

namespace nvemu::nvm {
namespace {

Status FusedFirst(const IoContext& ctx, Request& req, FusedSlot& slot) {
  const uintptr_t owner = ctx.controller->FusedOwner(req.sqid);
  if (slot.pending) slot.ns->fused_lock().Unlock(owner);
  slot = FusedSlot{};
  slot.failed = true;  // until the Compare succeeds
  if (req.sqe.opc != kOpCompare) return sc::kInvalidField;
  const LbaRange r = ParseRange(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = ResolveRange(ctx, req, r, &ns); !st.ok()) return st;
  if (!ns->fused_lock().TryLock(r.slba, r.nlb, owner)) return nvm_sc::kCommandInterrupted;
  if (Status st = CompareBlocks(ctx, req, *ns, r); !st.ok()) {
    ns->fused_lock().Unlock(owner);
    return st;
  }
  slot = FusedSlot{true, false, req.sqe.nsid, r.slba, r.nlb, ns};
  return Status::Success();
}

Status FusedSecond(const IoContext& ctx, Request& req, FusedSlot& slot) {
  if (slot.failed) {
    slot = FusedSlot{};
    return sc::kAbortFailedFused;
  }
  if (!slot.pending) return sc::kAbortMissingFused;
  const FusedSlot first = slot;
  slot = FusedSlot{};
  const LbaRange r = ParseRange(req.sqe);
  Status st;
  if (req.sqe.opc != kOpWrite || req.sqe.nsid != first.nsid || r.slba != first.slba ||
      r.nlb != first.nlb) {
    st = sc::kInvalidField;
  } else {
    st = ExecuteWrite(ctx, req);
  }
  first.ns->fused_lock().Unlock(ctx.controller->FusedOwner(req.sqid));
  return st;
}

}  // namespace

Status ExecuteFused(const IoContext& ctx, Request& req) {
  FusedSlot* slot = ctx.controller ? ctx.controller->fused(req.sqid) : nullptr;
  if (slot == nullptr) return sc::kInvalidField;
  switch (req.sqe.fuse()) {
    case 1:
      return FusedFirst(ctx, req, *slot);
    case 2:
      return FusedSecond(ctx, req, *slot);
    default:
      return sc::kInvalidField;  // FUSE = 11b is reserved
  }
}

}  // namespace nvemu::nvm
