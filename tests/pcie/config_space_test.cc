// Tests for nvemu::pcie::ConfigSpace: header, BAR sizing, register access semantics, capability
// list, MSI-X capability, FLR and invalid accesses.
#include "pcie/config_space.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace nvemu::pcie {
namespace {

using CS = ConfigSpace;

ConfigSpaceParams TestParams() {
  ConfigSpaceParams p;
  p.vendor_id = 0x1b36;
  p.device_id = 0x0010;
  p.subsystem_vendor_id = 0x1af4;
  p.subsystem_id = 0x1100;
  p.revision_id = 0x02;
  p.bar0_size = 64 * 1024;
  p.msix_vectors = 65;
  p.msix_table_offset = 0x2000;
  p.msix_pba_offset = 0x3000;
  return p;
}

class ConfigSpaceTest : public ::testing::Test {
 protected:
  ConfigSpace cs_{TestParams()};
};

TEST_F(ConfigSpaceTest, HeaderIdsAndClassCode) {
  EXPECT_EQ(cs_.Read(CS::kVendorId, 2), 0x1b36u);
  EXPECT_EQ(cs_.Read(CS::kDeviceId, 2), 0x0010u);
  EXPECT_EQ(cs_.Read(0x00, 4), 0x00101b36u);
  EXPECT_EQ(cs_.Read(CS::kRevisionId, 1), 0x02u);
  // Class code 010802h in bytes 09h..0Bh: NVM Express programming interface.
  EXPECT_EQ(cs_.Read(0x08, 4), 0x01080202u);
  EXPECT_EQ(cs_.Read(CS::kHeaderType, 1), 0x00u);
  EXPECT_EQ(cs_.Read(CS::kSubsystemVendorId, 2), 0x1af4u);
  EXPECT_EQ(cs_.Read(CS::kSubsystemId, 2), 0x1100u);
  EXPECT_EQ(cs_.Read(CS::kInterruptPin, 1), 0x01u);
  EXPECT_EQ(cs_.Read(CS::kCapabilitiesPointer, 1), 0x40u);

  // Identity registers are read-only.
  cs_.Write(0x00, 4, 0xffffffff);
  cs_.Write(0x08, 4, 0xffffffff);
  cs_.Write(0x2c, 4, 0);
  cs_.Write(CS::kInterruptPin, 1, 0x04);
  EXPECT_EQ(cs_.Read(0x00, 4), 0x00101b36u);
  EXPECT_EQ(cs_.Read(0x08, 4), 0x01080202u);
  EXPECT_EQ(cs_.Read(0x2c, 4), 0x11001af4u);
  EXPECT_EQ(cs_.Read(CS::kInterruptPin, 1), 0x01u);
}

TEST_F(ConfigSpaceTest, InterruptLineAndCacheLineSizeAreReadWrite) {
  cs_.Write(CS::kInterruptLine, 1, 0x0b);
  cs_.Write(CS::kCacheLineSize, 1, 0x10);
  EXPECT_EQ(cs_.Read(CS::kInterruptLine, 1), 0x0bu);
  EXPECT_EQ(cs_.Read(CS::kCacheLineSize, 1), 0x10u);
  EXPECT_EQ(cs_.Read(0x3c, 4), 0x0000010bu);  // pin 1, min_gnt/max_lat 0
}

struct BarCase {
  uint64_t size;
  uint32_t bar0_mask;
  uint32_t bar1_mask;
};

class Bar0SizingTest : public ::testing::TestWithParam<BarCase> {};

TEST_P(Bar0SizingTest, AllOnesReadsBackSizeMask) {
  ConfigSpaceParams p = TestParams();
  p.bar0_size = GetParam().size;
  ConfigSpace cs(p);
  ASSERT_TRUE(ConfigSpace::Validate(p).ok());
  EXPECT_EQ(cs.Bar0Size(), GetParam().size);

  // Power-on: address 0, type bits 64-bit non-prefetchable memory (100b).
  EXPECT_EQ(cs.Read(CS::kBar0, 4), 0x4u);
  EXPECT_EQ(cs.Read(CS::kBar1, 4), 0u);

  cs.Write(CS::kBar0, 4, 0xffffffff);
  cs.Write(CS::kBar1, 4, 0xffffffff);
  EXPECT_EQ(cs.Read(CS::kBar0, 4), GetParam().bar0_mask | 0x4u);
  EXPECT_EQ(cs.Read(CS::kBar1, 4), GetParam().bar1_mask);
  const uint64_t size_from_bars =
      ~((uint64_t{cs.Read(CS::kBar1, 4)} << 32) | (cs.Read(CS::kBar0, 4) & ~0xfu)) + 1;
  EXPECT_EQ(size_from_bars, GetParam().size);

  // Type bits are read-only.
  cs.Write(CS::kBar0, 4, 0);
  cs.Write(CS::kBar1, 4, 0);
  EXPECT_EQ(cs.Read(CS::kBar0, 4), 0x4u);
  EXPECT_EQ(cs.Read(CS::kBar0, 1), 0x4u);
}

INSTANTIATE_TEST_SUITE_P(Sizes, Bar0SizingTest,
                         ::testing::Values(BarCase{16 * 1024, 0xffffc000, 0xffffffff},
                                           BarCase{64 * 1024, 0xffff0000, 0xffffffff},
                                           BarCase{1u << 20, 0xfff00000, 0xffffffff},
                                           BarCase{uint64_t{8} << 30, 0x00000000, 0xfffffffe}));

TEST_F(ConfigSpaceTest, Bar0AddressProgramming) {
  cs_.Write(CS::kBar0, 4, 0xfebf1234);  // low bits below 64 KiB are ignored
  cs_.Write(CS::kBar1, 4, 0x00000001);
  EXPECT_EQ(cs_.Read(CS::kBar0, 4), 0xfebf0004u);
  EXPECT_EQ(cs_.Bar0Address(), 0x1febf0000ull);
  // Byte writes merge into the BAR like any other register.
  cs_.Write(CS::kBar0 + 3, 1, 0xc0);
  EXPECT_EQ(cs_.Bar0Address(), 0x1c0bf0000ull);
}

TEST_F(ConfigSpaceTest, UnimplementedBarsAndRomReadZero) {
  // BAR2-5, CardBus CIS Pointer, Expansion ROM Base Address.
  for (uint16_t off : {0x18, 0x1c, 0x20, 0x24, 0x28, 0x30}) {
    cs_.Write(off, 4, 0xffffffff);
    EXPECT_EQ(cs_.Read(off, 4), 0u) << "offset " << off;
  }
}

TEST_F(ConfigSpaceTest, CommandRegisterWritableBits) {
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0u);
  EXPECT_FALSE(cs_.MemoryEnabled());
  cs_.Write(CS::kCommand, 2, 0xffff);
  // Memory Space, Bus Master, Parity Error Response, SERR# Enable, INTx Disable.
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0x0546u);
  EXPECT_TRUE(cs_.MemoryEnabled());
  EXPECT_TRUE(cs_.BusMasterEnabled());
  EXPECT_TRUE(cs_.IntxDisabled());
  cs_.Write(CS::kCommand, 1, 0x00);  // low byte only: Memory Space, Bus Master, Parity off
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0x0500u);
  EXPECT_FALSE(cs_.MemoryEnabled());
  EXPECT_FALSE(cs_.BusMasterEnabled());
  EXPECT_TRUE(cs_.IntxDisabled());
  cs_.Write(CS::kCommand, 4, 0);  // dword write also hits Status (RW1C, nothing set)
  EXPECT_FALSE(cs_.IntxDisabled());
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);
}

TEST_F(ConfigSpaceTest, StatusErrorBitsAreWriteOneToClear) {
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);  // Capabilities List
  cs_.Write(CS::kStatus, 2, 0xffff);             // writing 1s sets nothing
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);

  cs_.RecordErrors(0xffff, 0);
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0xf910u);  // only the error bits
  cs_.Write(CS::kStatus, 2, 0x0000);             // writing 0s clears nothing
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0xf910u);
  cs_.Write(CS::kStatus, 2, 0x2000);  // clear Received Master Abort only
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0xd910u);
  cs_.Write(CS::kCommand, 4, 0xffff0000);  // clear all via a dword write; Command stays 0
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0u);
}

TEST_F(ConfigSpaceTest, InterruptStatusFollowsSetterAndIsReadOnly) {
  cs_.SetInterruptStatus(true);
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0018u);
  EXPECT_EQ(cs_.Read(CS::kStatus, 1), 0x18u);
  EXPECT_EQ(cs_.Read(CS::kCommand, 4) >> 16, 0x0018u);
  cs_.Write(CS::kStatus, 2, 0x0008);  // not RW1C
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0018u);
  cs_.SetInterruptStatus(false);
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);
}

TEST_F(ConfigSpaceTest, PowerManagementCapability) {
  EXPECT_EQ(cs_.Read(CS::kPmCap, 1), CS::kCapIdPm);
  EXPECT_EQ(cs_.Read(CS::kPmc, 2), 0x0003u);    // version 1.2
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 2), 0x0008u);  // D0, No_Soft_Reset

  cs_.Write(CS::kPmcsr, 2, 0x0003);  // D3hot
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 2), 0x000bu);
  cs_.Write(CS::kPmcsr, 2, 0x0001);  // D1 unsupported: discarded
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 2), 0x000bu);
  cs_.Write(CS::kPmcsr, 2, 0x0002);  // D2 unsupported: discarded
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 2), 0x000bu);
  cs_.Write(CS::kPmcsr, 2, 0x0000);  // back to D0
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 2), 0x0008u);
  EXPECT_EQ(cs_.PowerState(), 0);
  cs_.Write(CS::kPmcsr, 4, 0xffffffff);  // only PowerState is writable; No_Soft_Reset stays set
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 4), 0x0000000bu);
  cs_.Write(CS::kPmc, 2, 0);
  EXPECT_EQ(cs_.Read(CS::kPmc, 2), 0x0003u);
}

TEST_F(ConfigSpaceTest, D3HotDisablesMemoryAndBusMaster) {
  cs_.Write(CS::kCommand, 2, CS::kCmdMemorySpace | CS::kCmdBusMaster);
  EXPECT_TRUE(cs_.MemoryEnabled());
  EXPECT_TRUE(cs_.BusMasterEnabled());
  cs_.Write(CS::kPmcsr, 2, 0x0003);
  EXPECT_EQ(cs_.PowerState(), 3);
  EXPECT_FALSE(cs_.MemoryEnabled());
  EXPECT_FALSE(cs_.BusMasterEnabled());
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0x0006u) << "Command itself is unchanged";
  cs_.Write(CS::kPmcsr, 2, 0x0000);  // No_Soft_Reset: D3hot -> D0 keeps the configuration
  EXPECT_TRUE(cs_.MemoryEnabled());
  EXPECT_TRUE(cs_.BusMasterEnabled());
}

TEST_F(ConfigSpaceTest, CapabilityListWalk) {
  EXPECT_TRUE(cs_.Read(CS::kStatus, 2) & CS::kStsCapabilitiesList);
  std::vector<uint8_t> ids;
  std::vector<uint16_t> offsets;
  uint16_t off = cs_.Read(CS::kCapabilitiesPointer, 1);
  while (off != 0 && ids.size() < 16) {
    EXPECT_EQ(off % 4, 0u) << "capability at " << off << " not dword aligned";
    EXPECT_GE(off, 0x40u);
    EXPECT_LT(off, 0x100u);
    offsets.push_back(off);
    ids.push_back(static_cast<uint8_t>(cs_.Read(off, 1)));
    off = static_cast<uint16_t>(cs_.Read(off + 1, 1));
  }
  EXPECT_EQ(ids, (std::vector<uint8_t>{CS::kCapIdPm, CS::kCapIdMsix, CS::kCapIdPcie}));
  EXPECT_EQ(offsets, (std::vector<uint16_t>{CS::kPmCap, CS::kMsixCap, CS::kPcieCap}));
  // The list structure is read-only.
  cs_.Write(CS::kCapabilitiesPointer, 1, 0x80);
  cs_.Write(CS::kPmCap, 2, 0);
  EXPECT_EQ(cs_.Read(CS::kCapabilitiesPointer, 1), 0x40u);
  EXPECT_EQ(cs_.Read(CS::kPmCap, 2), 0x5001u);
}

TEST_F(ConfigSpaceTest, ReservedBytesReadZeroAndIgnoreWrites) {
  for (uint16_t off : {0x48, 0x5c, 0x9c, 0xa0, 0xfc}) {
    cs_.Write(off, 4, 0xffffffff);
    EXPECT_EQ(cs_.Read(off, 4), 0u) << "offset " << off;
  }
}

TEST_F(ConfigSpaceTest, ExtendedSpaceIsEmpty) {
  EXPECT_EQ(cs_.Read(CS::kExtCap, 4), 0u);
  cs_.Write(CS::kExtCap, 4, 0xffffffff);
  cs_.Write(0xffc, 4, 0xffffffff);
  EXPECT_EQ(cs_.Read(CS::kExtCap, 4), 0u);
  EXPECT_EQ(cs_.Read(0xffc, 4), 0u);
}

TEST_F(ConfigSpaceTest, MsixCapability) {
  EXPECT_EQ(cs_.Read(CS::kMsixCap, 1), CS::kCapIdMsix);
  EXPECT_EQ(cs_.Read(CS::kMsixControl, 2) & 0x7ff, 64u);  // Table Size = N - 1
  EXPECT_EQ(cs_.Read(CS::kMsixTable, 4), 0x2000u);        // BIR 0
  EXPECT_EQ(cs_.Read(CS::kMsixPba, 4), 0x3000u);
  EXPECT_EQ(cs_.MsixVectors(), 65);

  cs_.Write(CS::kMsixControl, 2, 0xffff);
  EXPECT_EQ(cs_.Read(CS::kMsixControl, 2), 0xc040u);  // Enable + Function Mask; size RO
  EXPECT_TRUE(cs_.MsixEnabled());
  EXPECT_TRUE(cs_.MsixFunctionMasked());
  cs_.Write(CS::kMsixControl + 1, 1, 0x80);  // byte write: Enable, unmask
  EXPECT_TRUE(cs_.MsixEnabled());
  EXPECT_FALSE(cs_.MsixFunctionMasked());

  cs_.Write(CS::kMsixTable, 4, 0xffffffff);
  cs_.Write(CS::kMsixPba, 4, 0);
  EXPECT_EQ(cs_.Read(CS::kMsixTable, 4), 0x2000u);
  EXPECT_EQ(cs_.Read(CS::kMsixPba, 4), 0x3000u);
}

TEST(ConfigSpaceMsixTableSize, SingleAndMaximumVectors) {
  ConfigSpaceParams p = TestParams();
  p.msix_vectors = 1;
  EXPECT_EQ(ConfigSpace(p).Read(CS::kMsixControl, 2), 0u);
  p.msix_vectors = 2048;
  p.bar0_size = 1u << 20;
  p.msix_table_offset = 0x10000;
  p.msix_pba_offset = 0x20000;
  ASSERT_TRUE(ConfigSpace::Validate(p).ok());
  EXPECT_EQ(ConfigSpace(p).Read(CS::kMsixControl, 2), 0x7ffu);
}

TEST_F(ConfigSpaceTest, PciExpressCapability) {
  EXPECT_EQ(cs_.Read(CS::kPcieCap, 1), CS::kCapIdPcie);
  EXPECT_EQ(cs_.Read(CS::kPcieCapabilities, 2), 0x0002u);  // v2, Endpoint
  const uint32_t devcap = cs_.Read(CS::kDeviceCapabilities, 4);
  EXPECT_TRUE(devcap & (1u << 28)) << "FLR capable";
  EXPECT_EQ(devcap & 0x7, 0u) << "Max_Payload_Size Supported 128 bytes";
  EXPECT_EQ(cs_.Read(CS::kLinkCapabilities, 4) & 0x3ff, 0x043u);  // 8 GT/s, x4
  EXPECT_EQ(cs_.Read(CS::kLinkStatus, 2) & 0x3ff, 0x043u);
  EXPECT_EQ(cs_.Read(CS::kLinkCapabilities2, 4), 0x0eu);
  EXPECT_EQ(cs_.Read(CS::kDeviceCapabilities2, 4), 0x10u);
  cs_.Write(CS::kDeviceCapabilities, 4, 0);
  EXPECT_EQ(cs_.Read(CS::kDeviceCapabilities, 4), devcap);
}

TEST_F(ConfigSpaceTest, DeviceControlAndStatus) {
  EXPECT_EQ(cs_.Read(CS::kDeviceControl, 2), 0x2810u);
  cs_.Write(CS::kDeviceControl, 2, 0x7fff);  // everything but Initiate FLR
  EXPECT_EQ(cs_.Read(CS::kDeviceControl, 2), 0x78ffu);
  cs_.Write(CS::kDeviceControl, 2, 0x0000);
  EXPECT_EQ(cs_.Read(CS::kDeviceControl, 2), 0x0000u);

  cs_.Write(CS::kDeviceStatus, 2, 0xffff);
  EXPECT_EQ(cs_.Read(CS::kDeviceStatus, 2), 0u);
  cs_.RecordErrors(0, 0xffff);
  EXPECT_EQ(cs_.Read(CS::kDeviceStatus, 2), 0x000fu);
  cs_.Write(CS::kDeviceStatus, 2, 0x0008);  // clear Unsupported Request Detected
  EXPECT_EQ(cs_.Read(CS::kDeviceStatus, 2), 0x0007u);
  cs_.Write(CS::kDeviceStatus, 2, 0x0000);
  EXPECT_EQ(cs_.Read(CS::kDeviceStatus, 2), 0x0007u);

  cs_.Write(CS::kDeviceControl2, 2, 0xffff);
  EXPECT_EQ(cs_.Read(CS::kDeviceControl2, 2), 0x0010u);
  cs_.Write(CS::kLinkControl, 2, 0xffff);
  EXPECT_EQ(cs_.Read(CS::kLinkControl, 2), 0x00cbu);
}

TEST_F(ConfigSpaceTest, CallbacksFireOnChangesOnly) {
  int msix = 0;
  int intx = 0;
  int flr = 0;
  cs_.SetCallbacks({.msix_control_changed = [&] { ++msix; },
                    .intx_disable_changed = [&] { ++intx; },
                    .flr = [&] { ++flr; }});
  cs_.Write(CS::kMsixControl, 2, CS::kMsixCtlEnable);
  EXPECT_EQ(msix, 1);
  cs_.Write(CS::kMsixControl, 2, CS::kMsixCtlEnable);  // unchanged
  EXPECT_EQ(msix, 1);
  cs_.Write(CS::kMsixControl, 2, CS::kMsixCtlEnable | CS::kMsixCtlFunctionMask);
  EXPECT_EQ(msix, 2);
  cs_.Write(CS::kCommand, 2, CS::kCmdMemorySpace);
  EXPECT_EQ(intx, 0);
  cs_.Write(CS::kCommand, 2, CS::kCmdMemorySpace | CS::kCmdIntxDisable);
  EXPECT_EQ(intx, 1);
  cs_.Write(CS::kCommand, 2, CS::kCmdMemorySpace);
  EXPECT_EQ(intx, 2);
  EXPECT_EQ(flr, 0);
}

TEST_F(ConfigSpaceTest, FunctionLevelResetCallbackAndState) {
  int flr = 0;
  bool msix_enabled_in_callback = true;
  cs_.SetCallbacks({.flr = [&] {
    ++flr;
    msix_enabled_in_callback = cs_.MsixEnabled();
  }});
  cs_.Write(CS::kCommand, 2, 0x0006);
  cs_.Write(CS::kBar0, 4, 0xfebf0000);
  cs_.Write(CS::kInterruptLine, 1, 0x0b);
  cs_.Write(CS::kMsixControl, 2, CS::kMsixCtlEnable);
  cs_.Write(CS::kPmcsr, 2, 0x0003);
  cs_.Write(CS::kDeviceControl, 2, 0x2830);  // Max_Payload_Size 001b (256 bytes)
  cs_.SetInterruptStatus(true);

  cs_.Write(CS::kDeviceControl, 2, 0xa830);  // Initiate FLR
  EXPECT_EQ(flr, 1);
  EXPECT_FALSE(msix_enabled_in_callback) << "config space reset before the callback";
  EXPECT_EQ(cs_.Read(CS::kDeviceControl, 2), 0x2830u) << "FLR bit reads 0, MPS preserved";
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0u);
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);
  EXPECT_EQ(cs_.Bar0Address(), 0u);
  EXPECT_EQ(cs_.Read(CS::kMsixControl, 2), 64u);
  EXPECT_EQ(cs_.Read(CS::kPmcsr, 2), 0x0008u);
  EXPECT_EQ(cs_.Read(CS::kInterruptLine, 1), 0x0bu);
  EXPECT_FALSE(cs_.MemoryEnabled());
  EXPECT_FALSE(cs_.BusMasterEnabled());
  EXPECT_FALSE(cs_.MsixEnabled());

  cs_.Write(CS::kDeviceControl + 1, 1, 0x80);  // byte write of the FLR bit
  EXPECT_EQ(flr, 2);
}

TEST_F(ConfigSpaceTest, InvalidAccessesAreIgnored) {
  cs_.Write(CS::kCommand, 2, 0x0006);
  EXPECT_EQ(cs_.Read(0x02, 4), 0u);    // crosses a dword
  EXPECT_EQ(cs_.Read(0x03, 2), 0u);    // crosses a dword
  EXPECT_EQ(cs_.Read(0x00, 3), 0u);    // invalid size
  EXPECT_EQ(cs_.Read(0x00, 8), 0u);    // invalid size
  EXPECT_EQ(cs_.Read(0x00, 0), 0u);    // invalid size
  EXPECT_EQ(cs_.Read(4096, 1), 0u);    // beyond the space
  EXPECT_EQ(cs_.Read(0xffff, 4), 0u);  // beyond the space
  EXPECT_EQ(cs_.Read(0x01, 2), 0x101bu) << "2 bytes inside a dword are fine";

  cs_.Write(0x02, 4, 0xffffffff);  // would hit Command
  cs_.Write(0x04, 3, 0xffffff);
  cs_.Write(0x04, 8, 0xffffffff);
  cs_.Write(0x07, 2, 0xffff);
  cs_.Write(4096, 4, 0xffffffff);
  cs_.Write(0xfffe, 2, 0xffff);
  EXPECT_EQ(cs_.Read(CS::kCommand, 2), 0x0006u);
  EXPECT_EQ(cs_.Read(CS::kStatus, 2), 0x0010u);
}

TEST(ConfigSpaceValidate, RejectsBadParameters) {
  EXPECT_TRUE(ConfigSpace::Validate(TestParams()).ok());
  auto with = [](auto mutate) {
    ConfigSpaceParams p = TestParams();
    mutate(p);
    return ConfigSpace::Validate(p).ok();
  };
  EXPECT_FALSE(with([](auto& p) { p.bar0_size = 8 * 1024; }));
  EXPECT_FALSE(with([](auto& p) { p.bar0_size = 48 * 1024; }));
  EXPECT_FALSE(with([](auto& p) { p.msix_vectors = 0; }));
  EXPECT_FALSE(with([](auto& p) { p.msix_vectors = 2049; }));
  EXPECT_FALSE(with([](auto& p) { p.msix_table_offset = 0x2004; }));
  EXPECT_FALSE(with([](auto& p) { p.msix_pba_offset = 0x3001; }));
  EXPECT_FALSE(with([](auto& p) { p.msix_table_offset = 0xfc00; }));  // 65 * 16 past the end
  EXPECT_FALSE(with([](auto& p) { p.msix_pba_offset = 0x2400; }));    // inside the table
}

TEST(ConfigSpaceValidate, InvalidParametersAreClampedNotFatal) {
  ConfigSpaceParams p = TestParams();
  p.bar0_size = 20000;
  p.msix_vectors = 0;
  ConfigSpace cs(p);
  EXPECT_EQ(cs.Bar0Size(), 32u * 1024);
  EXPECT_EQ(cs.MsixVectors(), 1);
  cs.Write(CS::kBar0, 4, 0xffffffff);
  EXPECT_EQ(cs.Read(CS::kBar0, 4), 0xffff8004u);
}

}  // namespace
}  // namespace nvemu::pcie
