// How `nvemu perf` commands carry the blocks of the namespace's format (NVM Command Set 1.0,
// 5.2 End-to-end Data Protection, 5.3 Metadata Region):
//   - the data buffer holds each LBA's data, followed by its metadata when the format is an
//     extended LBA (FLBAS bit 4) and the metadata travels;
//   - a separate metadata buffer (MPTR, one contiguous buffer) holds nlb * MS bytes when the
//     format keeps metadata apart and it travels;
//   - a protected namespace (DPS Type 1..3) gets PRINFO with PRACT = 1: the controller generates
//     the PI on writes and checks (PRCHK) and, when the PI is the whole metadata, strips it on
//     reads, so the host needs no PI code and the metadata does not travel at all. PRCHK checks
//     the Guard and, for Types 1 and 2, the Reference Tag against ILBRT = the SLBA. Unless the
//     prefill wrote them (no --no-prefill, not the null backend) the blocks read carry no valid
//     PI, so nothing is checked.
// The format comes from Identify Namespace (FormatOf(nvme_id_ns), in-process and --tcp), not from
// the configuration: a state file may hold a Format NVM done since.
#pragma once

#include <nvme/types.h>

#include <cstdint>
#include <string>

#include "nvemu/command.h"
#include "nvemu/config.h"

namespace nvemu::app {

struct BlockFormat {
  uint32_t lba_shift = 9;       // log2(LBA data size)
  uint32_t data_per_lba = 512;  // data buffer bytes per LBA
  uint32_t meta_per_lba = 0;    // separate metadata buffer bytes per LBA (0: no MPTR)
  uint8_t prinfo = 0;           // PRINFO, CDW12 bits 29:26
  bool pi_64b = false;          // ILBRT bits 47:32 in CDW3 (64b Guard)

  uint64_t DataBytes(uint64_t nlb) const { return nlb * data_per_lba; }
  uint64_t MetaBytes(uint64_t nlb) const { return nlb * meta_per_lba; }
  // Distance between the data buffers of two queue slots: the data bytes, rounded up to a page
  // when they would otherwise straddle pages unevenly (so a command needs at most PRP1 + PRP2
  // unless it is larger than two pages).
  uint64_t SlotStride(uint64_t nlb) const;
  // Fills in PRINFO, the reference tag (ILBRT) and MPTR (`meta_addr`, when metadata is separate)
  // of a Read or Write of the blocks from `slba`.
  // (Inline: QueueJob::Submit calls it per command; plain formats return at once.)
  void Apply(Sqe& sqe, uint64_t slba, uint64_t meta_addr) const {
    if (meta_per_lba != 0) sqe.mptr = meta_addr;
    if (prinfo == 0) return;
    sqe.cdw12 |= uint32_t{prinfo} << 26;
    sqe.cdw14 = static_cast<uint32_t>(slba);  // ILBRT: the SLBA (Types 1 and 2 check it)
    if (pi_64b) sqe.cdw3 = static_cast<uint32_t>((slba >> 32) & 0xffff);
  }
};

// What decides the format: as Identify Namespace reports it (LBA format in use: LBADS, MS;
// FLBAS bit 4; DPS bits 2:0), or as a namespace is configured.
struct NamespaceFormat {
  uint32_t lba_shift = 9;
  uint32_t metadata_size = 0;
  bool extended_lba = false;
  uint8_t pi_type = 0;
  // 64b Guard PI: the only PI format of 16-byte metadata here (config validation).
  bool pi_64b() const { return pi_type != 0 && metadata_size == 16; }
};
NamespaceFormat FormatOf(const NamespaceConfig& ns);
// The format in use, as Identify Namespace reports it (LBA format FLBAS bits 3:0: LBADS, MS;
// FLBAS bit 4 extended; DPS bits 2:0 PI type).
NamespaceFormat FormatOf(const nvme_id_ns& id);

// Most LBAs one command moves: CDW12 NLB is 0's based, 16 bits.
inline constexpr uint32_t kMaxNlb = 65536;

// `checks`: PRCHK as above (false when the blocks may never have been written).
BlockFormat BlockFormatFor(const NamespaceFormat& ns, bool checks);
// An upper bound of DataBytes / MetaBytes / SlotStride over every format of LBA data size 2^9 or
// more (512 + 64 bytes per 512-byte LBA in the data buffer, 64 in the metadata buffer), for
// sizing DMA memory before the device reports its format.
BlockFormat LargestBlockFormat();

// For the report: "" without metadata, else e.g. "metadata 8 B separate, PI type 1 (PRACT,
// PRCHK guard+reftag)".
std::string DescribeFormat(const NamespaceFormat& ns, const BlockFormat& f);

}  // namespace nvemu::app
