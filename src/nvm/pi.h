// End-to-end data protection (NVM Command Set 1.0, 5.2 End-to-end Data Protection; 16b Guard and
// 64b Guard protection information formats, 5.2.1).
//
// Protection information (PI) sits in each logical block's metadata, in its first bytes (DPS bit 3,
// "PI first") or its last bytes:
//   16b Guard (8 bytes):  Guard CRC-16 T10-DIF (BE16) | Application Tag (BE16) | Reference Tag
//   (BE32) 64b Guard (16 bytes): Guard CRC-64/NVMe (BE64)    | Application Tag (BE16) | Reference
//   Tag (BE48)
//                         (Storage Tag size STS = 0: the whole 48-bit field is the Reference Tag)
// The Guard covers the logical block data and the metadata bytes that precede the PI (none when the
// PI is first). CRC-16 T10-DIF: polynomial 8BB7h, initial 0, no reflection, no final XOR.
// CRC-64/NVMe: reflected polynomial 9A6C9329AC4BC9B5h, initial and final XOR all ones.
//
// PRINFO (CDW12[29:26] of Read/Write/Compare/Verify/Write Zeroes): PRACT (bit 3) and PRCHK (bits
// 2:0: Guard, Application Tag, Reference Tag).
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "nvemu/status.h"

namespace nvemu {

class Namespace;

uint16_t Crc16T10Dif(uint16_t crc, const uint8_t* p, size_t n);
uint64_t Crc64Nvme(uint64_t crc, const uint8_t* p, size_t n);  // pass/returns the raw register
// The table-driven CRC-64 that Crc64Nvme uses below 64 bytes and on CPUs without PCLMULQDQ.
uint64_t Crc64NvmeSliced(uint64_t crc, const uint8_t* p, size_t n);
inline constexpr uint64_t kCrc64Init = ~uint64_t{0};
inline uint64_t Crc64NvmeFinal(uint64_t crc) { return ~crc; }

inline constexpr uint8_t kPrinfoPract = 1u << 3;
inline constexpr uint8_t kPrchkGuard = 1u << 2;
inline constexpr uint8_t kPrchkApp = 1u << 1;
inline constexpr uint8_t kPrchkRef = 1u << 0;

// The protection fields of one command.
struct PiParams {
  uint8_t prinfo = 0;     // PRACT | PRCHK
  uint64_t ref = 0;       // (E)ILBRT: expected/initial reference tag of the first block
  uint16_t app = 0;       // LBAT
  uint16_t app_mask = 0;  // LBATM
  bool pract() const { return prinfo & kPrinfoPract; }
  uint8_t prchk() const { return prinfo & 0x7; }
};

// PRINFO, ILBRT (CDW14, with CDW3[15:0] as bits 47:32 for 64b Guard), LBAT/LBATM (CDW15).
struct Sqe;
PiParams ParsePi(const Namespace& ns, const Sqe& sqe);

// Checks the command's protection fields before any data moves (NVM Command Set 1.0, 5.2.1.x):
// Type 1 with PRCHK Reference Tag needs ILBRT equal to the low 32 (48) bits of SLBA; Type 3 has no
// Reference Tag to check. Either violation is Invalid Protection Information.
Status ValidatePi(const Namespace& ns, const PiParams& pi, uint64_t slba);

// Checks the PI of `nlb` blocks (`data`: nlb * LBA size bytes, `meta`: nlb * MS bytes) against
// PRCHK. Blocks whose Application Tag is FFFFh (Types 1, 2) or whose Application Tag is FFFFh and
// Reference Tag all ones (Type 3) are not checked. Returns End-to-end Guard / Application Tag /
// Reference Tag Check Error for the first failing block (Guard first, as in the spec's order).
Status CheckPi(const Namespace& ns, const PiParams& pi, const uint8_t* data, const uint8_t* meta,
               uint32_t nlb);

// Generates the PI of `nlb` blocks in `meta` (PRACT = 1 on a write): Guard over the data (and
// preceding metadata), Application Tag = LBAT, Reference Tag = ILBRT + i (Types 1 and 2) or ILBRT
// (Type 3).
void GeneratePi(const Namespace& ns, const PiParams& pi, const uint8_t* data, uint8_t* meta,
                uint32_t nlb);

}  // namespace nvemu
