#include "app/perf_format.h"

#include <fmt/format.h>

#include <bit>

#include "nvm/pi.h"  // PRINFO bits: kPrinfoPract, kPrchkGuard, kPrchkRef

namespace nvemu::app {

NamespaceFormat FormatOf(const NamespaceConfig& ns) {
  NamespaceFormat f;
  f.lba_shift = static_cast<uint32_t>(std::countr_zero(ns.lba_size));
  f.metadata_size = ns.metadata_size;
  f.extended_lba = ns.extended_lba;
  f.pi_type = ns.pi_type;
  return f;
}

NamespaceFormat FormatOf(const nvme_id_ns& id) {
  const nvme_lbaf& lbaf = id.lbaf[id.flbas & 0xf];
  NamespaceFormat f;
  f.lba_shift = lbaf.ds;
  f.metadata_size = lbaf.ms;
  f.extended_lba = (id.flbas >> 4) & 1;
  f.pi_type = id.dps & 0x7;
  return f;
}

BlockFormat BlockFormatFor(const NamespaceFormat& ns, bool checks) {
  BlockFormat f;
  f.lba_shift = ns.lba_shift;
  f.data_per_lba = 1u << ns.lba_shift;
  const uint32_t ms = ns.metadata_size;
  if (ms == 0) return f;
  bool meta_travels = true;
  if (ns.pi_type != 0) {
    f.pi_64b = ns.pi_64b();
    f.prinfo = kPrinfoPract;
    if (checks) f.prinfo |= kPrchkGuard | (ns.pi_type == 3 ? 0 : kPrchkRef);
    const uint32_t pi_size = f.pi_64b ? 16 : 8;
    meta_travels = ms != pi_size;  // PRACT = 1 with PI-only metadata: none on the wire
  }
  if (!meta_travels) return f;
  if (ns.extended_lba) {
    f.data_per_lba += ms;
  } else {
    f.meta_per_lba = ms;
  }
  return f;
}

BlockFormat LargestBlockFormat() {
  BlockFormat f;
  f.lba_shift = 9;
  f.data_per_lba = 512 + 64;
  f.meta_per_lba = 64;
  return f;
}

uint64_t BlockFormat::SlotStride(uint64_t nlb) const {
  const uint64_t bytes = DataBytes(nlb);
  if (bytes % 4096 == 0 || 4096 % bytes == 0) return bytes;
  return (bytes + 4095) / 4096 * 4096;
}

std::string DescribeFormat(const NamespaceFormat& ns, const BlockFormat& f) {
  if (ns.metadata_size == 0) return "";
  std::string s =
      fmt::format("metadata {} B {}", ns.metadata_size, ns.extended_lba ? "extended" : "separate");
  if (ns.pi_type == 0) return s;
  s += fmt::format(", PI type {}{} (PRACT", ns.pi_type, ns.pi_64b() ? " 64b guard" : "");
  if (f.prinfo & kPrchkGuard) s += ", PRCHK guard";
  if (f.prinfo & kPrchkRef) s += "+reftag";
  if (f.meta_per_lba == 0 && f.data_per_lba == (1u << f.lba_shift))
    s += ", no metadata on the wire";
  return s + ")";
}

}  // namespace nvemu::app
