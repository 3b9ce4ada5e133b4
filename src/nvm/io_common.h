// Helpers shared by the NVM command handlers (nvm/*.cc): field parsing, namespace and range checks,
// reservation and durability rules, media access (data + metadata images + the uncorrectable set)
// and host transfers of logical blocks with metadata (separate buffer or extended LBA).
//
// Threading: everything here runs on the calling reactor; scratch buffers are per thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvm/io_cmd.h"
#include "nvm/pi.h"
#include "nvm/reservations.h"

namespace nvemu::nvm {

// NVM Command Set 1.0, Figure 20 (Opcodes for NVM Commands) and NVMe Base 2.0, Figure 383.
inline constexpr uint8_t kOpFlush = 0x00;
inline constexpr uint8_t kOpWrite = 0x01;
inline constexpr uint8_t kOpRead = 0x02;
inline constexpr uint8_t kOpWriteUncorrectable = 0x04;
inline constexpr uint8_t kOpCompare = 0x05;
inline constexpr uint8_t kOpWriteZeroes = 0x08;
inline constexpr uint8_t kOpDatasetManagement = 0x09;
inline constexpr uint8_t kOpVerify = 0x0c;
inline constexpr uint8_t kOpReservationRegister = 0x0d;
inline constexpr uint8_t kOpReservationReport = 0x0e;
inline constexpr uint8_t kOpReservationAcquire = 0x11;
inline constexpr uint8_t kOpReservationRelease = 0x15;
inline constexpr uint8_t kOpCopy = 0x19;

inline constexpr uint32_t kBroadcastNsid = 0xffffffff;

Namespace* LookupNamespace(const IoContext& ctx, uint32_t nsid);

// CDW10-11 SLBA, CDW12[15:0] NLB (0's based), CDW12[30] FUA: Read, Write, Compare, Verify, Write
// Zeroes, Write Uncorrectable.
struct LbaRange {
  uint64_t slba;
  uint32_t nlb;  // 1-based
};
inline LbaRange ParseRange(const Sqe& sqe) {
  return LbaRange{(static_cast<uint64_t>(sqe.cdw11) << 32) | sqe.cdw10, (sqe.cdw12 & 0xffff) + 1u};
}
inline bool Fua(const Sqe& sqe) { return (sqe.cdw12 >> 30) & 1; }

// Namespace lookup + LBA range check: Invalid Namespace or Format, LBA Out of Range.
Status ResolveRange(const IoContext& ctx, const Request& req, const LbaRange& r, Namespace** ns);

HostRef RequestHost(const IoContext& ctx);
inline Status CheckReservation(const IoContext& ctx, const Namespace& ns, Access access) {
  return ns.reservations().CheckAccess(RequestHost(ctx), access);
}
bool VolatileWriteCache(const IoContext& ctx);
// Makes the command's writes durable when it asks (FUA) or when the volatile write cache is off.
Status MakeDurable(const IoContext& ctx, Namespace& ns, bool fua);

// PRINFO/ILBRT/LBAT of a command on a PI namespace (all zero otherwise), validated.
Status ParseAndValidatePi(const Namespace& ns, const Sqe& sqe, uint64_t slba, PiParams* pi);
// Whether the host transfers metadata: not when PRACT strips/inserts PI that is all the metadata.
inline bool MetadataOnWire(const Namespace& ns, const PiParams& pi) {
  if (ns.metadata_size() == 0) return false;
  return !(ns.pi_type() != 0 && pi.pract() && ns.metadata_size() == ns.pi_size());
}
// Bytes of the data buffer for `nlb` blocks (extended LBAs carry their metadata inline).
uint64_t DataBufferBytes(const Namespace& ns, uint64_t nlb, bool meta_on_wire);
// MDTS (NVMe Base 2.0, 5.17.2.1): a larger transfer is Invalid Field in Command.
Status CheckTransferSize(const IoContext& ctx, uint64_t bytes);

// A per-thread buffer of at least `len` bytes (`slot` 0..3 are independent). Grows, never
// shrinks; nullptr only when memory runs out.
uint8_t* Scratch(int slot, size_t len);

// Media: data (`data`, nlb * LBA size) and metadata (`meta`, nlb * MS; may be null to skip).
// A range holding an uncorrectable block reads as Unrecovered Read Error.
Status ReadMedia(Namespace& ns, uint64_t slba, uint32_t nlb, uint8_t* data, uint8_t* meta);
// Writes data (and metadata when `meta` is non-null) and clears the uncorrectable marks.
Status WriteMedia(Namespace& ns, uint64_t slba, uint32_t nlb, const uint8_t* data,
                  const uint8_t* meta);
// Deallocates blocks: data reads 00h, metadata reads the namespace's fill pattern.
Status DeallocateMedia(Namespace& ns, uint64_t slba, uint64_t nlb);

// Host transfers of `nlb` blocks with metadata. With an extended-LBA namespace the data buffer
// interleaves [data | metadata] per block; otherwise data comes from Request::data and metadata
// (when `meta_on_wire`) from Request::metadata. Both call Prepare() on the channels they use.
Status PullBlocks(Request& req, const Namespace& ns, uint32_t nlb, uint8_t* data, uint8_t* meta,
                  bool meta_on_wire);
Status PushBlocks(Request& req, const Namespace& ns, uint32_t nlb, const uint8_t* data,
                  const uint8_t* meta, bool meta_on_wire);

// Handlers (one file each; NVM Command Set 1.0 section in each file).
Status ExecuteRead(const IoContext& ctx, Request& req);                 // read_write.cc
Status ExecuteWrite(const IoContext& ctx, Request& req);                // read_write.cc
Status ExecuteFlush(const IoContext& ctx, Request& req);                // flush.cc
Status ExecuteWriteUncorrectable(const IoContext& ctx, Request& req);   // write_uncorrectable.cc
Status ExecuteCompare(const IoContext& ctx, Request& req);              // compare.cc
Status ExecuteWriteZeroes(const IoContext& ctx, Request& req);          // write_zeroes.cc
Status ExecuteDatasetManagement(const IoContext& ctx, Request& req);    // dsm.cc
Status ExecuteVerify(const IoContext& ctx, Request& req);               // verify.cc
Status ExecuteCopy(const IoContext& ctx, Request& req);                 // copy.cc
Status ExecuteReservationRegister(const IoContext& ctx, Request& req);  // reservations_cmd.cc
Status ExecuteReservationReport(const IoContext& ctx, Request& req);    // reservations_cmd.cc
Status ExecuteReservationAcquire(const IoContext& ctx, Request& req);   // reservations_cmd.cc
Status ExecuteReservationRelease(const IoContext& ctx, Request& req);   // reservations_cmd.cc
// Fused Compare and Write (fused.cc): routes FUSE = 01b/10b commands.
Status ExecuteFused(const IoContext& ctx, Request& req);

// Compare's comparison, shared with the fused pair (compare.cc).
Status CompareBlocks(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r);

}  // namespace nvemu::nvm
