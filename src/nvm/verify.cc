// NVM Command Set 1.0, 3.2.9 Verify: reads the blocks without transferring them; fails with
// Unrecovered Read Error on blocks marked uncorrectable and with the End-to-end check errors that
// PRCHK asks for. The size limit is VSL (Identify CNS 06h; 0 = MDTS applies to none: we use the
// transfer limit as if the data moved).
#include "nvm/io_common.h"

namespace nvemu::nvm {

Status ExecuteVerify(const IoContext& ctx, Request& req) {
  const LbaRange r = ParseRange(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = ResolveRange(ctx, req, r, &ns); !st.ok()) return st;
  PiParams pi;
  if (Status st = ParseAndValidatePi(*ns, req.sqe, r.slba, &pi); !st.ok()) return st;
  if (Status st = CheckReservation(ctx, *ns, Access::kRead); !st.ok()) return st;
  uint8_t* data = Scratch(0, static_cast<size_t>(r.nlb) << ns->lba_shift());
  uint8_t* meta = Scratch(1, static_cast<size_t>(r.nlb) * ns->metadata_size() + 1);
  if (data == nullptr || meta == nullptr) return sc::kInternalError;
  if (Status st = ReadMedia(*ns, r.slba, r.nlb, data, meta); !st.ok()) return st;
  return CheckPi(*ns, pi, data, meta, r.nlb);
}

}  // namespace nvemu::nvm
