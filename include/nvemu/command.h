// Submission and completion queue entries (NVMe Base 2.0, 4.2 and 4.6).
//
// Plain little-endian wire structs: what a host writes into an SQ slot and what the controller writes
// into a CQ slot. Both are trivially copyable; no invariants beyond their layout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvemu {

// NVMe Base 2.0, Figure 88: Common Command Format.
struct Sqe {
  uint8_t opc;    // CDW0[07:00] opcode
  uint8_t flags;  // CDW0[09:08] FUSE, CDW0[15:14] PSDT
  uint16_t cid;   // CDW0[31:16] command identifier
  uint32_t nsid;
  uint32_t cdw2;
  uint32_t cdw3;
  uint64_t mptr;
  uint64_t prp1;  // DPTR: PRP entry 1 or the first 8 bytes of SGL1
  uint64_t prp2;  // DPTR: PRP entry 2 or the last 8 bytes of SGL1
  uint32_t cdw10;
  uint32_t cdw11;
  uint32_t cdw12;
  uint32_t cdw13;
  uint32_t cdw14;
  uint32_t cdw15;

  uint8_t fuse() const { return flags & 0x3; }
  uint8_t psdt() const { return (flags >> 6) & 0x3; }
};
static_assert(sizeof(Sqe) == 64);
static_assert(offsetof(Sqe, nsid) == 4);
static_assert(offsetof(Sqe, mptr) == 16);
static_assert(offsetof(Sqe, prp1) == 24);
static_assert(offsetof(Sqe, cdw10) == 40);
static_assert(offsetof(Sqe, cdw15) == 60);

// NVMe Base 2.0, Figure 90: Common Completion Queue Entry.
struct Cqe {
  uint32_t dw0;
  uint32_t dw1;
  uint16_t sqhd;
  uint16_t sqid;
  uint16_t cid;
  uint16_t status;  // bit 0: phase tag; bits 15:1: status field

  bool phase() const { return status & 1; }
  uint16_t status_field() const { return status >> 1; }
};
static_assert(sizeof(Cqe) == 16);
static_assert(offsetof(Cqe, sqhd) == 8);
static_assert(offsetof(Cqe, cid) == 12);

}  // namespace nvemu
