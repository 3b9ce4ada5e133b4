// NVM Command Set 1.0, 3.2.3 Dataset Management: CDW10[7:0] NR (ranges, 0's based), CDW11[2] AD
// (Attribute - Deallocate); the data buffer holds NR+1 16-byte ranges (Figure 40: Context
// Attributes, Length in logical blocks, Starting LBA). Without AD the ranges are hints and the
// command does nothing. Every range is checked before any is deallocated.
#include <cstring>

#include "nvm/io_common.h"

namespace nvemu::nvm {
namespace {

struct DsmRange {
  uint32_t cattr;
  uint32_t nlb;  // not 0's based
  uint64_t slba;
};
static_assert(sizeof(DsmRange) == 16);

}  // namespace

Status ExecuteDatasetManagement(const IoContext& ctx, Request& req) {
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  const uint32_t nr = (req.sqe.cdw10 & 0xff) + 1;
  const bool deallocate = (req.sqe.cdw11 >> 2) & 1;
  DsmRange ranges[256];
  if (Status st = req.data->Pull(ranges, nr * sizeof(DsmRange)); !st.ok()) return st;
  if (!deallocate) return Status::Success();
  if (Status st = CheckReservation(ctx, *ns, Access::kWrite); !st.ok()) return st;
  for (uint32_t i = 0; i < nr; ++i) {
    if (!ns->InRange(ranges[i].slba, ranges[i].nlb)) return sc::kLbaOutOfRange;
  }
  for (uint32_t i = 0; i < nr; ++i) {
    if (ranges[i].nlb == 0) continue;
    // Fused Compare and Write pairs stay atomic against deallocation (nvm/range_lock.h).
    WriteScope scope;
    if (Status st = scope.Enter(ns->fused_lock(), ranges[i].slba, ranges[i].nlb); !st.ok()) {
      return st;
    }
    if (Status st = DeallocateMedia(*ns, ranges[i].slba, ranges[i].nlb); !st.ok()) return st;
  }
  return MakeDurable(ctx, *ns, false);
}

}  // namespace nvemu::nvm
