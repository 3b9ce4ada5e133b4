#include "nvm/io_common.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "nvm/nvm_status.h"
#include "storage/io_status.h"

namespace nvemu::nvm {

Namespace* LookupNamespace(const IoContext& ctx, uint32_t nsid) {
  const NamespaceTable& table = *ctx.namespaces->load(std::memory_order_acquire);
  if (nsid == 0 || nsid > table.size()) return nullptr;
  return table[nsid - 1];
}

Status ResolveRange(const IoContext& ctx, const Request& req, const LbaRange& r, Namespace** ns) {
  *ns = LookupNamespace(ctx, req.sqe.nsid);
  if (*ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  if (!(*ns)->InRange(r.slba, r.nlb)) return sc::kLbaOutOfRange;
  return Status::Success();
}

HostRef RequestHost(const IoContext& ctx) {
  return ctx.controller ? ctx.controller->host() : HostRef{};
}

bool VolatileWriteCache(const IoContext& ctx) {
  return ctx.controller == nullptr || ctx.controller->volatile_write_cache();
}

Status MakeDurable(const IoContext& ctx, Namespace& ns, bool fua) {
  if (!fua && VolatileWriteCache(ctx)) return Status::Success();
  return ToNvmeStatus(ns.backend().Flush(), IoDirection::kFlush);
}

Status ParseAndValidatePi(const Namespace& ns, const Sqe& sqe, uint64_t slba, PiParams* pi) {
  *pi = PiParams{};
  if (ns.pi_type() == 0) return Status::Success();  // PRINFO is ignored without PI
  *pi = ParsePi(ns, sqe);
  return ValidatePi(ns, *pi, slba);
}

uint64_t DataBufferBytes(const Namespace& ns, uint64_t nlb, bool meta_on_wire) {
  uint64_t per = ns.lba_size();
  if (ns.extended() && meta_on_wire) per += ns.metadata_size();
  return nlb * per;
}

Status CheckTransferSize(const IoContext& ctx, uint64_t bytes) {
  if (ctx.max_transfer_bytes != 0 && bytes > ctx.max_transfer_bytes) return sc::kInvalidField;
  return Status::Success();
}

uint8_t* Scratch(int slot, size_t len) {
  struct Buffer {
    uint8_t* p = nullptr;
    size_t size = 0;
    ~Buffer() { std::free(p); }
  };
  thread_local Buffer bufs[4];
  Buffer& b = bufs[slot];
  if (b.size < len) {
    std::free(b.p);
    b.size = 0;
    b.p = static_cast<uint8_t*>(std::aligned_alloc(4096, (len + 4095) & ~size_t{4095}));
    if (b.p != nullptr) b.size = len;
  }
  return b.p;
}

Status ReadMedia(Namespace& ns, uint64_t slba, uint32_t nlb, uint8_t* data, uint8_t* meta) {
  // NVM Command Set 1.0, 3.2.7: reads of blocks marked by Write Uncorrectable fail.
  if (ns.uncorrectable().AnySet(slba, nlb)) return nvm_sc::kUnrecoveredReadError;
  Backend& b = ns.backend();
  const uint64_t bytes = static_cast<uint64_t>(nlb) << ns.lba_shift();
  if (Status st = ToNvmeStatus(b.Read(slba << ns.lba_shift(), data, bytes), IoDirection::kRead);
      !st.ok()) {
    return st;
  }
  if (meta != nullptr && ns.metadata_size() != 0) {
    const uint64_t ms = ns.metadata_size();
    return ToNvmeStatus(b.ReadMetadata(slba * ms, meta, nlb * ms), IoDirection::kRead);
  }
  return Status::Success();
}

Status WriteMedia(Namespace& ns, uint64_t slba, uint32_t nlb, const uint8_t* data,
                  const uint8_t* meta) {
  Backend& b = ns.backend();
  const uint64_t bytes = static_cast<uint64_t>(nlb) << ns.lba_shift();
  if (Status st = ToNvmeStatus(b.Write(slba << ns.lba_shift(), data, bytes), IoDirection::kWrite);
      !st.ok()) {
    return st;
  }
  if (meta != nullptr && ns.metadata_size() != 0) {
    const uint64_t ms = ns.metadata_size();
    if (Status st = ToNvmeStatus(b.WriteMetadata(slba * ms, meta, nlb * ms), IoDirection::kWrite);
        !st.ok()) {
      return st;
    }
  }
  ns.uncorrectable().Clear(slba, nlb);
  return Status::Success();
}

Status DeallocateMedia(Namespace& ns, uint64_t slba, uint64_t nlb) {
  Backend& b = ns.backend();
  if (Status st = ToNvmeStatus(b.Deallocate(slba << ns.lba_shift(), nlb << ns.lba_shift()),
                               IoDirection::kWrite);
      !st.ok()) {
    return st;
  }
  if (ns.metadata_size() != 0) {
    const uint64_t ms = ns.metadata_size();
    if (Status st = ToNvmeStatus(b.DeallocateMetadata(slba * ms, nlb * ms), IoDirection::kWrite);
        !st.ok()) {
      return st;
    }
  }
  ns.uncorrectable().Clear(slba, nlb);
  return Status::Success();
}

namespace {

// Moves an extended-LBA wire buffer piece [off, off+n) to/from the split data/metadata buffers.
template <bool kToWire>
void Interleave(const Namespace& ns, uint8_t* wire, uint64_t off, size_t n, uint8_t* data,
                uint8_t* meta) {
  const uint64_t lbasz = ns.lba_size();
  const uint64_t ms = ns.metadata_size();
  const uint64_t per = lbasz + ms;
  while (n > 0) {
    const uint64_t blk = off / per;
    const uint64_t in = off % per;
    uint8_t* split;
    uint64_t room;
    if (in < lbasz) {
      split = data + blk * lbasz + in;
      room = lbasz - in;
    } else {
      split = meta + blk * ms + (in - lbasz);
      room = per - in;
    }
    const size_t k = static_cast<size_t>(std::min<uint64_t>(room, n));
    if (kToWire) {
      std::memcpy(wire, split, k);
    } else {
      std::memcpy(split, wire, k);
    }
    wire += k;
    off += k;
    n -= k;
  }
}

}  // namespace

Status PullBlocks(Request& req, const Namespace& ns, uint32_t nlb, uint8_t* data, uint8_t* meta,
                  bool meta_on_wire) {
  const uint64_t lbasz = ns.lba_size();
  const uint64_t ms = ns.metadata_size();
  if (ns.extended() && meta_on_wire) {
    const uint64_t bytes = nlb * (lbasz + ms);
    if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
    return req.data->Transfer(Direction::kFromHost, 0, bytes,
                              [&](uint8_t* buf, uint64_t off, size_t n) {
                                Interleave<false>(ns, buf, off, n, data, meta);
                                return Status::Success();
                              });
  }
  if (Status st = req.data->Pull(data, nlb * lbasz); !st.ok()) return st;
  if (!meta_on_wire) return Status::Success();
  if (req.metadata == nullptr) return sc::kInvalidField;  // no metadata pointer on this transport
  return req.metadata->Pull(meta, nlb * ms);
}

Status PushBlocks(Request& req, const Namespace& ns, uint32_t nlb, const uint8_t* data,
                  const uint8_t* meta, bool meta_on_wire) {
  const uint64_t lbasz = ns.lba_size();
  const uint64_t ms = ns.metadata_size();
  if (ns.extended() && meta_on_wire) {
    const uint64_t bytes = nlb * (lbasz + ms);
    if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
    return req.data->Transfer(
        Direction::kToHost, 0, bytes, [&](uint8_t* buf, uint64_t off, size_t n) {
          Interleave<true>(ns, buf, off, n, const_cast<uint8_t*>(data), const_cast<uint8_t*>(meta));
          return Status::Success();
        });
  }
  if (Status st = req.data->Push(data, nlb * lbasz); !st.ok()) return st;
  if (!meta_on_wire) return Status::Success();
  if (req.metadata == nullptr) return sc::kInvalidField;
  return req.metadata->Push(meta, nlb * ms);
}

}  // namespace nvemu::nvm
