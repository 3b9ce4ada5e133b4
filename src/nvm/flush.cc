// NVM Command Set 1.0, 3.2.2 Flush (NVMe Base 2.0, 7.1): makes every completed write durable. NSID
// FFFFFFFFh flushes every namespace (Identify Controller VWC bits 2:1 = 11b advertise this).
#include "nvm/async_io.h"
#include "nvm/io_common.h"
#include "storage/io_status.h"

namespace nvemu::nvm {

Status ExecuteFlush(const IoContext& ctx, Request& req) {
  if (req.sqe.nsid == kBroadcastNsid) {
    for (Namespace* ns : *ctx.namespaces->load(std::memory_order_acquire)) {
      if (ns == nullptr) continue;
      if (Status st = ToNvmeStatus(ns->backend().Flush(), IoDirection::kFlush); !st.ok()) {
        return st;
      }
    }
    return Status::Success();
  }
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  if (TryStartFlush(req, *ns)) return Status::Success();  // fdatasync through io_uring
  return ToNvmeStatus(ns->backend().Flush(), IoDirection::kFlush);
}

}  // namespace nvemu::nvm
