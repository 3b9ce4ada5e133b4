// NVM Command Set 1.0, 3.2.4 Read and 3.2.6 Write.
//
// Namespaces without metadata take the zero-copy path: the data channel hands host buffers
// straight to the backend; with an io_uring backend and a front end slot they are submitted
// asynchronously (nvm/async_io.h) and the command completes later. With metadata (separate
// buffer or extended LBA, with or without protection information) the blocks go through
// per-thread scratch buffers so that PI can be generated or checked over whole blocks before
// anything is written or returned.
#include <cstring>

#include "nvm/async_io.h"
#include "nvm/io_common.h"
#include "nvm/nvm_status.h"
#include "storage/io_status.h"

namespace nvemu::nvm {
namespace {

Status ReadPlain(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r) {
  if (ns.uncorrectable().AnySet(r.slba, r.nlb)) return nvm_sc::kUnrecoveredReadError;
  const uint64_t base = r.slba << ns.lba_shift();
  const uint64_t bytes = static_cast<uint64_t>(r.nlb) << ns.lba_shift();
  Backend& backend = ns.backend();
  if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
  // Memory backends: one copy straight from the backend's memory, which the front end may batch
  // with the other copies of its poll pass (pcie/copy_batch.h).
  if (const uint8_t* src = backend.MapRead(base, bytes)) return req.data->CopyToHost(0, src, bytes);
  if (TryStartRead(ctx, req, ns, r, bytes)) return Status::Success();
  return req.data->Transfer(
      Direction::kToHost, 0, bytes, [&](uint8_t* buf, uint64_t off, size_t n) {
        return ToNvmeStatus(backend.Read(base + off, buf, n), IoDirection::kRead);
      });
}

Status WritePlain(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r) {
  const uint64_t base = r.slba << ns.lba_shift();
  const uint64_t bytes = static_cast<uint64_t>(r.nlb) << ns.lba_shift();
  Backend& backend = ns.backend();
  if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
  // Durable before completion: FUA, or the volatile write cache disabled (as MakeDurable).
  const bool durable = Fua(req.sqe) || !VolatileWriteCache(ctx);
  if (TryStartWrite(ctx, req, ns, r, bytes, durable)) return Status::Success();
  Status st =
      req.data->Transfer(Direction::kFromHost, 0, bytes, [&](uint8_t* buf, uint64_t off, size_t n) {
        return ToNvmeStatus(backend.Write(base + off, buf, n), IoDirection::kWrite);
      });
  if (st.ok()) ns.uncorrectable().Clear(r.slba, r.nlb);
  return st;
}

// What Read and Write check before they move data, in this order: namespace and LBA range, PRINFO
// (PI namespaces), MDTS for the bytes on the wire, the reservation for `access`.
struct RwCommand {
  LbaRange r;
  Namespace* ns = nullptr;
  PiParams pi;
  bool meta_on_wire = false;
  uint64_t bytes = 0;  // data buffer bytes (extended LBAs include their metadata)
};

Status PrepareRw(const IoContext& ctx, const Request& req, Access access, RwCommand* c) {
  c->r = ParseRange(req.sqe);
  if (Status st = ResolveRange(ctx, req, c->r, &c->ns); !st.ok()) return st;
  if (Status st = ParseAndValidatePi(*c->ns, req.sqe, c->r.slba, &c->pi); !st.ok()) return st;
  c->meta_on_wire = MetadataOnWire(*c->ns, c->pi);
  c->bytes = DataBufferBytes(*c->ns, c->r.nlb, c->meta_on_wire);
  if (Status st = CheckTransferSize(ctx, c->bytes); !st.ok()) return st;
  return CheckReservation(ctx, *c->ns, access);
}

}  // namespace

Status ExecuteRead(const IoContext& ctx, Request& req) {
  RwCommand c;
  if (Status st = PrepareRw(ctx, req, Access::kRead, &c); !st.ok()) return st;
  auto& [r, ns, pi, meta_on_wire, bytes] = c;
  Status st;
  if (ns->metadata_size() == 0) {
    st = ReadPlain(ctx, req, *ns, r);
    if (req.in_flight) return st;  // completes through req.async
  } else {
    uint8_t* data = Scratch(0, static_cast<size_t>(r.nlb) << ns->lba_shift());
    uint8_t* meta = Scratch(1, static_cast<size_t>(r.nlb) * ns->metadata_size());
    if (data == nullptr || meta == nullptr) return sc::kInternalError;
    st = ReadMedia(*ns, r.slba, r.nlb, data, meta);
    if (st.ok()) st = CheckPi(*ns, pi, data, meta, r.nlb);
    if (st.ok()) st = PushBlocks(req, *ns, r.nlb, data, meta, meta_on_wire);
  }
  if (st.ok() && ctx.stats) ctx.stats->CountRead(bytes);  // SMART (NVMe Base 2.0, 5.16.1.3)
  return st;
}

Status ExecuteWrite(const IoContext& ctx, Request& req) {
  RwCommand c;
  if (Status st = PrepareRw(ctx, req, Access::kWrite, &c); !st.ok()) return st;
  auto& [r, ns, pi, meta_on_wire, bytes] = c;
  Status st;
  if (ns->metadata_size() == 0) {
    st = WritePlain(ctx, req, *ns, r);
    if (req.in_flight) return st;  // durable (when it must be) before it completes
  } else {
    const size_t meta_bytes = static_cast<size_t>(r.nlb) * ns->metadata_size();
    uint8_t* data = Scratch(0, static_cast<size_t>(r.nlb) << ns->lba_shift());
    uint8_t* meta = Scratch(1, meta_bytes);
    if (data == nullptr || meta == nullptr) return sc::kInternalError;
    if (!meta_on_wire) std::memset(meta, 0, meta_bytes);
    st = PullBlocks(req, *ns, r.nlb, data, meta, meta_on_wire);
    if (st.ok()) {
      // NVM Command Set 1.0, 5.2.1: PRACT = 1 generates the PI; otherwise the host's PI is checked.
      if (ns->pi_type() != 0 && pi.pract()) {
        GeneratePi(*ns, pi, data, meta, r.nlb);
      } else {
        st = CheckPi(*ns, pi, data, meta, r.nlb);
      }
    }
    if (st.ok()) st = WriteMedia(*ns, r.slba, r.nlb, data, meta);
  }
  // Force Unit Access, or no volatile write cache: durable before the command completes.
  if (st.ok()) st = MakeDurable(ctx, *ns, Fua(req.sqe));
  if (st.ok() && ctx.stats) ctx.stats->CountWrite(bytes);  // SMART (NVMe Base 2.0, 5.16.1.3)
  return st;
}

}  // namespace nvemu::nvm
