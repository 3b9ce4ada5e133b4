#include "nvm/io_cmd.h"

#include <array>
#include <cstring>

#include "nvm/async_slot.h"
#include "nvm/io_common.h"

namespace nvemu {
namespace {

using IoHandler = Status (*)(const IoContext&, Request&);

constexpr std::array<IoHandler, 256> MakeIoTable() {
  std::array<IoHandler, 256> t{};
  t[nvm::kOpFlush] = nvm::ExecuteFlush;
  t[nvm::kOpWrite] = nvm::ExecuteWrite;
  t[nvm::kOpRead] = nvm::ExecuteRead;
  t[nvm::kOpWriteUncorrectable] = nvm::ExecuteWriteUncorrectable;
  t[nvm::kOpCompare] = nvm::ExecuteCompare;
  t[nvm::kOpWriteZeroes] = nvm::ExecuteWriteZeroes;
  t[nvm::kOpDatasetManagement] = nvm::ExecuteDatasetManagement;
  t[nvm::kOpVerify] = nvm::ExecuteVerify;
  t[nvm::kOpReservationRegister] = nvm::ExecuteReservationRegister;
  t[nvm::kOpReservationReport] = nvm::ExecuteReservationReport;
  t[nvm::kOpReservationAcquire] = nvm::ExecuteReservationAcquire;
  t[nvm::kOpReservationRelease] = nvm::ExecuteReservationRelease;
  t[nvm::kOpCopy] = nvm::ExecuteCopy;
  return t;
}
constexpr std::array<IoHandler, 256> kIoTable = MakeIoTable();

// Commands that write the LBA range of CDW10-12 (SLBA, NLB) pass the namespace's write gate, so
// that fused Compare and Write pairs stay atomic against them (nvm/range_lock.h). Dataset
// Management and Copy name their ranges in the data buffer and pass the gate themselves.
constexpr std::array<bool, 256> MakeGatedTable() {
  std::array<bool, 256> t{};
  t[nvm::kOpWrite] = true;
  t[nvm::kOpWriteUncorrectable] = true;
  t[nvm::kOpWriteZeroes] = true;
  return t;
}
constexpr std::array<bool, 256> kGatedBySqeRange = MakeGatedTable();

// NVMe Base 2.0, 3.4.2: a write of a range a fused pair holds waits for the pair (or fails with
// Command Interrupted, retryable); a pair waits for writes that passed the gate before it, also
// those still in flight on an io_uring. Invalid namespaces and ranges go straight to the handler,
// which reports them.
Status ExecuteGated(const IoContext& ctx, Request& req, IoHandler handler) {
  Namespace* ns = nvm::LookupNamespace(ctx, req.sqe.nsid);
  const nvm::LbaRange r = nvm::ParseRange(req.sqe);
  if (ns == nullptr || !ns->InRange(r.slba, r.nlb)) return handler(ctx, req);
  WriteScope scope;
  if (Status st = scope.Enter(ns->fused_lock(), r.slba, r.nlb); !st.ok()) return st;
  if (!scope.may_go_async()) req.async = nullptr;
  Status st = handler(ctx, req);
  // In flight (io_uring): the pair gate stays passed until the data has landed; the completion
  // (nvm/async_io.cc, on this thread) releases it. It never runs inline, so this is in time.
  if (req.in_flight) req.async->gate = scope.Release();
  return st;
}

}  // namespace

IoControllerState::IoControllerState(uint16_t cntlid, uint32_t max_sqid)
    : cntlid_(cntlid), fused_count_(max_sqid + 1), fused_(new FusedSlot[max_sqid + 1]) {}

std::array<uint8_t, 16> IoControllerState::host_id() const {
  std::array<uint8_t, 16> id{};
  const uint64_t a = host_id_[0].load(std::memory_order_acquire);
  const uint64_t b = host_id_[1].load(std::memory_order_acquire);
  std::memcpy(id.data(), &a, 8);
  std::memcpy(id.data() + 8, &b, 8);
  return id;
}

void IoControllerState::set_host_id(const std::array<uint8_t, 16>& id) {
  uint64_t a, b;
  std::memcpy(&a, id.data(), 8);
  std::memcpy(&b, id.data() + 8, 8);
  host_id_[0].store(a, std::memory_order_release);
  host_id_[1].store(b, std::memory_order_release);
}

void IoControllerState::ReleaseFused(uint16_t sqid) {
  FusedSlot* slot = fused(sqid);
  if (slot == nullptr) return;
  if (slot->pending && slot->ns) slot->ns->fused_lock().Unlock(FusedOwner(sqid));
  *slot = FusedSlot{};
}

void IoControllerState::ReleaseAllFused() {
  for (uint32_t q = 0; q < fused_count_; ++q) ReleaseFused(static_cast<uint16_t>(q));
}

bool IsIoCommandSupported(uint8_t opc) { return kIoTable[opc] != nullptr; }

uint16_t SupportedOncs() {
  // NVMe Base 2.0, Figure 275 ONCS: Compare, Write Uncorrectable, Dataset Management, Write Zeroes,
  // Reservations, Verify, Copy (bit 4 Save/Select and bit 6 Timestamp belong to the admin set).
  return (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 7) | (1u << 8);
}

void PrefetchIoCommand(const IoContext& ctx, const Sqe& sqe) {
  if (sqe.opc != nvm::kOpWrite) return;
  Namespace* ns = nvm::LookupNamespace(ctx, sqe.nsid);
  // Only the plain data path moves the backend's bytes straight to or from the host.
  if (ns == nullptr || ns->metadata_size() != 0) return;
  const nvm::LbaRange r = nvm::ParseRange(sqe);
  if (!ns->InRange(r.slba, r.nlb)) return;
  ns->backend().Prefetch(r.slba << ns->lba_shift(), size_t{r.nlb} << ns->lba_shift(),
                         sqe.opc == nvm::kOpWrite);
}

Status ExecuteIoCommand(const IoContext& ctx, Request& req) {
  IoHandler handler = kIoTable[req.sqe.opc];
  if (handler == nullptr) return sc::kInvalidOpcode;
  // Fused operations (NVMe Base 2.0, 3.4.2): only Compare and Write (Identify FUSES bit 0).
  if (req.sqe.fuse() != 0) {
    req.async = nullptr;  // the pair's range lock is held across the write: synchronous
    return nvm::ExecuteFused(ctx, req);
  }
  if (ctx.controller != nullptr) {
    FusedSlot* slot = ctx.controller->fused(req.sqid);
    // A first fused command not followed by its second: drop the pair.
    if (slot != nullptr && (slot->pending || slot->failed)) ctx.controller->ReleaseFused(req.sqid);
  }
  if (kGatedBySqeRange[req.sqe.opc]) return ExecuteGated(ctx, req, handler);
  return handler(ctx, req);
}

}  // namespace nvemu
