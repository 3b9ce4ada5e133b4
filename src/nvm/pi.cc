#include "nvm/pi.h"

#include "nvemu/command.h"
#include "nvm/namespace.h"
#include "nvm/nvm_status.h"

namespace nvemu {
namespace {

uint64_t LoadBe(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}
void StoreBe(uint8_t* p, int n, uint64_t v) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<uint8_t>(v);
    v >>= 8;
  }
}

struct Tuple {
  uint64_t guard;
  uint16_t app;
  uint64_t ref;
};

Tuple LoadTuple(const Namespace& ns, const uint8_t* pi) {
  if (ns.pi_64b())
    return {LoadBe(pi, 8), static_cast<uint16_t>(LoadBe(pi + 8, 2)), LoadBe(pi + 10, 6)};
  return {LoadBe(pi, 2), static_cast<uint16_t>(LoadBe(pi + 2, 2)), LoadBe(pi + 4, 4)};
}

void StoreTuple(const Namespace& ns, uint8_t* pi, const Tuple& t) {
  if (ns.pi_64b()) {
    StoreBe(pi, 8, t.guard);
    StoreBe(pi + 8, 2, t.app);
    StoreBe(pi + 10, 6, t.ref);
  } else {
    StoreBe(pi, 2, t.guard);
    StoreBe(pi + 2, 2, t.app);
    StoreBe(pi + 4, 4, t.ref);
  }
}

uint64_t Guard(const Namespace& ns, const uint8_t* data, const uint8_t* meta) {
  const size_t before = ns.pi_offset();  // metadata bytes preceding the PI
  if (ns.pi_64b()) {
    uint64_t c = Crc64Nvme(kCrc64Init, data, ns.lba_size());
    if (before) c = Crc64Nvme(c, meta, before);
    return Crc64NvmeFinal(c);
  }
  uint16_t c = Crc16T10Dif(0, data, ns.lba_size());
  if (before) c = Crc16T10Dif(c, meta, before);
  return c;
}

uint64_t RefMask(const Namespace& ns) { return ns.pi_64b() ? 0xffffffffffffull : 0xffffffffull; }

}  // namespace

PiParams ParsePi(const Namespace& ns, const Sqe& sqe) {
  PiParams pi;
  pi.prinfo = static_cast<uint8_t>((sqe.cdw12 >> 26) & 0xf);
  pi.ref = sqe.cdw14;
  if (ns.pi_64b()) pi.ref |= static_cast<uint64_t>(sqe.cdw3 & 0xffff) << 32;
  pi.app = static_cast<uint16_t>(sqe.cdw15 & 0xffff);
  pi.app_mask = static_cast<uint16_t>(sqe.cdw15 >> 16);
  return pi;
}

Status ValidatePi(const Namespace& ns, const PiParams& pi, uint64_t slba) {
  if (ns.pi_type() == 1 && (pi.prchk() & kPrchkRef) && (slba & RefMask(ns)) != pi.ref) {
    return nvm_sc::kInvalidProtectionInformation;
  }
  if (ns.pi_type() == 3 && (pi.prchk() & kPrchkRef)) return nvm_sc::kInvalidProtectionInformation;
  return Status::Success();
}

Status CheckPi(const Namespace& ns, const PiParams& pi, const uint8_t* data, const uint8_t* meta,
               uint32_t nlb) {
  if (ns.pi_type() == 0 || pi.prchk() == 0) return Status::Success();
  const uint32_t lbasz = ns.lba_size();
  const uint32_t ms = ns.metadata_size();
  const uint64_t all_ones_ref = RefMask(ns);
  uint64_t ref = pi.ref;
  for (uint32_t i = 0; i < nlb; ++i, data += lbasz, meta += ms) {
    const Tuple t = LoadTuple(ns, meta + ns.pi_offset());
    const bool disabled =
        ns.pi_type() == 3 ? (t.app == 0xffff && t.ref == all_ones_ref) : t.app == 0xffff;
    if (!disabled) {
      if ((pi.prchk() & kPrchkGuard) && Guard(ns, data, meta) != t.guard) {
        return nvm_sc::kGuardCheckError;
      }
      if ((pi.prchk() & kPrchkApp) && ((t.app ^ pi.app) & pi.app_mask) != 0) {
        return nvm_sc::kApplicationTagCheckError;
      }
      if ((pi.prchk() & kPrchkRef) && t.ref != (ref & all_ones_ref)) {
        return nvm_sc::kReferenceTagCheckError;
      }
    }
    if (ns.pi_type() != 3) ++ref;
  }
  return Status::Success();
}

void GeneratePi(const Namespace& ns, const PiParams& pi, const uint8_t* data, uint8_t* meta,
                uint32_t nlb) {
  if (ns.pi_type() == 0) return;
  const uint32_t lbasz = ns.lba_size();
  const uint32_t ms = ns.metadata_size();
  uint64_t ref = pi.ref;
  for (uint32_t i = 0; i < nlb; ++i, data += lbasz, meta += ms) {
    StoreTuple(ns, meta + ns.pi_offset(), Tuple{Guard(ns, data, meta), pi.app, ref & RefMask(ns)});
    if (ns.pi_type() != 3) ++ref;
  }
}

}  // namespace nvemu
