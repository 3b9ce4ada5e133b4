// libFuzzer target: the NVMe/TCP PDU header parser (tcp/pdu.h). The first byte picks the receiver
// context (role, initialized, digests, limits); the rest is a PDU header. Checks invariants of
// every accepted layout (no overflow, data inside PLEN).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "tcp/pdu.h"

using namespace nvemu::tcp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 + sizeof(CommonHeader)) return 0;
  const uint8_t mode = data[0];
  RecvContext ctx;
  ctx.role = (mode & 1) ? Role::kHost : Role::kController;
  ctx.initialized = mode & 2;
  ctx.hdgst = mode & 4;
  ctx.ddgst = mode & 8;
  ctx.max_capsule_data = (mode & 16) ? 8192 : 0;
  ctx.max_h2c_data = (mode & 32) ? 4096 : 131072;
  uint8_t hdr[kMaxHeaderBytes] = {};
  const size_t n = std::min(size - 1, sizeof(hdr));
  std::memcpy(hdr, data + 1, n);
  CommonHeader ch;
  std::memcpy(&ch, hdr, sizeof(ch));
  PduLayout l;
  PduError e = ValidateCommonHeader(ch, ctx, &l);
  if (!e.ok()) {
    if (e.fes == Fes::kNone) std::abort();
    return 0;
  }
  // Invariants of an accepted header.
  if (l.header_bytes > kMaxHeaderBytes || l.header_bytes < sizeof(CommonHeader)) std::abort();
  if (static_cast<uint64_t>(l.header_bytes) + l.pad + l.data_len > l.plen) std::abort();
  if (l.hlen != ch.hlen || l.plen != ch.plen) std::abort();
  if (n >= l.header_bytes) {
    (void)VerifyHeaderDigest(hdr, l);
    (void)ValidatePsh(hdr, l, ctx);
  }
  (void)FesName(e.fes);
  (void)PduTypeName(ch.type);
  return 0;
}
