// NVM Command Set 1.0, 3.2.8 Write Zeroes: CDW12[25] DEAC asks to deallocate the blocks; PRINFO
// PRACT = 1 on a PI namespace stores generated protection information over the zeroes.
//
// Behaviour: with DEAC = 1 (and PRACT = 0 or no PI) the blocks are deallocated, so they read as
// DLFEAT promises (data 00h; PI all FFh, i.e. checks disabled) and stop counting in NUSE;
// otherwise zeroes are written, with metadata 00h (PRACT = 0) or 00h plus generated PI (PRACT =
// 1). Either way the blocks stop being uncorrectable. Write Zeroes is not limited by MDTS (WZSL =
// 0): it moves no data.
#include <algorithm>
#include <cstring>

#include "nvm/io_common.h"
#include "storage/io_status.h"

namespace nvemu::nvm {
namespace {

constexpr uint32_t kBatch = 256;  // blocks written per backend call (bounded scratch use)

}  // namespace

Status ExecuteWriteZeroes(const IoContext& ctx, Request& req) {
  const LbaRange r = ParseRange(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = ResolveRange(ctx, req, r, &ns); !st.ok()) return st;
  PiParams pi;
  if (Status st = ParseAndValidatePi(*ns, req.sqe, r.slba, &pi); !st.ok()) return st;
  if (Status st = CheckReservation(ctx, *ns, Access::kWrite); !st.ok()) return st;
  const bool deac = (req.sqe.cdw12 >> 25) & 1;
  const bool generate = ns->pi_type() != 0 && pi.pract();
  Status st;
  if (deac && !generate) {
    st = DeallocateMedia(*ns, r.slba, r.nlb);
  } else {
    const uint32_t ms = ns->metadata_size();
    const uint32_t batch = std::min(kBatch, r.nlb);
    uint8_t* zeros = Scratch(0, static_cast<size_t>(batch) << ns->lba_shift());
    uint8_t* meta = Scratch(1, static_cast<size_t>(batch) * ms + 1);
    if (zeros == nullptr || meta == nullptr) return sc::kInternalError;
    std::memset(zeros, 0, static_cast<size_t>(batch) << ns->lba_shift());
    for (uint32_t done = 0; done < r.nlb && st.ok();) {
      const uint32_t n = std::min(batch, r.nlb - done);
      std::memset(meta, 0, static_cast<size_t>(n) * ms);
      PiParams p = pi;
      p.ref = pi.ref + (ns->pi_type() == 3 ? 0 : done);
      if (generate) GeneratePi(*ns, p, zeros, meta, n);
      st = WriteMedia(*ns, r.slba + done, n, zeros, meta);
      done += n;
    }
  }
  if (st.ok()) st = MakeDurable(ctx, *ns, Fua(req.sqe));
  return st;
}

}  // namespace nvemu::nvm
