// RegisterFile: the controller register window 0h-FFFh with its access semantics (NVMe Base 2.0, 3.1.3).
//
// One model for every front end: PCIe MMIO (BAR0) and NVMe over Fabrics Property Get/Set both go through
// it. It only stores values and enforces per-register access rules (RO, RW, RW1S/RW1C, reserved bits,
// widths); the Controller reacts to the writes it reports (CC edges, NSSR, INTMS/INTMC).
//
// Threading: not thread-safe; the Controller serializes access (control path).
#pragma once

#include <cstdint>

#include "spec/registers.h"

namespace nvemu {

// What a host write changed, for the Controller to act on.
enum class RegisterEvent {
  kNone,     // nothing (read-only, reserved, or a dropped access)
  kCc,       // CC written; old value in RegisterWrite::old_value
  kNssr,     // "NVMe" written to NSSR
  kIntMask,  // INTMS or INTMC changed the interrupt mask
  kAdmin,    // AQA/ASQ/ACQ written
};

struct RegisterWrite {
  RegisterEvent event = RegisterEvent::kNone;
  uint32_t old_value = 0;
};

class RegisterFile {
 public:
  RegisterFile(uint64_t cap, uint32_t vs);

  // Host read of `size` (1, 2, 4 or 8) bytes at `offset`. Sub-dword reads return the addressed bytes;
  // 8-byte reads of 64-bit registers (CAP, ASQ, ACQ) return the whole register; other 8-byte reads
  // return two adjacent dwords. Reserved or misaligned accesses read 0.
  uint64_t Read(uint32_t offset, unsigned size) const;

  // Host write. Registers are written in their native width or as dwords (64-bit registers as two
  // dwords in either order); byte/word writes and misaligned accesses are dropped (and logged).
  RegisterWrite Write(uint32_t offset, unsigned size, uint64_t value);

  reg::Cap cap() const { return reg::Cap{cap_}; }
  reg::Cc cc() const { return reg::Cc{cc_}; }
  uint32_t csts() const { return csts_; }
  uint32_t aqa() const { return aqa_; }
  uint64_t asq() const { return asq_; }
  uint64_t acq() const { return acq_; }
  uint32_t intms() const { return intms_; }

  // Controller-side updates (not host writes).
  void set_csts(uint32_t v) { csts_ = v; }
  void set_cc(uint32_t v) { cc_ = v; }
  // Controller Level Reset of the register values the spec says are reset (NVMe Base 2.0, 3.7.2):
  // CC and CSTS (except NSSRO) and INTMS. AQA/ASQ/ACQ keep their values.
  void ResetForControllerReset();

 private:
  uint32_t ReadDword(uint32_t offset) const;
  RegisterWrite WriteDword(uint32_t offset, uint32_t value);

  uint64_t cap_;
  uint32_t vs_;
  uint32_t intms_ = 0;
  uint32_t cc_ = 0;
  uint32_t csts_ = 0;
  uint32_t aqa_ = 0;
  uint64_t asq_ = 0;
  uint64_t acq_ = 0;
};

}  // namespace nvemu
