#include "core/registers.h"

#include <spdlog/spdlog.h>

namespace nvemu {

RegisterFile::RegisterFile(uint64_t cap, uint32_t vs) : cap_(cap), vs_(vs) {}

uint32_t RegisterFile::ReadDword(uint32_t offset) const {
  switch (offset) {
    case reg::kCap:
      return static_cast<uint32_t>(cap_);
    case reg::kCap + 4:
      return static_cast<uint32_t>(cap_ >> 32);
    case reg::kVs:
      return vs_;
    case reg::kIntms:
    case reg::kIntmc:
      return intms_;  // both read back the current mask (3.1.3.3, 3.1.3.4)
    case reg::kCc:
      return cc_;
    case reg::kCsts:
      return csts_;
    case reg::kNssr:
      return 0;  // NSSR reads 0 (3.1.3.7)
    case reg::kAqa:
      return aqa_;
    case reg::kAsq:
      return static_cast<uint32_t>(asq_);
    case reg::kAsq + 4:
      return static_cast<uint32_t>(asq_ >> 32);
    case reg::kAcq:
      return static_cast<uint32_t>(acq_);
    case reg::kAcq + 4:
      return static_cast<uint32_t>(acq_ >> 32);
    default:
      return 0;  // CMB, BP, PMR and reserved registers: not implemented, read 0
  }
}

uint64_t RegisterFile::Read(uint32_t offset, unsigned size) const {
  if (offset >= reg::kRegisterWindow || offset + size > reg::kRegisterWindow) return 0;
  switch (size) {
    case 1:
    case 2: {
      uint32_t aligned = offset & ~3u;
      if ((offset & 3) + size > 4) {
        spdlog::warn("registers: misaligned {}-byte read at {:#x}", size, offset);
        return 0;
      }
      uint32_t v = ReadDword(aligned) >> (8 * (offset & 3));
      return size == 1 ? (v & 0xff) : (v & 0xffff);
    }
    case 4:
      if (offset & 3) {
        spdlog::warn("registers: misaligned dword read at {:#x}", offset);
        return 0;
      }
      return ReadDword(offset);
    case 8:
      if (offset & 7) {
        spdlog::warn("registers: misaligned qword read at {:#x}", offset);
        return 0;
      }
      return ReadDword(offset) | (static_cast<uint64_t>(ReadDword(offset + 4)) << 32);
    default:
      spdlog::warn("registers: {}-byte read at {:#x} not supported", size, offset);
      return 0;
  }
}

RegisterWrite RegisterFile::WriteDword(uint32_t offset, uint32_t value) {
  switch (offset) {
    case reg::kIntms: {  // RW1S
      uint32_t old = intms_;
      intms_ |= value;
      return {intms_ != old ? RegisterEvent::kIntMask : RegisterEvent::kNone, old};
    }
    case reg::kIntmc: {  // RW1C
      uint32_t old = intms_;
      intms_ &= ~value;
      return {intms_ != old ? RegisterEvent::kIntMask : RegisterEvent::kNone, old};
    }
    case reg::kCc: {
      uint32_t old = cc_;
      uint32_t v = value & reg::kCcWritableMask;
      if (reg::Cc{old}.en() && reg::Cc{v}.en()) {
        // CSS, MPS and AMS may only change while CC.EN is 0 (3.1.3.5).
        if ((v ^ old) & reg::kCcFrozenWhileEnabled) {
          spdlog::warn("registers: CC.CSS/MPS/AMS changed while CC.EN=1 ({:#x} -> {:#x}); kept",
                       old, v);
        }
        v = (v & ~reg::kCcFrozenWhileEnabled) | (old & reg::kCcFrozenWhileEnabled);
      }
      cc_ = v;
      return {RegisterEvent::kCc, old};
    }
    case reg::kCsts: {  // only NSSRO is writable (RW1C)
      uint32_t old = csts_;
      csts_ &= ~(value & reg::kCstsNssro);
      return {RegisterEvent::kNone, old};
    }
    case reg::kNssr:
      if (value == reg::kNssrReset && cap().nssrs()) return {RegisterEvent::kNssr, 0};
      if (value != 0) spdlog::info("registers: NSSR write {:#x} ignored", value);
      return {};
    case reg::kAqa:
      aqa_ = value & reg::kAqaMask;
      return {RegisterEvent::kAdmin, 0};
    case reg::kAsq:
      asq_ = (asq_ & ~0xffffffffull) | (value & 0xfffff000u);
      return {RegisterEvent::kAdmin, 0};
    case reg::kAsq + 4:
      asq_ = (asq_ & 0xffffffffull) | (static_cast<uint64_t>(value) << 32);
      return {RegisterEvent::kAdmin, 0};
    case reg::kAcq:
      acq_ = (acq_ & ~0xffffffffull) | (value & 0xfffff000u);
      return {RegisterEvent::kAdmin, 0};
    case reg::kAcq + 4:
      acq_ = (acq_ & 0xffffffffull) | (static_cast<uint64_t>(value) << 32);
      return {RegisterEvent::kAdmin, 0};
    case reg::kCap:
    case reg::kCap + 4:
    case reg::kVs:
      spdlog::debug("registers: write to read-only register {:#x} ignored", offset);
      return {};
    default:
      spdlog::debug("registers: write to reserved offset {:#x} ignored", offset);
      return {};
  }
}

RegisterWrite RegisterFile::Write(uint32_t offset, unsigned size, uint64_t value) {
  if (offset >= reg::kRegisterWindow || offset + size > reg::kRegisterWindow) return {};
  if (size == 4 && (offset & 3) == 0) return WriteDword(offset, static_cast<uint32_t>(value));
  if (size == 8 && (offset & 7) == 0) {
    // A qword write is the low dword then the high dword (the order matters for CC next to CSTS only
    // in theory: no 64-bit-aligned pair contains CC).
    RegisterWrite lo = WriteDword(offset, static_cast<uint32_t>(value));
    RegisterWrite hi = WriteDword(offset + 4, static_cast<uint32_t>(value >> 32));
    if (hi.event == RegisterEvent::kCc || lo.event == RegisterEvent::kNone) return hi;
    return lo;
  }
  spdlog::warn("registers: {}-byte write of {:#x} at {:#x} dropped (registers take 4/8-byte aligned "
               "accesses)",
               size, value, offset);
  return {};
}

void RegisterFile::ResetForControllerReset() {
  cc_ = 0;
  csts_ &= reg::kCstsNssro;
  intms_ = 0;
}

}  // namespace nvemu
