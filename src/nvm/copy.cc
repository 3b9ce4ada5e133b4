// NVM Command Set 1.0, 3.2.2 Copy: copies NR+1 source ranges (CDW12[7:0], 0's based), described in
// the data buffer by Source Range Entries of Descriptor Format 0h (32 bytes, Figure 37) or 1h (40
// bytes, Figure 38, for 64b Guard PI), to consecutive blocks from SDLBA (CDW10-11).
//
// Limits (Identify Namespace MSRC/MSSRL/MCL): kMaxRanges ranges, kMaxRangeBlocks blocks per range,
// kMaxCopyBlocks blocks in all; beyond them Command Size Limit Exceeded. Every source range is read
// (and its PI checked per PRINFOR with the range's EILBRT/ELBAT/ELBATM) before the destination is
// written, so overlapping source and destination ranges copy as if read first. PRINFOW: PRACT = 1
// regenerates PI for the destination (ILBRT CDW14, LBAT/LBATM CDW15); PRACT = 0 keeps the source
// metadata and checks it per PRCHK against the destination tags. On failure CQE Dword 0 holds the
// number of the first source range not copied.
#include <cstring>

#include "nvm/io_common.h"
#include "nvm/nvm_status.h"

namespace nvemu::nvm {

inline constexpr uint32_t kMaxRanges = 128;
inline constexpr uint32_t kMaxRangeBlocks = 256;
inline constexpr uint32_t kMaxCopyBlocks = 1024;

namespace {

struct SourceRange {
  uint64_t slba;
  uint32_t nlb;  // 1-based
  PiParams pi;
};

uint64_t Load(const uint8_t* p, int n) {
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

}  // namespace

Status ExecuteCopy(const IoContext& ctx, Request& req) {
  Namespace* ns = LookupNamespace(ctx, req.sqe.nsid);
  if (ns == nullptr) return sc::kInvalidNamespaceOrFormat;
  const uint64_t sdlba = (static_cast<uint64_t>(req.sqe.cdw11) << 32) | req.sqe.cdw10;
  const uint32_t nr = (req.sqe.cdw12 & 0xff) + 1;
  const uint8_t df = (req.sqe.cdw12 >> 8) & 0xf;
  const uint8_t prinfor = (req.sqe.cdw12 >> 12) & 0xf;
  // Format 0h pairs with 16b Guard PI (or none), format 1h with 64b Guard PI (OCFS, Figure 38).
  if (df > 1 || (df == 1) != ns->pi_64b()) return sc::kInvalidField;
  if (nr > kMaxRanges) return nvm_sc::kCommandSizeLimitExceeded;
  const size_t desc = df == 0 ? 32 : 40;
  uint8_t raw[kMaxRanges * 40];
  if (Status st = req.data->Pull(raw, nr * desc); !st.ok()) return st;
  PiParams wpi;
  if (Status st = ParseAndValidatePi(*ns, req.sqe, sdlba, &wpi); !st.ok()) return st;
  SourceRange ranges[kMaxRanges];
  uint64_t total = 0;
  for (uint32_t i = 0; i < nr; ++i) {
    const uint8_t* d = raw + i * desc;
    SourceRange& s = ranges[i];
    s.slba = Load(d + 8, 8);
    s.nlb = static_cast<uint32_t>(Load(d + 16, 2)) + 1;
    s.pi.prinfo = prinfor;
    if (df == 0) {
      s.pi.ref = Load(d + 24, 4);
      s.pi.app = static_cast<uint16_t>(Load(d + 28, 2));
      s.pi.app_mask = static_cast<uint16_t>(Load(d + 30, 2));
    } else {
      s.pi.ref = Load(d + 26, 6);  // ELBT: Reference Tag in the low 48 bits (STS = 0)
      s.pi.app = static_cast<uint16_t>(Load(d + 36, 2));
      s.pi.app_mask = static_cast<uint16_t>(Load(d + 38, 2));
    }
    if (s.nlb > kMaxRangeBlocks) {
      req.dw0 = i;
      return nvm_sc::kCommandSizeLimitExceeded;
    }
    total += s.nlb;
  }
  if (total > kMaxCopyBlocks) return nvm_sc::kCommandSizeLimitExceeded;
  if (!ns->InRange(sdlba, total)) return sc::kLbaOutOfRange;
  if (Status st = CheckReservation(ctx, *ns, Access::kWrite); !st.ok()) return st;
  const uint32_t ms = ns->metadata_size();
  uint8_t* data = Scratch(2, static_cast<size_t>(total) << ns->lba_shift());
  uint8_t* meta = Scratch(3, static_cast<size_t>(total) * ms + 1);
  if (data == nullptr || meta == nullptr) return sc::kInternalError;
  uint64_t at = 0;
  for (uint32_t i = 0; i < nr; ++i) {
    const SourceRange& s = ranges[i];
    uint8_t* d = data + (at << ns->lba_shift());
    uint8_t* m = meta + at * ms;
    Status st =
        ns->InRange(s.slba, s.nlb) ? ReadMedia(*ns, s.slba, s.nlb, d, m) : sc::kLbaOutOfRange;
    if (st.ok() && ns->pi_type() != 0) {
      st = ValidatePi(*ns, s.pi, s.slba);
      if (st.ok()) st = CheckPi(*ns, s.pi, d, m, s.nlb);
    }
    if (!st.ok()) {
      req.dw0 = i;
      return st;
    }
    at += s.nlb;
  }
  Status st;
  if (ns->pi_type() != 0) {
    if (wpi.pract()) {
      GeneratePi(*ns, wpi, data, meta, static_cast<uint32_t>(total));
    } else {
      st = CheckPi(*ns, wpi, data, meta, static_cast<uint32_t>(total));
    }
  }
  if (st.ok()) {
    // Fused Compare and Write pairs stay atomic against the destination write (nvm/range_lock.h).
    WriteScope scope;
    st = scope.Enter(ns->fused_lock(), sdlba, total);
    if (st.ok()) st = WriteMedia(*ns, sdlba, static_cast<uint32_t>(total), data, meta);
  }
  if (st.ok()) st = MakeDurable(ctx, *ns, Fua(req.sqe));
  if (!st.ok()) req.dw0 = 0;
  return st;
}

}  // namespace nvemu::nvm
