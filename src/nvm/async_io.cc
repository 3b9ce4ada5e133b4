// Asynchronous Read/Write/Flush: submission through the backend's io_uring path and the
// completion work the synchronous handlers do inline (status mapping, uncorrectable marks,
// SMART counters).
#include "nvm/async_io.h"

#include "nvm/async_slot.h"
#include "storage/io_status.h"

namespace nvemu::nvm {
namespace {

void OnDone(AsyncIo* io, IoStatus result) {
  auto* slot = static_cast<AsyncSlot*>(io->user);
  // The write has landed (or failed): a fused pair waiting for it may go on (nvm/range_lock.h).
  RangeLock::Exit(slot->gate);
  Status st;
  switch (slot->opc) {
    case kOpRead:
      st = ToNvmeStatus(result, IoDirection::kRead);
      if (st.ok() && slot->stats) slot->stats->CountRead(slot->bytes);
      break;
    case kOpWrite:
      st = ToNvmeStatus(result, IoDirection::kWrite);
      if (st.ok()) {
        slot->ns->uncorrectable().Clear(slot->slba, slot->nlb);
        if (slot->stats) slot->stats->CountWrite(slot->bytes);
      }
      break;
    default:
      st = ToNvmeStatus(result, IoDirection::kFlush);
      break;
  }
  slot->complete(slot, st);
}

AsyncSlot* Claim(Request& req, Namespace& ns, uint8_t opc) {
  AsyncSlot* slot = req.async;
  if (slot == nullptr || ns.backend().Async() == nullptr) return nullptr;
  slot->io.done = OnDone;
  slot->io.user = slot;
  slot->ns = &ns;
  slot->opc = opc;
  return slot;
}

}  // namespace

bool TryStartRead(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r,
                  uint64_t bytes) {
  AsyncSlot* slot = Claim(req, ns, kOpRead);
  if (slot == nullptr) return false;
  iovec iov[kMaxAsyncIov];
  const int n = req.data->DirectIov(bytes, iov, kMaxAsyncIov);
  if (n == 0) return false;
  slot->stats = ctx.stats;
  slot->slba = r.slba;
  slot->nlb = r.nlb;
  slot->bytes = bytes;
  if (!ns.backend().Async()->StartRead(&slot->io, r.slba << ns.lba_shift(), iov, n)) return false;
  req.in_flight = true;
  return true;
}

bool TryStartWrite(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r,
                   uint64_t bytes, bool durable) {
  AsyncSlot* slot = Claim(req, ns, kOpWrite);
  if (slot == nullptr) return false;
  iovec iov[kMaxAsyncIov];
  const int n = req.data->DirectIov(bytes, iov, kMaxAsyncIov);
  if (n == 0) return false;
  slot->stats = ctx.stats;
  slot->slba = r.slba;
  slot->nlb = r.nlb;
  slot->bytes = bytes;
  if (!ns.backend().Async()->StartWrite(&slot->io, r.slba << ns.lba_shift(), iov, n, durable)) {
    return false;
  }
  req.in_flight = true;
  return true;
}

bool TryStartFlush(Request& req, Namespace& ns) {
  AsyncSlot* slot = Claim(req, ns, kOpFlush);
  if (slot == nullptr) return false;
  slot->stats = nullptr;
  if (!ns.backend().Async()->StartFlush(&slot->io)) return false;
  req.in_flight = true;
  return true;
}

}  // namespace nvemu::nvm
