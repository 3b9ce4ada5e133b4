// NVM Command Set 1.0, 3.2.1 Compare: reads the blocks, checks their protection information
// (PRCHK), and compares the data (and metadata, when the host transfers it) with the host's buffer.
// A mismatch is Compare Failure (Media and Data Integrity Errors, 85h).
#include <cstring>

#include "nvm/io_common.h"
#include "nvm/nvm_status.h"

namespace nvemu::nvm {

Status CompareBlocks(const IoContext& ctx, Request& req, Namespace& ns, const LbaRange& r) {
  PiParams pi;
  if (Status st = ParseAndValidatePi(ns, req.sqe, r.slba, &pi); !st.ok()) return st;
  const bool meta_on_wire = MetadataOnWire(ns, pi);
  if (Status st = CheckTransferSize(ctx, DataBufferBytes(ns, r.nlb, meta_on_wire)); !st.ok()) {
    return st;
  }
  if (Status st = CheckReservation(ctx, ns, Access::kRead); !st.ok()) return st;
  const size_t data_bytes = static_cast<size_t>(r.nlb) << ns.lba_shift();
  const size_t meta_bytes = static_cast<size_t>(r.nlb) * ns.metadata_size();
  uint8_t* media = Scratch(0, data_bytes);
  uint8_t* media_meta = Scratch(1, meta_bytes + 1);
  uint8_t* host = Scratch(2, data_bytes);
  uint8_t* host_meta = Scratch(3, meta_bytes + 1);
  if (!media || !media_meta || !host || !host_meta) return sc::kInternalError;
  if (Status st = ReadMedia(ns, r.slba, r.nlb, media, media_meta); !st.ok()) return st;
  if (Status st = CheckPi(ns, pi, media, media_meta, r.nlb); !st.ok()) return st;
  if (ns.metadata_size() == 0) {
    if (Status st = req.data->Pull(host, data_bytes); !st.ok()) return st;
  } else if (Status st = PullBlocks(req, ns, r.nlb, host, host_meta, meta_on_wire); !st.ok()) {
    return st;
  }
  if (std::memcmp(media, host, data_bytes) != 0) return nvm_sc::kCompareFailure;
  if (meta_on_wire) {
    const uint32_t ms = ns.metadata_size();
    // With PRACT the controller owns the PI: compare only the other metadata bytes.
    const bool skip_pi = ns.pi_type() != 0 && pi.pract();
    for (uint32_t i = 0; i < r.nlb; ++i) {
      const uint8_t* a = media_meta + static_cast<size_t>(i) * ms;
      const uint8_t* b = host_meta + static_cast<size_t>(i) * ms;
      for (uint32_t k = 0; k < ms; ++k) {
        if (skip_pi && k >= ns.pi_offset() && k < ns.pi_offset() + ns.pi_size()) continue;
        if (a[k] != b[k]) return nvm_sc::kCompareFailure;
      }
    }
  }
  return Status::Success();
}

Status ExecuteCompare(const IoContext& ctx, Request& req) {
  const LbaRange r = ParseRange(req.sqe);
  Namespace* ns = nullptr;
  if (Status st = ResolveRange(ctx, req, r, &ns); !st.ok()) return st;
  return CompareBlocks(ctx, req, *ns, r);
}

}  // namespace nvemu::nvm
