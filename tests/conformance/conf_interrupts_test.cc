// Interrupts of the NVMe function: MSI-X per-vector delivery, masking and the Pending Bit Array
// (PCIe Base 4.0, 6.1.4 and 7.7.2), pin-based INTx with INTMS/INTMC (NVMe Base 2.0, 3.1.3.3/3.1.3.4
// and the NVMe over PCIe interrupt rules), and polled queues (CDW11.IEN = 0, NVMe Base 2.0, 5.4).
#include "fixture.h"

namespace nvemu::conformance {
namespace {

using namespace std::chrono_literals;

class InterruptsTest : public ConformanceTest {
 protected:
  uint64_t Count(uint16_t v) { return drv().interrupts().count(v); }
  uint64_t TableOffset(uint16_t v) { return dev().MsixTableOffset() + 16ull * v; }
  void MaskVector(uint16_t v, bool mask) { dev().MmioWrite(TableOffset(v) + 12, 4, mask ? 1 : 0); }
  bool PbaBit(uint16_t v) {
    return (dev().MmioRead(dev().MsixPbaOffset() + 8 * (v / 64), 8) >> (v % 64)) & 1;
  }
  bool Intx() { return drv().interrupts().intx_asserted(); }
  bool InterruptStatus() { return dev().ConfigRead(pci::kStatus, 2) & pci::kStsInterrupt; }
};

// ---- MSI-X ----

TEST_F(InterruptsTest, MsixEachQueueSignalsItsOwnVector) {
  ASSERT_TRUE(Start());
  uint16_t msix = FindCapability(pci::kCapIdMsix);
  ASSERT_NE(msix, 0);
  EXPECT_NE(dev().ConfigRead(msix + 2, 2) & pci::kMsixEnable, 0u);
  std::vector<IoQueue*> qs;
  for (uint16_t qid = 1; qid <= 8; ++qid) {
    qs.push_back(MakeQueue(qid, 16));
    ASSERT_NE(qs.back(), nullptr);
    ASSERT_EQ(qs.back()->vector(), qid);
  }
  for (IoQueue* q : qs) {
    std::vector<uint64_t> before;
    for (uint16_t v = 0; v <= 9; ++v) before.push_back(Count(v));
    ASSERT_SUCCESS(Exec(q, Cmd(io::kFlush, 1)));
    ASSERT_TRUE(WaitUntil([&] { return Count(q->vector()) > before[q->vector()]; }))
        << "vector " << q->vector() << " got no message";
    for (uint16_t v = 0; v <= 9; ++v) {
      if (v == q->vector()) continue;
      EXPECT_EQ(Count(v), before[v]) << "vector " << v << " fired";
    }
  }
  // The admin queue uses vector 0.
  uint64_t admin = Count(0);
  ASSERT_OK(drv().IdentifyController());
  EXPECT_TRUE(WaitUntil([&] { return Count(0) > admin; }));
}

TEST_F(InterruptsTest, MsixTableEntriesReadBack) {
  ASSERT_TRUE(Start());
  // What the host library programmed at enumeration: address, data = vector, unmasked.
  for (uint16_t v : {0, 1, 64}) {
    EXPECT_EQ(dev().MmioRead(TableOffset(v), 4), kMsiAddress & 0xffffffff) << v;
    EXPECT_EQ(dev().MmioRead(TableOffset(v) + 4, 4), 0u) << v;
    EXPECT_EQ(dev().MmioRead(TableOffset(v) + 8, 4), v) << v;
    EXPECT_EQ(dev().MmioRead(TableOffset(v) + 12, 4) & 1, 0u) << v;
  }
}

TEST_F(InterruptsTest, CqWithInterruptsDisabledSendsNoMessage) {
  ASSERT_TRUE(Start());
  RawQueue q(dev(), drv().dma(), 1, 16);
  ASSERT_SUCCESS(Admin(CreateCqCmd(1, q.qsize(), q.cq_addr(), true, /*ien=*/false, 5)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(1, q.qsize(), q.sq_addr(), 1)));
  uint64_t before = Count(5);
  for (int i = 0; i < 5; ++i) ASSERT_SUCCESS(q.Execute(Cmd(io::kFlush, 1)));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Count(5), before);
  EXPECT_FALSE(PbaBit(5));
}

TEST_F(InterruptsTest, VectorsSharedByQueues) {
  DriverOptions o = SmallOptions();
  o.controller.msix_vectors = 3;
  ASSERT_TRUE(Start(o));
  // qid % 3: queues 1 and 4 share vector 1, 2 and 5 vector 2, 3 and 6 vector 0 with admin.
  for (uint16_t qid = 1; qid <= 6; ++qid) {
    IoQueue* q = MakeQueue(qid, 8);
    ASSERT_NE(q, nullptr);
    ASSERT_EQ(q->vector(), qid % 3);
    uint64_t before = Count(q->vector());
    ASSERT_SUCCESS(Exec(q, Cmd(io::kFlush, 1)));
    EXPECT_TRUE(WaitUntil([&] { return Count(q->vector()) > before; })) << "qid " << qid;
  }
}

TEST_F(InterruptsTest, MaskedVectorSetsPendingBitAndUnmaskDelivers) {
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_SUCCESS(Exec(q, Cmd(io::kFlush, 1)));
  ASSERT_TRUE(WaitUntil([&] { return Count(1) > 0; }));
  EXPECT_FALSE(PbaBit(1));

  MaskVector(1, true);
  EXPECT_EQ(dev().MmioRead(TableOffset(1) + 12, 4) & 1, 1u);
  uint64_t before = Count(1);
  ASSERT_SUCCESS(Exec(q, Cmd(io::kFlush, 1)));  // the library falls back to polling
  ASSERT_TRUE(WaitUntil([&] { return PbaBit(1); })) << "pending bit not set for a masked vector";
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Count(1), before) << "a masked vector sent a message";
  // The 32-bit view of the PBA agrees.
  EXPECT_EQ(dev().MmioRead(dev().MsixPbaOffset(), 4) & 2, 2u);
  // The PBA is read-only.
  dev().MmioWrite(dev().MsixPbaOffset(), 8, 0);
  EXPECT_TRUE(PbaBit(1));

  MaskVector(1, false);
  EXPECT_TRUE(WaitUntil([&] { return Count(1) == before + 1; })) << "pending message not sent";
  EXPECT_FALSE(PbaBit(1)) << "pending bit not cleared after delivery";
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Count(1), before + 1) << "delivered more than once";
  // Other vectors were never affected.
  EXPECT_FALSE(PbaBit(0));
  EXPECT_FALSE(PbaBit(2));
}

TEST_F(InterruptsTest, FunctionMaskHoldsMessagesUntilCleared) {
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(3, 16);
  ASSERT_NE(q, nullptr);
  uint16_t msix = FindCapability(pci::kCapIdMsix);
  ASSERT_NE(msix, 0);
  uint16_t control = static_cast<uint16_t>(dev().ConfigRead(msix + 2, 2));
  dev().ConfigWrite(msix + 2, 2, control | pci::kMsixFunctionMask);
  uint64_t before = Count(3);
  ASSERT_SUCCESS(Exec(q, Cmd(io::kFlush, 1)));
  ASSERT_TRUE(WaitUntil([&] { return PbaBit(3); }));
  EXPECT_EQ(Count(3), before);
  dev().ConfigWrite(msix + 2, 2, control & ~pci::kMsixFunctionMask);
  EXPECT_TRUE(WaitUntil([&] { return Count(3) == before + 1; }));
  EXPECT_FALSE(PbaBit(3));
}

// ---- INTx (pin-based) ----

class IntxTest : public InterruptsTest {
 protected:
  void SetUp() override {
    DriverOptions o = SmallOptions();
    o.interrupts = InterruptMode::kIntx;
    ASSERT_TRUE(Start(o));
    uint16_t msix = FindCapability(pci::kCapIdMsix);
    ASSERT_NE(msix, 0);
    ASSERT_EQ(dev().ConfigRead(msix + 2, 2) & pci::kMsixEnable, 0u);
    ASSERT_EQ(dev().ConfigRead(pci::kCommand, 2) & pci::kCmdIntxDisable, 0u);
    q_ = std::make_unique<RawQueue>(dev(), drv().dma(), 1, 16);
    ASSERT_SUCCESS(Admin(CreateCqCmd(1, q_->qsize(), q_->cq_addr(), true, true, 0)));
    ASSERT_SUCCESS(Admin(CreateSqCmd(1, q_->qsize(), q_->sq_addr(), 1)));
    // Admin completions were consumed and their CQ head written: the line is idle.
    ASSERT_TRUE(WaitUntil([&] { return !Intx(); })) << "INTx stuck after admin commands";
  }
  // Submits a Flush and waits until its completion is visible (not consumed).
  void CompleteOne() {
    q_->Submit(Cmd(io::kFlush, 1));
    ASSERT_TRUE(WaitUntil([&] { return q_->Peek().has_value(); }));
  }
  std::unique_ptr<RawQueue> q_;
};

TEST_F(IntxTest, AssertedWhilePendingDeassertedAfterHeadWrite) {
  ASSERT_NO_FATAL_FAILURE(CompleteOne());
  EXPECT_TRUE(WaitUntil([&] { return Intx(); })) << "INTx not asserted with a pending completion";
  EXPECT_TRUE(InterruptStatus()) << "Status.Interrupt Status";
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(Intx()) << "level interrupt dropped before the host consumed the entry";
  // Consuming without writing the CQ head doorbell keeps the line asserted.
  ASSERT_TRUE(q_->Peek().has_value());
  q_->Consume(/*ring=*/false);
  std::this_thread::sleep_for(kQuiet);
  EXPECT_TRUE(Intx()) << "deasserted before the CQ head doorbell write";
  q_->RingHead();
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); })) << "still asserted after the CQ head write";
  EXPECT_FALSE(InterruptStatus());
}

TEST_F(IntxTest, PartialConsumptionKeepsLineAsserted) {
  q_->Submit(Cmd(io::kFlush, 1), false);
  q_->Submit(Cmd(io::kFlush, 1));
  ASSERT_TRUE(WaitUntil([&] { return Intx(); }));
  ASSERT_TRUE(q_->Wait().has_value());  // consumes one, writes the head
  std::this_thread::sleep_for(kQuiet);
  EXPECT_TRUE(Intx()) << "one completion is still unconsumed";
  ASSERT_TRUE(q_->Wait().has_value());
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); }));
}

TEST_F(IntxTest, IntmsMasksAndIntmcUnmasks) {
  ASSERT_NO_FATAL_FAILURE(CompleteOne());
  ASSERT_TRUE(WaitUntil([&] { return Intx(); }));
  WriteReg32(regs::kIntms, 1);  // mask vector 0
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); })) << "INTMS did not mask the interrupt";
  // New completions while masked do not assert the line.
  q_->Submit(Cmd(io::kFlush, 1));
  std::this_thread::sleep_for(kQuiet);
  EXPECT_FALSE(Intx());
  WriteReg32(regs::kIntmc, 1);
  EXPECT_TRUE(WaitUntil([&] { return Intx(); })) << "INTMC did not unmask the pending interrupt";
  ASSERT_TRUE(q_->Wait().has_value());
  ASSERT_TRUE(q_->Wait().has_value());
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); }));
}

TEST_F(IntxTest, CommandIntxDisableGatesThePin) {
  ASSERT_NO_FATAL_FAILURE(CompleteOne());
  ASSERT_TRUE(WaitUntil([&] { return Intx(); }));
  uint32_t cmd = dev().ConfigRead(pci::kCommand, 2);
  dev().ConfigWrite(pci::kCommand, 2, cmd | pci::kCmdIntxDisable);
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); }));
  EXPECT_TRUE(InterruptStatus()) << "Interrupt Status reflects the internal state regardless";
  dev().ConfigWrite(pci::kCommand, 2, cmd);
  EXPECT_TRUE(WaitUntil([&] { return Intx(); }));
  ASSERT_TRUE(q_->Wait().has_value());
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); }));
}

TEST_F(IntxTest, DeassertedAfterHeadWriteWhenCqHasNoSqLeft) {
  // The CQ keeps its pending entry after its only SQ is deleted; consuming it and writing the CQ
  // head doorbell must still drop the line (the interrupt follows the CQ, not the SQ).
  ASSERT_NO_FATAL_FAILURE(CompleteOne());
  ASSERT_TRUE(WaitUntil([&] { return Intx(); }));
  ASSERT_SUCCESS(Admin(DeleteSqCmd(1)));
  EXPECT_TRUE(Intx()) << "the I/O completion is still unconsumed";
  ASSERT_TRUE(q_->Peek().has_value());
  q_->Consume();
  EXPECT_TRUE(WaitUntil([&] { return !Intx(); }))
      << "INTx stays asserted after the host consumed every entry of a CQ without SQs";
}

// ---- Polling (no interrupts) ----

TEST_F(InterruptsTest, PollingModeWorks) {
  DriverOptions o = SmallOptions();
  o.interrupts = InterruptMode::kNone;
  ASSERT_TRUE(Start(o));
  IoQueue* q = MakeQueue(1, 32);
  ASSERT_NE(q, nullptr);
  ASSERT_TRUE(WaitUntil([&] { return !Intx(); }));
  for (int i = 0; i < 50; ++i) ASSERT_EQ(RoundTrip(q, 1, 8 * i, 1 + i % 16, 512, i), "") << i;
  // The I/O CQ was created with IEN=0: a pending completion raises nothing.
  auto cid = q->Submit(Cmd(io::kFlush, 1));
  ASSERT_OK(cid);
  std::this_thread::sleep_for(kQuiet);
  EXPECT_FALSE(Intx()) << "an IEN=0 completion queue raised INTx";
  EXPECT_SUCCESS(q->Wait(*cid, kTimeout));
}

}  // namespace
}  // namespace nvemu::conformance
