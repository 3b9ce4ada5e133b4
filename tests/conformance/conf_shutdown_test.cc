// Shutdown sequences through MMIO (NVMe Base 2.0, 3.6 Controller Shutdown, 3.7.2 Controller Level
// Reset, 3.1.3.5 CC.SHN, 3.1.3.6 CSTS.SHST): what a host observes when it shuts down with CC.EN
// still 1 (Linux, SPDK), when it clears CC.EN in the same write, and how it returns to normal
// operation afterwards.
#include "fixture.h"

namespace nvemu::conformance {
namespace {

class ShutdownSequenceTest : public ConformanceTest, public ::testing::WithParamInterface<bool> {
 protected:
  uint32_t Shn() const { return CcShn(GetParam() ? 2 : 1); }
};

TEST_P(ShutdownSequenceTest, DisableAndShutdownInOneWriteReportsShutdownComplete) {
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(RoundTrip(q, 1, 0, 8, 512, 7), "");

  WriteReg32(regs::kCc, ((Cc() & ~kCcEn) & ~CcShn(3)) | Shn());
  ASSERT_TRUE(WaitCsts(kCstsShstMask, kCstsShstComplete))
      << "CSTS.SHST never read 10b after CC.EN=0 + CC.SHN in one write (CSTS " << std::hex << Csts()
      << ")";
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), 0u);
  // Still shut down a while later: nothing clears it behind the host's back.
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(Csts() & kCstsShstMask, kCstsShstComplete);

  // CC.SHN cleared while disabled: normal operation again; the data survived.
  WriteReg32(regs::kCc, 0);
  EXPECT_EQ(Csts() & kCstsShstMask, 0u);
  ASSERT_OK(drv().Enable());
  q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  DmaBuffer r = Alloc(4096);
  ASSERT_SUCCESS(Exec(q, ReadCmd(1, 0, 8), &r, 4096));
  EXPECT_EQ(CheckPattern(r.ptr, 4096, 7, 0), -1);
}

TEST_P(ShutdownSequenceTest, ShutdownThenResetWithShnCleared) {
  // Linux: nvme_disable_ctrl(shutdown) writes CC.SHN with CC.EN=1 and waits for SHST=10b; the
  // next reset writes CC.EN=0 with SHN cleared and waits for RDY=0, then enables.
  ASSERT_TRUE(Start());
  WriteReg32(regs::kCc, (Cc() & ~CcShn(3)) | Shn());
  ASSERT_TRUE(WaitCsts(kCstsShstMask, kCstsShstComplete));
  EXPECT_EQ(Csts() & kCstsRdy, kCstsRdy) << "CSTS.RDY follows CC.EN, which is still 1";
  WriteReg32(regs::kCc, Cc() & ~(kCcEn | CcShn(3)));
  ASSERT_TRUE(WaitCsts(kCstsRdy, 0));
  EXPECT_EQ(Csts() & kCstsShstMask, 0u);
  ASSERT_OK(drv().Enable());
  EXPECT_OK(drv().IdentifyController());
}

TEST_P(ShutdownSequenceTest, EnableRefusedWhileShnStillSet) {
  // After CC.EN=0 + SHN in one write, CC.EN=1 with SHN unchanged is no reset of the shutdown
  // state: the controller does not become ready until SHN is cleared.
  ASSERT_TRUE(Start());
  WriteReg32(regs::kCc, ((Cc() & ~kCcEn) & ~CcShn(3)) | Shn());
  ASSERT_TRUE(WaitCsts(kCstsShstMask, kCstsShstComplete));
  WriteReg32(regs::kCc, Cc() | kCcEn);
  std::this_thread::sleep_for(kQuiet);
  EXPECT_EQ(Csts() & kCstsRdy, 0u);
  EXPECT_EQ(Csts() & kCstsShstMask, kCstsShstComplete);
  // CC.EN=0 with SHN cleared (a reset): SHST back to 00b, and the controller enables again.
  WriteReg32(regs::kCc, Cc() & ~(kCcEn | CcShn(3)));
  ASSERT_OK(drv().Enable());
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsShstMask), kCstsRdy);
}

INSTANTIATE_TEST_SUITE_P(Shn, ShutdownSequenceTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Abrupt" : "Normal"; });

}  // namespace
}  // namespace nvemu::conformance
