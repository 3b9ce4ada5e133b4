// NVMe Base 2.0, 7.2 Reservation Acquire, 7.3 Reservation Register, 7.4 Reservation Report and 7.5
// Reservation Release: parse the command and its data, then let the namespace's Reservations
// (nvm/reservations.h) apply the rules for the issuing host.
#include <algorithm>
#include <cstring>

#include "nvm/io_common.h"

namespace nvemu::nvm {
namespace {

struct Keys {
  uint64_t a = 0;
  uint64_t b = 0;
};

}  // namespace

// CDW10: RREGA[2:0], IEKEY[3], CPTPL[31:30]. Data: CRKEY, NRKEY.
Status ExecuteReservationRegister(const IoContext& ctx, Request& req) {
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  Keys k;
  if (Status st = req.data->Pull(&k, sizeof(k)); !st.ok()) return st;
  const uint32_t c = req.sqe.cdw10;
  return ns->reservations().Register(RequestHost(ctx), c & 0x7, (c >> 3) & 1, (c >> 30) & 0x3, k.a,
                                     k.b);
}

// CDW10: RACQA[2:0], IEKEY[3], RTYPE[15:8]. Data: CRKEY, PRKEY.
Status ExecuteReservationAcquire(const IoContext& ctx, Request& req) {
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  Keys k;
  if (Status st = req.data->Pull(&k, sizeof(k)); !st.ok()) return st;
  const uint32_t c = req.sqe.cdw10;
  return ns->reservations().Acquire(RequestHost(ctx), c & 0x7, (c >> 3) & 1, (c >> 8) & 0xff, k.a,
                                    k.b);
}

// CDW10: RRELA[2:0], IEKEY[3], RTYPE[15:8]. Data: CRKEY.
Status ExecuteReservationRelease(const IoContext& ctx, Request& req) {
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  uint64_t crkey = 0;
  if (Status st = req.data->Pull(&crkey, sizeof(crkey)); !st.ok()) return st;
  const uint32_t c = req.sqe.cdw10;
  return ns->reservations().Release(RequestHost(ctx), c & 0x7, (c >> 3) & 1, (c >> 8) & 0xff,
                                    crkey);
}

// CDW10: NUMD (dwords, 0's based); CDW11[0]: EDS (extended data structure).
Status ExecuteReservationReport(const IoContext& ctx, Request& req) {
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  const uint64_t bytes = (static_cast<uint64_t>(req.sqe.cdw10) + 1) * 4;
  if (Status st = CheckTransferSize(ctx, bytes); !st.ok()) return st;
  constexpr size_t kMax = 64 + 64 * Reservations::kMaxRegistrants;
  uint8_t buf[kMax];
  const bool eds = req.sqe.cdw11 & 1;
  if (Status st = ns->reservations().Report(RequestHost(ctx), eds, buf, sizeof(buf)); !st.ok()) {
    return st;
  }
  if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
  return req.data->Transfer(Direction::kToHost, 0, bytes,
                            [&](uint8_t* out, uint64_t off, size_t n) {
                              for (size_t i = 0; i < n; ++i) {
                                out[i] = off + i < kMax ? buf[off + i] : 0;
                              }
                              return Status::Success();
                            });
}

}  // namespace nvemu::nvm
