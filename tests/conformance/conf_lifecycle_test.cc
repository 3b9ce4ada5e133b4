// Controller registers and lifecycle through MMIO and configuration space (NVMe Base 2.0, 3.1.3
// Controller Registers, 3.5 Controller Initialization, 3.6 Shutdown, 3.7 Resets; PCIe Base 4.0,
// 6.6.2 Function Level Reset).
#include "fixture.h"

namespace nvemu::conformance {
namespace {

using namespace std::chrono_literals;

class LifecycleTest : public ConformanceTest {
 protected:
  // Programs AQA/ASQ/ACQ, writes CC and returns CSTS once RDY or CFS is set (or after 1 s).
  uint32_t RawEnable(uint32_t aqa, uint64_t asq, uint64_t acq, uint32_t cc) {
    WriteReg32(regs::kAqa, aqa);
    dev().MmioWrite(regs::kAsq, 8, asq);
    dev().MmioWrite(regs::kAcq, 8, acq);
    WriteReg32(regs::kCc, cc);
    WaitUntil([&] { return (Csts() & (kCstsRdy | kCstsCfs)) != 0; }, 1000ms);
    return Csts();
  }

  // From a disabled controller, enables with `cc` | EN and expects RDY=0 and CFS=1; then checks
  // that the host can recover (EN=0, then a valid enable).
  void ExpectEnableFails(uint32_t aqa, uint64_t asq, uint64_t acq, uint32_t cc) {
    WriteReg32(regs::kCc, 0);
    ASSERT_TRUE(WaitCsts(kCstsRdy, 0));
    uint32_t csts = RawEnable(aqa, asq, acq, cc | kCcEn);
    EXPECT_EQ(csts & kCstsRdy, 0u) << "CSTS.RDY set for an invalid configuration";
    EXPECT_NE(csts & kCstsCfs, 0u) << "CSTS.CFS not set for an invalid configuration";
    // The host recovers with CC.EN=0 and a valid configuration.
    WriteReg32(regs::kCc, 0);
    EXPECT_TRUE(WaitCsts(kCstsRdy, 0));
    auto en = drv().Enable();
    EXPECT_TRUE(en.ok()) << "re-enable after a failed enable: " << en.error().message;
    EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
  }

  // What an OS does after a Function Level Reset: memory space, bus master, MSI-X table.
  void Reenumerate() {
    dev().ConfigWrite(pci::kCommand, 2,
                      pci::kCmdMemory | pci::kCmdBusMaster | pci::kCmdIntxDisable);
    uint16_t msix = FindCapability(pci::kCapIdMsix);
    ASSERT_NE(msix, 0);
    uint16_t control = static_cast<uint16_t>(dev().ConfigRead(msix + 2, 2));
    uint32_t vectors = (control & 0x7ff) + 1;
    uint32_t table = dev().MsixTableOffset();
    for (uint32_t v = 0; v < vectors; ++v) {
      dev().MmioWrite(table + 16 * v + 0, 4, kMsiAddress);
      dev().MmioWrite(table + 16 * v + 4, 4, 0);
      dev().MmioWrite(table + 16 * v + 8, 4, v);
      dev().MmioWrite(table + 16 * v + 12, 4, 0);
    }
    dev().ConfigWrite(msix + 2, 2, control | pci::kMsixEnable);
  }
};

// ---- CAP / VS (3.1.3.1, 3.1.3.2) ----

TEST_F(LifecycleTest, CapFieldsFollowConfiguration) {
  DriverOptions o = SmallOptions();
  o.controller.mqes = 255;
  o.controller.cqr = true;
  o.controller.timeout_500ms = 7;
  o.controller.dstrd = 2;
  o.controller.mpsmin = 0;
  o.controller.mpsmax = 3;
  ASSERT_TRUE(Create(o));
  uint64_t cap = Cap();
  EXPECT_EQ(cap & 0xffff, 255u) << "MQES";
  EXPECT_EQ((cap >> 16) & 1, 1u) << "CQR";
  EXPECT_EQ((cap >> 17) & 1, 1u) << "AMS bit 17: weighted round robin with urgent";
  EXPECT_EQ((cap >> 18) & 1, 0u) << "AMS bit 18: vendor specific (not offered)";
  EXPECT_EQ((cap >> 24) & 0xff, 7u) << "TO";
  EXPECT_EQ((cap >> 32) & 0xf, 2u) << "DSTRD";
  EXPECT_EQ((cap >> 36) & 1, 1u) << "NSSRS";
  EXPECT_EQ((cap >> 37) & 1, 1u) << "CSS bit 37: NVM command set";
  EXPECT_EQ((cap >> 48) & 0xf, 0u) << "MPSMIN";
  EXPECT_EQ((cap >> 52) & 0xf, 3u) << "MPSMAX";
  // A 64-bit register reads the same as two dword reads.
  EXPECT_EQ(cap, uint64_t{Reg32(regs::kCap)} | (uint64_t{Reg32(regs::kCap + 4)} << 32));
}

TEST_F(LifecycleTest, CapDefaultsAndOtherMpsRange) {
  DriverOptions o = SmallOptions();
  o.controller.mpsmin = 1;
  o.controller.mpsmax = 2;
  o.mps = 1;
  ASSERT_TRUE(Start(o));
  uint64_t cap = Cap();
  EXPECT_EQ(cap & 0xffff, 1023u) << "MQES default";
  EXPECT_EQ((cap >> 16) & 1, 0u) << "CQR";
  EXPECT_EQ((cap >> 32) & 0xf, 0u) << "DSTRD";
  EXPECT_EQ((cap >> 48) & 0xf, 1u) << "MPSMIN";
  EXPECT_EQ((cap >> 52) & 0xf, 2u) << "MPSMAX";
  // An 8 KiB memory page works end to end.
  IoQueue* q = MakeQueue(1, 64);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 10, 64, 512, 1), "");
}

TEST_F(LifecycleTest, VersionIs2_0) {
  ASSERT_TRUE(Create());
  EXPECT_EQ(Reg32(regs::kVs), 0x00020000u);
}

// ---- Doorbell stride (3.1.3.1 DSTRD; NVMe over PCIe doorbell layout) ----

class DoorbellStrideTest : public LifecycleTest, public ::testing::WithParamInterface<int> {};

TEST_P(DoorbellStrideTest, QueuesWorkWithStride) {
  DriverOptions o = SmallOptions();
  o.controller.dstrd = static_cast<uint8_t>(GetParam());
  o.controller.max_io_queues = 4;
  ASSERT_TRUE(Start(o));
  EXPECT_EQ((Cap() >> 32) & 0xf, static_cast<uint64_t>(GetParam()));
  EXPECT_EQ(DoorbellStride(), 4u << GetParam());
  for (uint16_t qid = 1; qid <= 4; ++qid) {
    IoQueue* q = MakeQueue(qid, 16);
    ASSERT_NE(q, nullptr);
    // More commands than entries: the SQ tail and CQ head doorbells wrap.
    for (int i = 0; i < 20; ++i) {
      ASSERT_EQ(RoundTrip(q, 1, qid * 100 + i, 1, 512, qid), "") << "qid " << qid << " i " << i;
    }
  }
}

TEST_P(DoorbellStrideTest, HighestQueueIdDoorbell) {
  // The last doorbell pair sits at 1000h + (2 * 64 + 1) * stride, right below the MSI-X table.
  DriverOptions o = SmallOptions();
  o.controller.dstrd = static_cast<uint8_t>(GetParam());
  ASSERT_TRUE(Start(o));
  IoQueue* q = MakeQueue(64, 8);
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 12; ++i) ASSERT_EQ(RoundTrip(q, 1, i, 1, 512, 64), "") << i;
}

INSTANTIATE_TEST_SUITE_P(Dstrd, DoorbellStrideTest, ::testing::Values(0, 1, 3));

// With DSTRD > 0 only the first dword of each stride is a doorbell.
class WideStrideTest : public LifecycleTest, public ::testing::WithParamInterface<int> {};

TEST_P(WideStrideTest, WriteInsideStrideIsNotADoorbell) {
  DriverOptions o = SmallOptions();
  o.controller.dstrd = static_cast<uint8_t>(GetParam());
  ASSERT_TRUE(Start(o));
  RawQueue aq(dev(), drv().dma(), 1, 8);
  ASSERT_TRUE(aq.ok());
  ASSERT_SUCCESS(Admin(CreateCqCmd(1, 7, aq.cq_addr(), true, true, 1)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(1, 7, aq.sq_addr(), 1)));
  // Place a command, but write the tail 4 bytes past the SQ 1 tail doorbell (inside its stride).
  aq.Submit(Cmd(io::kFlush, 1), /*ring=*/false);
  dev().MmioWrite(aq.sq_doorbell() + 4, 4, 1);
  std::this_thread::sleep_for(kQuiet);
  EXPECT_FALSE(aq.Peek().has_value()) << "a write inside the stride rang the doorbell";
  aq.Ring();
  auto c = aq.Wait();
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(StatusOf(*c).ok());
}

INSTANTIATE_TEST_SUITE_P(Dstrd, WideStrideTest, ::testing::Values(1, 3));

// ---- Enable (3.5.1) ----

TEST_F(LifecycleTest, EnableSetsReady) {
  ASSERT_TRUE(Create());
  EXPECT_EQ(Csts() & kCstsRdy, 0u) << "RDY before enable";
  EXPECT_EQ(Cc() & kCcEn, 0u);
  RawQueue aq(dev(), drv().dma(), 0, 8);
  ASSERT_TRUE(aq.ok());
  uint32_t csts = RawEnable(7 | (7u << 16), aq.sq_addr(), aq.cq_addr(), kCcEn | kCcIoqes);
  EXPECT_EQ(csts & (kCstsRdy | kCstsCfs), kCstsRdy);
  // The admin queue works: Identify Controller through the raw admin queue.
  DmaBuffer id = Alloc(4096);
  Sqe s = IdentifyCmd(1);
  s.prp1 = id.addr;
  auto c = aq.Execute(s);
  ASSERT_SUCCESS(c);
  EXPECT_EQ(c->sqid, 0);
  EXPECT_EQ(c->sqhd, 1);
  nvme_id_ctrl ctrl;
  std::memcpy(&ctrl, id.ptr, sizeof(ctrl));
  EXPECT_EQ(ctrl.vid, drv().options().controller.vendor_id);
}

TEST_F(LifecycleTest, EnableFailsWithMpsAboveMax) {
  DriverOptions o = SmallOptions();
  o.controller.mpsmax = 1;
  ASSERT_TRUE(Create(o));
  DmaBuffer asq = Alloc(4096, 16384), acq = Alloc(4096, 16384);
  ExpectEnableFails(7 | (7u << 16), asq.addr, acq.addr, kCcIoqes | CcMps(2));
}

TEST_F(LifecycleTest, EnableFailsWithMpsBelowMin) {
  DriverOptions o = SmallOptions();
  o.controller.mpsmin = 1;
  o.mps = 1;
  ASSERT_TRUE(Create(o));
  DmaBuffer asq = Alloc(8192, 8192), acq = Alloc(8192, 8192);
  ExpectEnableFails(7 | (7u << 16), asq.addr, acq.addr, kCcIoqes | CcMps(0));
}

TEST_F(LifecycleTest, EnableFailsWithAsqsZero) {
  ASSERT_TRUE(Create());
  DmaBuffer asq = Alloc(4096), acq = Alloc(4096);
  ExpectEnableFails(0 | (7u << 16), asq.addr, acq.addr, kCcIoqes);
}

TEST_F(LifecycleTest, EnableFailsWithAcqsZero) {
  ASSERT_TRUE(Create());
  DmaBuffer asq = Alloc(4096), acq = Alloc(4096);
  ExpectEnableFails(7, asq.addr, acq.addr, kCcIoqes);
}

TEST_F(LifecycleTest, EnableFailsWithAsqZero) {
  ASSERT_TRUE(Create());
  DmaBuffer acq = Alloc(4096);
  ExpectEnableFails(7 | (7u << 16), 0, acq.addr, kCcIoqes);
}

TEST_F(LifecycleTest, EnableFailsWithAcqNotPageAligned) {
  // With 8 KiB pages (CC.MPS=1) a 4 KiB aligned ACQ is not page aligned (3.1.3.10).
  ASSERT_TRUE(Create());
  DmaBuffer asq = Alloc(8192, 8192), acq = Alloc(16384, 8192);
  ExpectEnableFails(7 | (7u << 16), asq.addr, acq.addr + 4096, kCcIoqes | CcMps(1));
}

TEST_F(LifecycleTest, EnableFailsWithUnsupportedCss) {
  ASSERT_TRUE(Create());
  DmaBuffer asq = Alloc(4096), acq = Alloc(4096);
  // CC.CSS=111b (Admin Command Set only) needs CAP.CSS bit 44, which is not set.
  ASSERT_EQ((Cap() >> 44) & 1, 0u);
  ExpectEnableFails(7 | (7u << 16), asq.addr, acq.addr, kCcIoqes | CcCss(7));
}

TEST_F(LifecycleTest, EnableFailsWithReservedAms) {
  ASSERT_TRUE(Create());
  DmaBuffer asq = Alloc(4096), acq = Alloc(4096);
  // AMS 010b..110b are reserved; 111b is vendor specific and CAP.AMS bit 18 is not set.
  ASSERT_EQ((Cap() >> 18) & 1, 0u);
  ExpectEnableFails(7 | (7u << 16), asq.addr, acq.addr, kCcIoqes | CcAms(7));
  ExpectEnableFails(7 | (7u << 16), asq.addr, acq.addr, kCcIoqes | CcAms(2));
}

TEST_F(LifecycleTest, AdminQueuesMayExceedMqes) {
  // MQES limits I/O queues only; admin queues hold up to 4096 entries (3.1.3.8 AQA).
  DriverOptions o = SmallOptions();
  o.controller.mqes = 63;
  o.admin_entries = 4096;
  ASSERT_TRUE(Start(o));
  EXPECT_EQ(Reg32(regs::kAqa), 0x0fff0fffu);
  for (int i = 0; i < 100; ++i) ASSERT_OK(drv().IdentifyController()) << i;
}

// Weighted round robin with urgent priority class (3.4.4.2): every priority class is served.
TEST_F(LifecycleTest, WeightedRoundRobinServesEveryPriority) {
  ASSERT_TRUE(Create());
  RawQueue aq(dev(), drv().dma(), 0, 32);
  ASSERT_TRUE(aq.ok());
  uint32_t csts =
      RawEnable(31 | (31u << 16), aq.sq_addr(), aq.cq_addr(), kCcEn | kCcIoqes | CcAms(1));
  ASSERT_EQ(csts & (kCstsRdy | kCstsCfs), kCstsRdy);
  EXPECT_EQ((Cc() >> 11) & 7, 1u) << "CC.AMS";
  // Four SQs, one per priority class, sharing one CQ of 64 entries.
  RawQueue cq(dev(), drv().dma(), 1, 64);
  ASSERT_SUCCESS(aq.Execute(CreateCqCmd(1, 63, cq.cq_addr(), true, true, 1)));
  std::vector<std::unique_ptr<RawQueue>> sqs;
  for (uint16_t qid = 1; qid <= 4; ++qid) {
    sqs.push_back(std::make_unique<RawQueue>(dev(), drv().dma(), qid, 16));
    ASSERT_SUCCESS(aq.Execute(
        CreateSqCmd(qid, 15, sqs.back()->sq_addr(), 1, true, static_cast<uint8_t>(qid - 1))));
  }
  // 15 commands in each SQ, rung at once; the shared CQ receives all 60.
  for (auto& q : sqs) {
    for (int i = 0; i < 15; ++i) q->Submit(Cmd(io::kFlush, 1), false);
  }
  for (auto& q : sqs) q->Ring();
  std::map<uint16_t, int> per_sq;
  int total = 0;
  ASSERT_TRUE(WaitUntil([&] {
    while (auto c = cq.Peek()) {
      EXPECT_TRUE(StatusOf(*c).ok()) << StatusOf(*c).ToString();
      ++per_sq[c->sqid];
      ++total;
      cq.Consume();
    }
    return total == 60;
  })) << "completed "
      << total << " of 60";
  for (uint16_t qid = 1; qid <= 4; ++qid) EXPECT_EQ(per_sq[qid], 15) << "SQ " << qid;
}

// ---- Controller reset: CC.EN 1 -> 0 (3.7.2) ----

TEST_F(LifecycleTest, DisableClearsReadyAndDeletesIoQueues) {
  ASSERT_TRUE(Start());
  RawQueue old(dev(), drv().dma(), 1, 16);
  ASSERT_TRUE(old.ok());
  ASSERT_SUCCESS(Admin(CreateCqCmd(1, old.qsize(), old.cq_addr(), true, true, 1)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(1, old.qsize(), old.sq_addr(), 1)));
  ASSERT_SUCCESS(old.Execute(Cmd(io::kFlush, 1)));

  WriteReg32(regs::kCc, Cc() & ~kCcEn);
  ASSERT_TRUE(WaitCsts(kCstsRdy, 0)) << "CSTS.RDY did not clear";
  EXPECT_EQ(Csts() & kCstsCfs, 0u);
  ASSERT_OK(drv().Enable());

  // The old SQ 1 no longer exists: its doorbell is invalid and nothing is fetched from it.
  old.Submit(Cmd(io::kFlush, 1));
  std::this_thread::sleep_for(kQuiet);
  EXPECT_FALSE(old.Peek().has_value()) << "a deleted SQ was processed after the reset";
  // Admin still works, and qid 1 can be created again.
  ASSERT_OK(drv().IdentifyController());
  RawQueue fresh(dev(), drv().dma(), 1, 16);
  ASSERT_SUCCESS(Admin(CreateCqCmd(1, fresh.qsize(), fresh.cq_addr(), true, true, 1)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(1, fresh.qsize(), fresh.sq_addr(), 1)));
  EXPECT_SUCCESS(fresh.Execute(Cmd(io::kFlush, 1)));
}

TEST_F(LifecycleTest, DisableResetsNumberOfQueuesAllocation) {
  ASSERT_TRUE(Start());
  ASSERT_OK(drv().SetNumberOfQueues(2, 2));
  ASSERT_OK(drv().Disable());
  ASSERT_OK(drv().Enable());
  // After a Controller Level Reset the allocation is back to the default (5.27.1.7: the value
  // persists only until a reset).
  EXPECT_NE(MakeQueue(5, 8), nullptr);
}

// ---- Shutdown (3.6) ----

class ShutdownTest : public LifecycleTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ShutdownTest, ShutdownCompletesAndStopsProcessing) {
  const bool abrupt = GetParam();
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(RoundTrip(q, 1, 0, 8, 512, 42), "");

  uint32_t cc = Cc();
  WriteReg32(regs::kCc, (cc & ~CcShn(3)) | CcShn(abrupt ? 2 : 1));
  ASSERT_TRUE(WaitCsts(kCstsShstMask, kCstsShstComplete)) << "CSTS.SHST did not become 10b";

  // Commands are no longer processed (admin or I/O) until the controller is reset.
  auto admin_cid = drv().admin_queue().Submit(IdentifyCmd(1));
  ASSERT_OK(admin_cid);
  EXPECT_FALSE(drv().admin_queue().Wait(*admin_cid, kQuiet).ok()) << "admin command completed";
  auto io_cid = q->Submit(Cmd(io::kFlush, 1));
  ASSERT_OK(io_cid);
  EXPECT_FALSE(q->Wait(*io_cid, kQuiet).ok()) << "I/O command completed after shutdown";

  // Reset, re-enable: SHST back to 00b, data written before the shutdown is still there.
  ASSERT_OK(drv().Disable());
  EXPECT_EQ(Csts() & kCstsShstMask, 0u);
  ASSERT_OK(drv().Enable());
  q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  DmaBuffer r = Alloc(4096);
  ASSERT_SUCCESS(Exec(q, ReadCmd(1, 0, 8), &r, 4096));
  EXPECT_EQ(CheckPattern(r.ptr, 4096, 42, 0), -1);
}

INSTANTIATE_TEST_SUITE_P(Shn, ShutdownTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Abrupt" : "Normal"; });

// ---- NVM Subsystem Reset (3.1.3.7, 3.7.1) ----

TEST_F(LifecycleTest, NssrResetsSubsystem) {
  ASSERT_TRUE(Start());
  ASSERT_NE(MakeQueue(1, 16), nullptr);
  EXPECT_EQ(Csts() & kCstsNssro, 0u);
  WriteReg32(regs::kNssr, kNssrReset);
  ASSERT_TRUE(WaitCsts(kCstsRdy, 0)) << "RDY not cleared by NSSR";
  EXPECT_NE(Csts() & kCstsNssro, 0u) << "NSSRO not set";
  EXPECT_EQ(Cc() & kCcEn, 0u) << "CC.EN not reset";
  EXPECT_EQ(Reg32(regs::kNssr), 0u) << "NSSR reads 0";

  // NSSRO is RW1C: writing 0 keeps it, writing 1 clears it.
  WriteReg32(regs::kCsts, 0);
  EXPECT_NE(Csts() & kCstsNssro, 0u);
  WriteReg32(regs::kCsts, kCstsNssro);
  EXPECT_EQ(Csts() & kCstsNssro, 0u);

  // The controller comes back; queue 1 was deleted and can be created again.
  ASSERT_OK(drv().Enable());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 5, 4, 512, 3), "");
}

TEST_F(LifecycleTest, NssrOtherValuesIgnored) {
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  for (uint32_t v : {0u, 1u, 0x654D564Eu, 0x4E564D64u, 0xFFFFFFFFu}) {
    WriteReg32(regs::kNssr, v);
    EXPECT_EQ(Csts() & (kCstsRdy | kCstsNssro | kCstsCfs), kCstsRdy) << std::hex << v;
  }
  EXPECT_EQ(RoundTrip(q, 1, 5, 4, 512, 3), "");
}

// ---- Register access semantics (3.1.3) ----

TEST_F(LifecycleTest, CapAndVsAreReadOnly) {
  ASSERT_TRUE(Create());
  uint64_t cap = Cap();
  uint32_t vs = Reg32(regs::kVs);
  WriteReg32(regs::kCap, 0);
  WriteReg32(regs::kCap + 4, 0);
  dev().MmioWrite(regs::kCap, 8, ~0ull);
  WriteReg32(regs::kVs, 0x00010400);
  EXPECT_EQ(Cap(), cap);
  EXPECT_EQ(Reg32(regs::kVs), vs);
}

TEST_F(LifecycleTest, IntmsIsRw1sIntmcIsRw1c) {
  DriverOptions o = SmallOptions();
  o.interrupts = InterruptMode::kIntx;  // INTMS/INTMC are for pin-based / MSI interrupts
  ASSERT_TRUE(Start(o));
  EXPECT_EQ(Reg32(regs::kIntms), 0u);
  WriteReg32(regs::kIntms, 0x5);
  EXPECT_EQ(Reg32(regs::kIntms), 0x5u);
  EXPECT_EQ(Reg32(regs::kIntmc), 0x5u) << "INTMC reads the mask";
  WriteReg32(regs::kIntms, 0x2);  // setting more bits keeps the others
  EXPECT_EQ(Reg32(regs::kIntms), 0x7u);
  WriteReg32(regs::kIntms, 0);  // writing 0 has no effect
  EXPECT_EQ(Reg32(regs::kIntms), 0x7u);
  WriteReg32(regs::kIntmc, 0x1);
  EXPECT_EQ(Reg32(regs::kIntms), 0x6u);
  EXPECT_EQ(Reg32(regs::kIntmc), 0x6u);
  WriteReg32(regs::kIntmc, 0);
  EXPECT_EQ(Reg32(regs::kIntmc), 0x6u);
  WriteReg32(regs::kIntmc, 0xffffffff);
  EXPECT_EQ(Reg32(regs::kIntms), 0u);
}

TEST_F(LifecycleTest, ReservedOffsetsReadZero) {
  ASSERT_TRUE(Start());
  for (uint32_t off : {0x18u, 0x70u, 0x400u, 0xdfcu}) {
    WriteReg32(off, 0xffffffff);
    EXPECT_EQ(Reg32(off), 0u) << "offset " << std::hex << off;
  }
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
  EXPECT_OK(drv().IdentifyController());
}

TEST_F(LifecycleTest, SubDwordWritesToCcAreDropped) {
  ASSERT_TRUE(Start());
  uint32_t cc = Cc();
  ASSERT_EQ(cc & kCcEn, 1u);
  dev().MmioWrite(regs::kCc, 1, 0);  // would clear EN
  EXPECT_EQ(Cc(), cc);
  dev().MmioWrite(regs::kCc, 2, 0);
  EXPECT_EQ(Cc(), cc);
  dev().MmioWrite(regs::kCc + 1, 1, 0xff);
  EXPECT_EQ(Cc(), cc);
  EXPECT_EQ(Csts() & kCstsRdy, kCstsRdy);
  EXPECT_OK(drv().IdentifyController());
}

TEST_F(LifecycleTest, AdminQueueBaseRegisters64BitAccess) {
  ASSERT_TRUE(Create());
  const uint64_t asq = 0x0000'0012'3456'7000ull, acq = 0x0000'00ab'cdef'1000ull;
  dev().MmioWrite(regs::kAsq, 8, asq);
  dev().MmioWrite(regs::kAcq, 8, acq);
  EXPECT_EQ(Reg64(regs::kAsq), asq);
  EXPECT_EQ(Reg64(regs::kAcq), acq);
  EXPECT_EQ(Reg32(regs::kAsq), static_cast<uint32_t>(asq));
  EXPECT_EQ(Reg32(regs::kAsq + 4), static_cast<uint32_t>(asq >> 32));
  // Two dword writes, high first, are equivalent.
  WriteReg32(regs::kAcq + 4, 0x1);
  WriteReg32(regs::kAcq, 0x2000);
  EXPECT_EQ(Reg64(regs::kAcq), 0x1'0000'2000ull);
  // Bits 11:0 are reserved.
  dev().MmioWrite(regs::kAsq, 8, 0x5000 | 0xfff);
  EXPECT_EQ(Reg64(regs::kAsq), 0x5000u);
}

TEST_F(LifecycleTest, ReadOnlyAndReservedBitsOfWritableRegisters) {
  ASSERT_TRUE(Start());
  // CSTS: only NSSRO is writable (RW1C); RDY, CFS, SHST, PP are read-only.
  uint32_t csts = Csts();
  WriteReg32(regs::kCsts, ~kCstsNssro);
  EXPECT_EQ(Csts(), csts);
  // AQA: bits 31:28 and 15:12 are reserved.
  ASSERT_OK(drv().Disable());
  WriteReg32(regs::kAqa, 0xffffffff);
  EXPECT_EQ(Reg32(regs::kAqa), 0x0fff0fffu);
  // CC: bits 3:1 are reserved; writing them has no effect.
  WriteReg32(regs::kCc, 0xe);
  EXPECT_EQ(Cc() & 0xe, 0u);
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), 0u);
  ASSERT_OK(drv().Enable());
}

TEST_F(LifecycleTest, Bar0CoversRegistersDoorbellsAndMsix) {
  ASSERT_TRUE(Create());
  // BAR sizing (PCI Local Bus 3.0, 6.2.5.1): write all ones, read back the size mask.
  uint32_t cmd = dev().ConfigRead(pci::kCommand, 2);
  dev().ConfigWrite(pci::kCommand, 2, 0);
  uint32_t lo = dev().ConfigRead(0x10, 4), hi = dev().ConfigRead(0x14, 4);
  dev().ConfigWrite(0x10, 4, 0xffffffff);
  dev().ConfigWrite(0x14, 4, 0xffffffff);
  uint64_t mask = (uint64_t{dev().ConfigRead(0x14, 4)} << 32) | (dev().ConfigRead(0x10, 4) & ~0xfu);
  dev().ConfigWrite(0x10, 4, lo);
  dev().ConfigWrite(0x14, 4, hi);
  dev().ConfigWrite(pci::kCommand, 2, cmd);
  EXPECT_EQ(lo & 0x7, 0x4u) << "64-bit memory BAR";
  uint64_t size = ~mask + 1;
  EXPECT_EQ(size, dev().Bar0Size());
  EXPECT_GE(size, 16384u);
  const uint32_t vectors = drv().options().controller.msix_vectors;
  const uint64_t doorbells_end =
      0x1000 + 2ull * (drv().options().controller.max_io_queues + 1) * DoorbellStride();
  EXPECT_GE(dev().MsixTableOffset(), doorbells_end) << "MSI-X table overlaps the doorbells";
  EXPECT_LE(dev().MsixTableOffset() + 16ull * vectors, size);
  EXPECT_LE(dev().MsixPbaOffset() + (vectors + 63) / 64 * 8ull, size);
  uint16_t msix = FindCapability(pci::kCapIdMsix);
  ASSERT_NE(msix, 0);
  EXPECT_EQ(dev().ConfigRead(msix + 4, 4), dev().MsixTableOffset()) << "Table Offset/BIR 0";
  EXPECT_EQ(dev().ConfigRead(msix + 8, 4), dev().MsixPbaOffset()) << "PBA Offset/BIR 0";
  EXPECT_EQ((dev().ConfigRead(msix + 2, 2) & 0x7ffu) + 1, vectors) << "Table Size";
}

TEST_F(LifecycleTest, CcCssMpsAmsFrozenWhileEnabled) {
  ASSERT_TRUE(Start());
  uint32_t cc = Cc();
  ASSERT_EQ(cc & (CcCss(7) | CcMps(15) | CcAms(7)), 0u);
  WriteReg32(regs::kCc, cc | CcMps(1) | CcAms(1) | CcCss(7));
  EXPECT_EQ(Cc() & (CcCss(7) | CcMps(15) | CcAms(7)), 0u) << "CSS/MPS/AMS changed while EN=1";
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
  EXPECT_OK(drv().IdentifyController());
}

TEST_F(LifecycleTest, Bar0ReadsAllOnesWithoutMemorySpaceEnable) {
  ASSERT_TRUE(Start());
  uint32_t cmd = dev().ConfigRead(pci::kCommand, 2);
  dev().ConfigWrite(pci::kCommand, 2, cmd & ~pci::kCmdMemory);
  EXPECT_EQ(Reg32(regs::kCsts), 0xffffffffu);
  EXPECT_EQ(Reg64(regs::kCap), ~0ull);
  EXPECT_EQ(dev().MmioRead(regs::kVs, 1), 0xffu);
  EXPECT_EQ(dev().MmioRead(regs::kVs, 2), 0xffffu);
  WriteReg32(regs::kCc, 0);  // dropped: the BAR is not decoded
  dev().ConfigWrite(pci::kCommand, 2, cmd);
  EXPECT_EQ(Csts() & kCstsRdy, kCstsRdy) << "a write reached CC while memory space was disabled";
  EXPECT_EQ(Reg32(regs::kVs), 0x00020000u);
  EXPECT_OK(drv().IdentifyController());
}

TEST_F(LifecycleTest, D3hotAndBackKeepsControllerState) {
  // PCI PM 1.2, 5.4.1: in D3hot only configuration accesses are decoded; with No_Soft_Reset set
  // (PMCSR bit 3) the return to D0 keeps the function's state, so queues survive.
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(RoundTrip(q, 1, 0, 8, 512, 1), "");
  uint16_t pm = FindCapability(0x01);
  ASSERT_NE(pm, 0);
  uint32_t pmcsr = dev().ConfigRead(pm + 4, 2);
  ASSERT_NE(pmcsr & (1u << 3), 0u) << "No_Soft_Reset";
  dev().ConfigWrite(pm + 4, 2, (pmcsr & ~3u) | 3);
  EXPECT_EQ(dev().ConfigRead(pm + 4, 2) & 3, 3u);
  EXPECT_EQ(Reg32(regs::kCsts), 0xffffffffu) << "BAR0 decoded in D3hot";
  dev().ConfigWrite(pm + 4, 2, pmcsr & ~3u);
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
  EXPECT_EQ(RoundTrip(q, 1, 8, 8, 512, 2), "");
}

TEST_F(LifecycleTest, FunctionLevelResetReturnsToResetState) {
  ASSERT_TRUE(Start());
  ASSERT_NE(MakeQueue(1, 16), nullptr);
  uint16_t pcie = FindCapability(pci::kCapIdPcie);
  ASSERT_NE(pcie, 0);
  // Device Capabilities bit 28: Function Level Reset Capability.
  ASSERT_NE(dev().ConfigRead(pcie + 4, 4) & (1u << 28), 0u);
  uint16_t devctl = static_cast<uint16_t>(dev().ConfigRead(pcie + 8, 2));
  dev().ConfigWrite(pcie + 8, 2, devctl | pci::kDevCtlInitiateFlr);

  EXPECT_EQ(dev().ConfigRead(pcie + 8, 2) & pci::kDevCtlInitiateFlr, 0u) << "Initiate FLR reads 0";
  EXPECT_EQ(dev().ConfigRead(pci::kCommand, 2) & (pci::kCmdMemory | pci::kCmdBusMaster), 0u);
  EXPECT_EQ(Reg32(regs::kCsts), 0xffffffffu) << "BAR0 decoded after FLR";
  uint16_t msix = FindCapability(pci::kCapIdMsix);
  ASSERT_NE(msix, 0);
  EXPECT_EQ(dev().ConfigRead(msix + 2, 2) & pci::kMsixEnable, 0u) << "MSI-X still enabled";

  dev().ConfigWrite(pci::kCommand, 2, pci::kCmdMemory | pci::kCmdBusMaster);
  EXPECT_EQ(Cc(), 0u);
  EXPECT_EQ(Csts(), 0u);
  EXPECT_EQ(Reg32(regs::kAqa), 0u);
  EXPECT_EQ(Reg64(regs::kAsq), 0u);
  EXPECT_EQ(Reg64(regs::kAcq), 0u);
  EXPECT_EQ(Reg32(regs::kIntms), 0u);
  // MSI-X table entries are masked again (PCIe Base 4.0, 7.7.2.5 reset value).
  EXPECT_EQ(dev().MmioRead(dev().MsixTableOffset() + 12, 4) & 1, 1u);

  ASSERT_NO_FATAL_FAILURE(Reenumerate());
  ASSERT_OK(drv().Enable());
  IoQueue* q = MakeQueue(1, 16);  // qid 1 was deleted by the reset
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 0, 8, 512, 9), "");
}

// ---- Resets while host threads keep submitting I/O ----
//
// The reset must complete (CSTS.RDY=0 or SHST=10b within CAP.TO) even though other host threads
// keep ringing doorbells of the queues it deletes, and the controller must work afterwards.

enum class ResetKind { kControllerReset, kShutdown, kSubsystemReset, kFunctionLevelReset };

class ResetUnderLoadTest : public LifecycleTest, public ::testing::WithParamInterface<ResetKind> {};

TEST_P(ResetUnderLoadTest, ResetCompletesAndControllerRecovers) {
  DriverOptions o = SmallOptions();
  o.controller.io_reactors = 2;
  ASSERT_TRUE(Start(o));
  constexpr int kThreads = 3;
  std::vector<std::unique_ptr<RawQueue>> qs;
  std::vector<DmaBuffer> bufs;
  for (uint16_t qid = 1; qid <= kThreads; ++qid) {
    qs.push_back(std::make_unique<RawQueue>(dev(), drv().dma(), qid, 32));
    ASSERT_SUCCESS(Admin(CreateCqCmd(qid, 31, qs.back()->cq_addr(), true, true, qid)));
    ASSERT_SUCCESS(Admin(CreateSqCmd(qid, 31, qs.back()->sq_addr(), qid)));
    bufs.push_back(Alloc(8192));
  }
  std::atomic<bool> stop{false};
  std::atomic<int> completed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RawQueue& q = *qs[t];
      for (uint64_t i = 0; !stop.load(); ++i) {
        Sqe s = (i & 1) ? ReadCmd(1, 64 * t, 16) : WriteCmd(1, 64 * t, 16);
        s.prp1 = bufs[t].addr;
        s.prp2 = bufs[t].addr + 4096;
        q.Submit(s);
        if (q.Wait(std::chrono::milliseconds(2))) completed.fetch_add(1);
      }
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return completed.load() > 200; })) << "no I/O before the reset";
  const auto timeout = std::chrono::milliseconds(500 * ((Cap() >> 24) & 0xff));
  uint16_t pcie = FindCapability(pci::kCapIdPcie);
  switch (GetParam()) {
    case ResetKind::kControllerReset:
      WriteReg32(regs::kCc, Cc() & ~kCcEn);
      EXPECT_TRUE(WaitCsts(kCstsRdy, 0, timeout)) << "CSTS.RDY did not clear";
      break;
    case ResetKind::kShutdown:
      WriteReg32(regs::kCc, Cc() | CcShn(1));
      EXPECT_TRUE(WaitCsts(kCstsShstMask, kCstsShstComplete, timeout)) << "SHST not 10b";
      break;
    case ResetKind::kSubsystemReset:
      WriteReg32(regs::kNssr, kNssrReset);
      EXPECT_TRUE(WaitCsts(kCstsRdy | kCstsNssro, kCstsNssro, timeout));
      break;
    case ResetKind::kFunctionLevelReset:
      dev().ConfigWrite(pcie + 8, 2,
                        dev().ConfigRead(pcie + 8, 2) | uint32_t{pci::kDevCtlInitiateFlr});
      break;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // doorbells keep coming
  stop.store(true);
  for (auto& th : threads) th.join();
  if (GetParam() == ResetKind::kFunctionLevelReset) {
    ASSERT_NO_FATAL_FAILURE(Reenumerate());
    EXPECT_EQ(Csts() & kCstsRdy, 0u);
  }
  ASSERT_OK(drv().Enable());
  IoQueue* q = MakeQueue(1, 16);  // qid 1 was deleted by the reset
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 4096, 16, 512, 77), "");
  EXPECT_EQ(Csts() & kCstsCfs, 0u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ResetUnderLoadTest,
                         ::testing::Values(ResetKind::kControllerReset, ResetKind::kShutdown,
                                           ResetKind::kSubsystemReset,
                                           ResetKind::kFunctionLevelReset),
                         [](const auto& info) {
                           switch (info.param) {
                             case ResetKind::kControllerReset:
                               return "ControllerReset";
                             case ResetKind::kShutdown:
                               return "Shutdown";
                             case ResetKind::kSubsystemReset:
                               return "SubsystemReset";
                             default:
                               return "FunctionLevelReset";
                           }
                         });

}  // namespace
}  // namespace nvemu::conformance
