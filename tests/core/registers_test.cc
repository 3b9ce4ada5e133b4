// Tests of the controller register model (src/core/registers.cc): NVMe Base 2.0, 3.1.3 Controller
// Registers and their access rules (RO, RW, RW1S, RW1C, reserved bits, access widths).
#include "core/registers.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "spec/registers.h"

namespace nvemu {
namespace {

// A CAP with every field distinct so that a wrong shift or half shows up.
//   MQES=0x03ff CQR=1 AMS=01b TO=0x14 DSTRD=2 NSSRS=1 CSS=NVM MPSMIN=0 MPSMAX=4
constexpr uint64_t kCapValue = 0x03ffull | (1ull << 16) | (1ull << 17) | (0x14ull << 24) |
                               (2ull << 32) | (1ull << 36) | (1ull << 37) | (4ull << 52);
constexpr uint64_t kCapNoNssrs = kCapValue & ~(1ull << 36);

class RegistersTest : public ::testing::Test {
 protected:
  RegisterFile regs_{kCapValue, reg::kVersion20};
};

// --- CAP / VS: read-only (3.1.3.1, 3.1.3.2)
// --------------------------------------------------------

TEST_F(RegistersTest, CapReadsAsDwordHalvesAndQword) {
  EXPECT_EQ(regs_.Read(reg::kCap, 4), kCapValue & 0xffffffff);
  EXPECT_EQ(regs_.Read(reg::kCap + 4, 4), kCapValue >> 32);
  EXPECT_EQ(regs_.Read(reg::kCap, 8), kCapValue);
  EXPECT_EQ(regs_.cap().v, kCapValue);
  EXPECT_EQ(regs_.cap().mqes(), 0x3ff);
  EXPECT_TRUE(regs_.cap().cqr());
  EXPECT_EQ(regs_.cap().ams(), 1);
  EXPECT_EQ(regs_.cap().to(), 0x14);
  EXPECT_EQ(regs_.cap().dstrd(), 2);
  EXPECT_TRUE(regs_.cap().nssrs());
  EXPECT_EQ(regs_.cap().css(), 1);
  EXPECT_EQ(regs_.cap().mpsmin(), 0);
  EXPECT_EQ(regs_.cap().mpsmax(), 4);
}

TEST_F(RegistersTest, CapIsReadOnly) {
  EXPECT_EQ(regs_.Write(reg::kCap, 4, 0).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kCap + 4, 4, 0xffffffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kCap, 8, 0x1122334455667788ull).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Read(reg::kCap, 8), kCapValue);
}

TEST_F(RegistersTest, VsReadsVersionAndIsReadOnly) {
  EXPECT_EQ(regs_.Read(reg::kVs, 4), 0x00020000u);  // 2.0.0
  EXPECT_EQ(regs_.Write(reg::kVs, 4, 0x00010400).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Read(reg::kVs, 4), 0x00020000u);
  // The qword at 08h is VS (low) and INTMS (high).
  EXPECT_EQ(regs_.Read(reg::kVs, 8), 0x00020000u);
}

TEST_F(RegistersTest, VsIsStoredAsGiven) {
  RegisterFile r(kCapValue, 0x00010400);
  EXPECT_EQ(r.Read(reg::kVs, 4), 0x00010400u);
}

// --- INTMS (RW1S) / INTMC (RW1C), both read the mask (3.1.3.3, 3.1.3.4) -------------------------

TEST_F(RegistersTest, IntmsSetsBitsAndBothRegistersReadTheMask) {
  RegisterWrite w = regs_.Write(reg::kIntms, 4, 0x5);
  EXPECT_EQ(w.event, RegisterEvent::kIntMask);
  EXPECT_EQ(w.old_value, 0u);
  EXPECT_EQ(regs_.intms(), 0x5u);
  EXPECT_EQ(regs_.Read(reg::kIntms, 4), 0x5u);
  EXPECT_EQ(regs_.Read(reg::kIntmc, 4), 0x5u);
  // RW1S: writing 0s clears nothing; new 1s are ORed in.
  w = regs_.Write(reg::kIntms, 4, 0x0);
  EXPECT_EQ(w.event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.intms(), 0x5u);
  w = regs_.Write(reg::kIntms, 4, 0x8);
  EXPECT_EQ(w.event, RegisterEvent::kIntMask);
  EXPECT_EQ(w.old_value, 0x5u);
  EXPECT_EQ(regs_.intms(), 0xdu);
  // Setting bits that are already set changes nothing.
  EXPECT_EQ(regs_.Write(reg::kIntms, 4, 0x4).event, RegisterEvent::kNone);
}

TEST_F(RegistersTest, IntmcClearsBitsAndReadsTheMask) {
  regs_.Write(reg::kIntms, 4, 0xf0f0);
  RegisterWrite w = regs_.Write(reg::kIntmc, 4, 0x00f0);
  EXPECT_EQ(w.event, RegisterEvent::kIntMask);
  EXPECT_EQ(w.old_value, 0xf0f0u);
  EXPECT_EQ(regs_.intms(), 0xf000u);
  EXPECT_EQ(regs_.Read(reg::kIntmc, 4), 0xf000u);
  EXPECT_EQ(regs_.Read(reg::kIntms, 4), 0xf000u);
  // RW1C: writing 0s, or 1s to bits already clear, changes nothing.
  EXPECT_EQ(regs_.Write(reg::kIntmc, 4, 0).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kIntmc, 4, 0x0f0f).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.intms(), 0xf000u);
  EXPECT_EQ(regs_.Write(reg::kIntmc, 4, 0xffffffff).event, RegisterEvent::kIntMask);
  EXPECT_EQ(regs_.intms(), 0u);
}

// --- CC (3.1.3.5)
// ----------------------------------------------------------------------------------

TEST_F(RegistersTest, CcWritableMaskDropsReservedBits) {
  RegisterWrite w = regs_.Write(reg::kCc, 4, 0xffffffff & ~1u);  // everything but EN
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(w.old_value, 0u);
  EXPECT_EQ(regs_.Read(reg::kCc, 4), 0x00fffff0u);
  EXPECT_EQ(regs_.cc().v, 0x00fffff0u);
  // Bits 3:1 and 31:24 are reserved: a write of only those bits reads back 0.
  regs_.Write(reg::kCc, 4, 0xff00000e);
  EXPECT_EQ(regs_.Read(reg::kCc, 4), 0u);
  EXPECT_EQ(reg::kCcWritableMask, 0x00fffff1u);
}

TEST_F(RegistersTest, CcFieldsDecode) {
  // EN=1, CSS=0, MPS=1, AMS=1, SHN=01b, IOSQES=6, IOCQES=4.
  uint32_t v = 1u | (1u << 7) | (1u << 11) | (1u << 14) | (6u << 16) | (4u << 20);
  regs_.Write(reg::kCc, 4, v);
  reg::Cc cc = regs_.cc();
  EXPECT_TRUE(cc.en());
  EXPECT_EQ(cc.css(), 0);
  EXPECT_EQ(cc.mps(), 1);
  EXPECT_EQ(cc.ams(), 1);
  EXPECT_EQ(cc.shn(), 1);
  EXPECT_EQ(cc.iosqes(), 6);
  EXPECT_EQ(cc.iocqes(), 4);
}

TEST_F(RegistersTest, CcEveryWriteReportsTheOldValue) {
  EXPECT_EQ(regs_.Write(reg::kCc, 4, 0x00460000).old_value, 0u);
  RegisterWrite w = regs_.Write(reg::kCc, 4, 0x00460001);
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(w.old_value, 0x00460000u);
  // Even an identical write is reported (the controller looks at edges itself).
  w = regs_.Write(reg::kCc, 4, 0x00460001);
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(w.old_value, 0x00460001u);
}

TEST_F(RegistersTest, CcCssMpsAmsFrozenWhileEnabled) {
  const uint32_t base = 0x00460001;  // EN, IOSQES=6, IOCQES=4
  regs_.Write(reg::kCc, 4, base);
  // CSS=7, MPS=0xf, AMS=7 while EN stays 1: kept; other fields (SHN, IOSQES) may change.
  uint32_t attempt = base | reg::kCcFrozenWhileEnabled | (1u << 14) | (0xfu << 16);
  RegisterWrite w = regs_.Write(reg::kCc, 4, attempt);
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(regs_.cc().css(), 0);
  EXPECT_EQ(regs_.cc().mps(), 0);
  EXPECT_EQ(regs_.cc().ams(), 0);
  EXPECT_EQ(regs_.cc().shn(), 1);
  EXPECT_EQ(regs_.cc().iosqes(), 0xf);
  EXPECT_TRUE(regs_.cc().en());
}

TEST_F(RegistersTest, CcFrozenFieldsKeepTheirNonZeroValuesWhileEnabled) {
  const uint32_t base = 0x00460001 | (1u << 7) | (1u << 11);  // MPS=1, AMS=1
  regs_.Write(reg::kCc, 4, base);
  regs_.Write(reg::kCc, 4, 0x00460001);  // tries MPS=0, AMS=0 with EN=1
  EXPECT_EQ(regs_.cc().mps(), 1);
  EXPECT_EQ(regs_.cc().ams(), 1);
}

TEST_F(RegistersTest, CcFieldsChangeableWhenEnabling) {
  // The write that sets EN (0 -> 1) may set CSS/MPS/AMS too.
  uint32_t v = 1u | (2u << 7) | (1u << 11);
  regs_.Write(reg::kCc, 4, v);
  EXPECT_EQ(regs_.cc().mps(), 2);
  EXPECT_EQ(regs_.cc().ams(), 1);
  // And the write that clears EN (1 -> 0) may change them.
  regs_.Write(reg::kCc, 4, (3u << 7));
  EXPECT_FALSE(regs_.cc().en());
  EXPECT_EQ(regs_.cc().mps(), 3);
  EXPECT_EQ(regs_.cc().ams(), 0);
  // While EN=0 they are freely writable.
  regs_.Write(reg::kCc, 4, (1u << 7) | (7u << 4));
  EXPECT_EQ(regs_.cc().mps(), 1);
  EXPECT_EQ(regs_.cc().css(), 7);
}

// --- CSTS (3.1.3.6): read-only except NSSRO (RW1C)
// --------------------------------------------------

TEST_F(RegistersTest, CstsIsReadOnlyExceptNssroRw1c) {
  regs_.set_csts(reg::kCstsRdy | reg::kCstsCfs | (reg::kShstComplete << reg::kCstsShstShift) |
                 reg::kCstsNssro);
  const uint32_t all = regs_.csts();
  EXPECT_EQ(regs_.Read(reg::kCsts, 4), all);
  // Writing 0 clears nothing.
  EXPECT_EQ(regs_.Write(reg::kCsts, 4, 0).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.csts(), all);
  // Writing 1s to RDY/CFS/SHST does nothing.
  regs_.Write(reg::kCsts, 4, reg::kCstsRdy | reg::kCstsCfs | reg::kCstsShstMask);
  EXPECT_EQ(regs_.csts(), all);
  // Writing 1 to NSSRO clears it, and only it.
  regs_.Write(reg::kCsts, 4, 0xffffffff);
  EXPECT_EQ(regs_.csts(), all & ~reg::kCstsNssro);
  EXPECT_EQ(regs_.Read(reg::kCsts, 4), all & ~reg::kCstsNssro);
}

TEST_F(RegistersTest, CstsCannotBeSetByTheHost) {
  regs_.Write(reg::kCsts, 4, 0xffffffff);
  EXPECT_EQ(regs_.csts(), 0u);
  EXPECT_EQ(regs_.Read(reg::kCsts, 4), 0u);
}

// --- NSSR (3.1.3.7)
// -------------------------------------------------------------------------------

TEST_F(RegistersTest, NssrNvmeTriggersSubsystemResetWhenSupported) {
  ASSERT_EQ(reg::kNssrReset, 0x4E564D65u);  // "NVMe"
  EXPECT_EQ(regs_.Write(reg::kNssr, 4, reg::kNssrReset).event, RegisterEvent::kNssr);
  EXPECT_EQ(regs_.Read(reg::kNssr, 4), 0u);  // NSSR reads 0
}

TEST_F(RegistersTest, NssrOtherValuesDoNothing) {
  EXPECT_EQ(regs_.Write(reg::kNssr, 4, 0).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kNssr, 4, 0x656D564E).event, RegisterEvent::kNone);  // byte-swapped
  EXPECT_EQ(regs_.Write(reg::kNssr, 4, reg::kNssrReset + 1).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Read(reg::kNssr, 4), 0u);
}

TEST_F(RegistersTest, NssrIgnoredWhenCapNssrsClear) {
  RegisterFile r(kCapNoNssrs, reg::kVersion20);
  EXPECT_FALSE(r.cap().nssrs());
  EXPECT_EQ(r.Write(reg::kNssr, 4, reg::kNssrReset).event, RegisterEvent::kNone);
  EXPECT_EQ(r.Read(reg::kNssr, 4), 0u);
}

TEST_F(RegistersTest, NssrSubDwordWritesDoNotTrigger) {
  // Byte/word writes are dropped, so "NVMe" split into pieces is not an NVM Subsystem Reset.
  EXPECT_EQ(regs_.Write(reg::kNssr, 2, 0x4D65).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kNssr + 2, 2, 0x4E56).event, RegisterEvent::kNone);
}

// --- AQA / ASQ / ACQ (3.1.3.8 - 3.1.3.10) --------------------------------------------------------

TEST_F(RegistersTest, AqaMaskDropsReservedBits) {
  RegisterWrite w = regs_.Write(reg::kAqa, 4, 0xffffffff);
  EXPECT_EQ(w.event, RegisterEvent::kAdmin);
  EXPECT_EQ(regs_.aqa(), 0x0fff0fffu);
  EXPECT_EQ(regs_.Read(reg::kAqa, 4), 0x0fff0fffu);
  regs_.Write(reg::kAqa, 4, 0x001f003f);
  EXPECT_EQ(reg::AqaAsqs(regs_.aqa()), 0x3fu);
  EXPECT_EQ(reg::AqaAcqs(regs_.aqa()), 0x1fu);
}

TEST_F(RegistersTest, AsqLow12BitsReservedDwordHalves) {
  EXPECT_EQ(regs_.Write(reg::kAsq, 4, 0x12345fff).event, RegisterEvent::kAdmin);
  EXPECT_EQ(regs_.Write(reg::kAsq + 4, 4, 0x9abcdef0).event, RegisterEvent::kAdmin);
  EXPECT_EQ(regs_.asq(), 0x9abcdef012345000ull);
  EXPECT_EQ(regs_.Read(reg::kAsq, 4), 0x12345000u);
  EXPECT_EQ(regs_.Read(reg::kAsq + 4, 4), 0x9abcdef0u);
  EXPECT_EQ(regs_.Read(reg::kAsq, 8), 0x9abcdef012345000ull);
  // High half first, then low: the other half is kept.
  regs_.Write(reg::kAsq + 4, 4, 0x1);
  EXPECT_EQ(regs_.asq(), 0x0000000112345000ull);
  regs_.Write(reg::kAsq, 4, 0xfedcb123);
  EXPECT_EQ(regs_.asq(), 0x00000001fedcb000ull);
}

TEST_F(RegistersTest, AcqLow12BitsReservedDwordHalves) {
  regs_.Write(reg::kAcq, 4, 0xaaaaa7ff);
  regs_.Write(reg::kAcq + 4, 4, 0x55);
  EXPECT_EQ(regs_.acq(), 0x00000055aaaaa000ull);
  EXPECT_EQ(regs_.Read(reg::kAcq, 8), 0x00000055aaaaa000ull);
  EXPECT_EQ(regs_.Read(reg::kAcq, 4), 0xaaaaa000u);
  EXPECT_EQ(regs_.Read(reg::kAcq + 4, 4), 0x55u);
  // ASQ is independent of ACQ.
  EXPECT_EQ(regs_.asq(), 0u);
}

TEST_F(RegistersTest, AsqAcqQwordWrites) {
  EXPECT_EQ(regs_.Write(reg::kAsq, 8, 0x0000123456789fffull).event, RegisterEvent::kAdmin);
  EXPECT_EQ(regs_.asq(), 0x0000123456789000ull);
  EXPECT_EQ(regs_.Write(reg::kAcq, 8, 0xffffffffffffffffull).event, RegisterEvent::kAdmin);
  EXPECT_EQ(regs_.acq(), 0xfffffffffffff000ull);
  EXPECT_EQ(regs_.Read(reg::kAcq, 8), 0xfffffffffffff000ull);
  EXPECT_EQ(regs_.asq(), 0x0000123456789000ull);
}

// --- Access widths and alignment ---------------------------------------------------------------

TEST_F(RegistersTest, ByteAndWordReadsReturnTheAddressedBytes) {
  regs_.Write(reg::kAqa, 4, 0x0abc0123);
  EXPECT_EQ(regs_.Read(reg::kAqa + 0, 1), 0x23u);
  EXPECT_EQ(regs_.Read(reg::kAqa + 1, 1), 0x01u);
  EXPECT_EQ(regs_.Read(reg::kAqa + 2, 1), 0xbcu);
  EXPECT_EQ(regs_.Read(reg::kAqa + 3, 1), 0x0au);
  EXPECT_EQ(regs_.Read(reg::kAqa + 0, 2), 0x0123u);
  EXPECT_EQ(regs_.Read(reg::kAqa + 2, 2), 0x0abcu);
  // Word at byte 1 of a dword (within the dword).
  EXPECT_EQ(regs_.Read(reg::kAqa + 1, 2), 0xbc01u);
  // CAP bytes, both halves.
  for (uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(regs_.Read(reg::kCap + i, 1), (kCapValue >> (8 * i)) & 0xff) << "byte " << i;
  }
  EXPECT_EQ(regs_.Read(reg::kCap + 6, 2), (kCapValue >> 48) & 0xffff);
  // VS major version is the upper word.
  EXPECT_EQ(regs_.Read(reg::kVs + 2, 2), 0x0002u);
}

TEST_F(RegistersTest, WordReadCrossingADwordReadsZero) {
  regs_.Write(reg::kAqa, 4, 0x0abc0123);
  EXPECT_EQ(regs_.Read(reg::kAqa + 3, 2), 0u);
}

TEST_F(RegistersTest, ByteAndWordWritesAreDropped) {
  regs_.Write(reg::kAqa, 4, 0x00010001);
  EXPECT_EQ(regs_.Write(reg::kAqa, 1, 0xff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kAqa, 2, 0xffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kAqa + 2, 2, 0xffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.aqa(), 0x00010001u);
  // Enabling through a byte write of CC does nothing.
  EXPECT_EQ(regs_.Write(reg::kCc, 1, 0x01).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.cc().v, 0u);
  EXPECT_EQ(regs_.Write(reg::kIntms, 2, 0xffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.intms(), 0u);
}

TEST_F(RegistersTest, UnsupportedWidthsAreDropped) {
  regs_.Write(reg::kAqa, 4, 0x00010001);
  EXPECT_EQ(regs_.Read(reg::kAqa, 3), 0u);
  EXPECT_EQ(regs_.Write(reg::kAqa, 3, 0xffffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kAqa, 0, 0xffffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.aqa(), 0x00010001u);
}

TEST_F(RegistersTest, MisalignedDwordAccessesAreDroppedAndReadZero) {
  regs_.Write(reg::kAqa, 4, 0x00010001);
  EXPECT_EQ(regs_.Read(reg::kAqa + 1, 4), 0u);
  EXPECT_EQ(regs_.Read(reg::kAqa + 2, 4), 0u);
  EXPECT_EQ(regs_.Write(reg::kAqa + 2, 4, 0xffffffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kCc - 1, 4, 0xffffffff).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.aqa(), 0x00010001u);
  EXPECT_EQ(regs_.cc().v, 0u);
}

TEST_F(RegistersTest, MisalignedQwordAccessesAreDroppedAndReadZero) {
  regs_.Write(reg::kAsq, 8, 0x0000000011112000ull);
  // 8-byte accesses must be 8-byte aligned: 0x2c is dword aligned only.
  EXPECT_EQ(regs_.Read(reg::kAsq + 4, 8), 0u);
  EXPECT_EQ(regs_.Read(reg::kCap + 4, 8), 0u);
  EXPECT_EQ(regs_.Write(reg::kAsq + 4, 8, 0xffffffffffffffffull).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.Write(reg::kIntms, 8, 0xffffffffffffffffull).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.asq(), 0x0000000011112000ull);
  EXPECT_EQ(regs_.acq(), 0u);
  EXPECT_EQ(regs_.intms(), 0u);
  EXPECT_EQ(regs_.cc().v, 0u);
}

TEST_F(RegistersTest, OffsetsAtOrBeyondTheWindowAreIgnored) {
  EXPECT_EQ(regs_.Read(reg::kRegisterWindow, 4), 0u);
  EXPECT_EQ(regs_.Read(reg::kRegisterWindow + reg::kCc, 4), 0u);
  EXPECT_EQ(regs_.Read(0xffffffff, 1), 0u);
  EXPECT_EQ(regs_.Write(reg::kRegisterWindow, 4, 1).event, RegisterEvent::kNone);
  // An alias of CC above the window must not reach CC.
  EXPECT_EQ(regs_.Write(reg::kRegisterWindow + reg::kCc, 4, 0x00460001).event,
            RegisterEvent::kNone);
  EXPECT_EQ(regs_.cc().v, 0u);
  // An access straddling the end of the window is ignored too.
  EXPECT_EQ(regs_.Read(reg::kRegisterWindow - 4, 8), 0u);
  EXPECT_EQ(regs_.Write(reg::kRegisterWindow - 4, 8, ~0ull).event, RegisterEvent::kNone);
  // Offsets near UINT32_MAX do not wrap around into the window.
  EXPECT_EQ(regs_.Read(0xfffffffc, 8), 0u);
  EXPECT_EQ(regs_.Write(0xfffffffc, 8, 0x0046000100460001ull).event, RegisterEvent::kNone);
  EXPECT_EQ(regs_.cc().v, 0u);
}

TEST_F(RegistersTest, ReservedOffsetsReadZeroAndIgnoreWrites) {
  for (uint32_t off : {0x18u, 0x38u, 0x3cu, 0x100u, 0xe00u, 0xffcu}) {
    EXPECT_EQ(regs_.Write(off, 4, 0xffffffff).event, RegisterEvent::kNone) << std::hex << off;
    EXPECT_EQ(regs_.Read(off, 4), 0u) << std::hex << off;
  }
}

// --- Qword accesses spanning two 32-bit registers ----------------------------------------------

TEST_F(RegistersTest, QwordWriteAtIntmcCoversIntmcAndCcAndReportsCc) {
  regs_.Write(reg::kIntms, 4, 0x3);
  // 10h: INTMC (low dword) + CC (high dword).
  uint64_t v = 0x1ull | (static_cast<uint64_t>(0x00460001u) << 32);
  RegisterWrite w = regs_.Write(reg::kIntmc, 8, v);
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(w.old_value, 0u);  // CC's old value
  EXPECT_EQ(regs_.cc().v, 0x00460001u);
  EXPECT_EQ(regs_.intms(), 0x2u);  // INTMC cleared bit 0
  EXPECT_EQ(regs_.Read(reg::kIntmc, 8), 0x2ull | (static_cast<uint64_t>(0x00460001u) << 32));
}

TEST_F(RegistersTest, QwordWriteAtVsReportsTheIntmsChange) {
  // 08h: VS (read-only) + INTMS.
  RegisterWrite w = regs_.Write(reg::kVs, 8, 0xffffffffull | (0x10ull << 32));
  EXPECT_EQ(w.event, RegisterEvent::kIntMask);
  EXPECT_EQ(regs_.intms(), 0x10u);
  EXPECT_EQ(regs_.Read(reg::kVs, 4), reg::kVersion20);
}

TEST_F(RegistersTest, QwordWriteAt18hReachesCsts) {
  regs_.set_csts(reg::kCstsNssro | reg::kCstsRdy);
  // 18h: reserved + CSTS. NSSRO is RW1C; RDY is read-only.
  regs_.Write(0x18, 8, 0xffffffffffffffffull);
  EXPECT_EQ(regs_.csts(), reg::kCstsRdy);
}

TEST_F(RegistersTest, QwordReadOfTwoDwordRegisters) {
  regs_.Write(reg::kCc, 4, 0x00460000);
  regs_.set_csts(reg::kCstsRdy);
  regs_.Write(reg::kAqa, 4, 0x001f001f);
  // 20h: NSSR (reads 0) + AQA.
  EXPECT_EQ(regs_.Read(reg::kNssr, 8), static_cast<uint64_t>(0x001f001fu) << 32);
  // 18h: reserved + CSTS.
  EXPECT_EQ(regs_.Read(0x18, 8), static_cast<uint64_t>(reg::kCstsRdy) << 32);
  // 10h: INTMC + CC.
  EXPECT_EQ(regs_.Read(reg::kIntmc, 8), static_cast<uint64_t>(0x00460000u) << 32);
}

// --- Controller-side updates and reset ---------------------------------------------------------

TEST_F(RegistersTest, SettersDoNotGoThroughHostRules) {
  regs_.set_csts(reg::kCstsRdy | reg::kCstsCfs);
  EXPECT_EQ(regs_.Read(reg::kCsts, 4), reg::kCstsRdy | reg::kCstsCfs);
  regs_.set_cc(0x00460001);
  EXPECT_EQ(regs_.Read(reg::kCc, 4), 0x00460001u);
}

TEST_F(RegistersTest, ResetForControllerResetClearsCcCstsIntmsKeepsAdminAndNssro) {
  regs_.Write(reg::kAqa, 4, 0x001f001f);
  regs_.Write(reg::kAsq, 8, 0x10000);
  regs_.Write(reg::kAcq, 8, 0x20000);
  regs_.Write(reg::kIntms, 4, 0xff);
  regs_.Write(reg::kCc, 4, 0x00460001);
  regs_.set_csts(reg::kCstsRdy | reg::kCstsCfs | (reg::kShstComplete << reg::kCstsShstShift) |
                 reg::kCstsNssro);
  regs_.ResetForControllerReset();
  EXPECT_EQ(regs_.cc().v, 0u);
  EXPECT_EQ(regs_.csts(), reg::kCstsNssro);
  EXPECT_EQ(regs_.intms(), 0u);
  EXPECT_EQ(regs_.Read(reg::kIntmc, 4), 0u);
  EXPECT_EQ(regs_.aqa(), 0x001f001fu);
  EXPECT_EQ(regs_.asq(), 0x10000u);
  EXPECT_EQ(regs_.acq(), 0x20000u);
  EXPECT_EQ(regs_.Read(reg::kCap, 8), kCapValue);
  EXPECT_EQ(regs_.Read(reg::kVs, 4), reg::kVersion20);
}

TEST_F(RegistersTest, ResetForControllerResetWithoutNssro) {
  regs_.set_csts(reg::kCstsRdy);
  regs_.ResetForControllerReset();
  EXPECT_EQ(regs_.csts(), 0u);
}

TEST_F(RegistersTest, ResetValuesAreZero) {
  for (uint32_t off = reg::kIntms; off < 0x38; off += 4) {
    EXPECT_EQ(regs_.Read(off, 4), 0u) << std::hex << off;
  }
}

}  // namespace
}  // namespace nvemu
