#include "nvm/io_cmd.h"

#include <spdlog/spdlog.h>

#include <array>

#include "storage/io_status.h"

namespace nvemu {
namespace {

// NVM Command Set 1.0, Figure 20: Opcodes for NVM Commands.
constexpr uint8_t kOpFlush = 0x00;
constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kOpRead = 0x02;

constexpr uint32_t kBroadcastNsid = 0xffffffff;

using IoHandler = Status (*)(const IoContext&, Request&);

Namespace* LookupNamespace(const IoContext& ctx, uint32_t nsid) {
  if (nsid == 0 || nsid > ctx.namespaces.size()) return nullptr;
  return ctx.namespaces[nsid - 1];
}

// NVM Command Set 1.0, 3.2.4 Read and 3.2.6 Write: CDW10-11 SLBA, CDW12[15:0] NLB (0's based),
// CDW12[30] FUA.
struct RwFields {
  uint64_t slba;
  uint32_t nlb;
  bool fua;
};

RwFields ParseRw(const Sqe& sqe) {
  return RwFields{(static_cast<uint64_t>(sqe.cdw11) << 32) | sqe.cdw10, (sqe.cdw12 & 0xffff) + 1u,
                  ((sqe.cdw12 >> 30) & 1) != 0};
}

// Checks shared by Read and Write: namespace, range, transfer size. On success `*ns` is set.
Status CheckRw(const IoContext& ctx, const Request& req, const RwFields& rw, Namespace** ns) {
  *ns = LookupNamespace(ctx, req.sqe.nsid);
  if (*ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  if (!(*ns)->InRange(rw.slba, rw.nlb)) return sc::kLbaOutOfRange;
  uint64_t bytes = static_cast<uint64_t>(rw.nlb) << (*ns)->lba_shift();
  // NVMe Base 2.0, 5.17.2.1 (MDTS): a larger transfer is aborted with Invalid Field in Command.
  if (ctx.max_transfer_bytes != 0 && bytes > ctx.max_transfer_bytes) return sc::kInvalidField;
  return Status::Success();
}

Status ExecuteRead(const IoContext& ctx, Request& req) {
  RwFields rw = ParseRw(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = CheckRw(ctx, req, rw, &ns); !st.ok()) return st;
  uint64_t base = rw.slba << ns->lba_shift();
  uint64_t bytes = static_cast<uint64_t>(rw.nlb) << ns->lba_shift();
  Backend& backend = ns->backend();
  if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
  return req.data->Transfer(Direction::kToHost, 0, bytes,
                            [&](uint8_t* buf, uint64_t off, size_t n) {
                              return ToNvmeStatus(backend.Read(base + off, buf, n),
                                                  IoDirection::kRead);
                            });
}

Status ExecuteWrite(const IoContext& ctx, Request& req) {
  RwFields rw = ParseRw(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = CheckRw(ctx, req, rw, &ns); !st.ok()) return st;
  uint64_t base = rw.slba << ns->lba_shift();
  uint64_t bytes = static_cast<uint64_t>(rw.nlb) << ns->lba_shift();
  Backend& backend = ns->backend();
  if (Status st = req.data->Prepare(bytes); !st.ok()) return st;
  Status st = req.data->Transfer(Direction::kFromHost, 0, bytes,
                                 [&](uint8_t* buf, uint64_t off, size_t n) {
                                   return ToNvmeStatus(backend.Write(base + off, buf, n),
                                                       IoDirection::kWrite);
                                 });
  if (!st.ok()) return st;
  // Force Unit Access: the data is durable before the command completes.
  if (rw.fua) return ToNvmeStatus(backend.Flush(), IoDirection::kFlush);
  return st;
}

// NVM Command Set 1.0, 3.2.2 Flush (NVMe Base 2.0, 7.1): NSID FFFFFFFFh flushes every namespace
// (Identify Controller VWC bits 2:1 = 11b advertise this).
Status ExecuteFlush(const IoContext& ctx, Request& req) {
  if (req.sqe.nsid == kBroadcastNsid) {
    for (Namespace* ns : ctx.namespaces) {
      if (ns == nullptr) continue;
      if (Status st = ToNvmeStatus(ns->backend().Flush(), IoDirection::kFlush); !st.ok()) {
        return st;
      }
    }
    return Status::Success();
  }
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  return ToNvmeStatus(ns->backend().Flush(), IoDirection::kFlush);
}

constexpr std::array<IoHandler, 256> MakeIoTable() {
  std::array<IoHandler, 256> t{};
  t[kOpFlush] = ExecuteFlush;
  t[kOpWrite] = ExecuteWrite;
  t[kOpRead] = ExecuteRead;
  return t;
}
constexpr std::array<IoHandler, 256> kIoTable = MakeIoTable();

}  // namespace

Status ExecuteIoCommand(const IoContext& ctx, Request& req) {
  IoHandler handler = kIoTable[req.sqe.opc];
  if (handler == nullptr) return sc::kInvalidOpcode;
  // Fused operations (NVMe Base 2.0, 3.4.2) are not supported (Identify FUSES = 0).
  if (req.sqe.fuse() != 0) return sc::kInvalidField;
  return handler(ctx, req);
}

}  // namespace nvemu
