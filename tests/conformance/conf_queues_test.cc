// I/O queue management, features and opcode dispatch (NVMe Base 2.0, 5.4 Create I/O Completion
// Queue, 5.5 Create I/O Submission Queue, 5.6/5.7 Delete, 5.15 Get Features, 5.27 Set Features,
// 3.3 Queue Mechanism, 3.1.4 doorbells).
#include <set>

#include "fixture.h"

namespace nvemu::conformance {
namespace {

using namespace std::chrono_literals;

class QueuesTest : public ConformanceTest {
 protected:
  void SetUp() override { ASSERT_TRUE(Start(Options())); }
  virtual DriverOptions Options() { return SmallOptions(); }

  // Page-aligned queue memory for `entries` entries of `entry_size` bytes.
  uint64_t QueueMem(uint32_t entries, uint32_t entry_size) {
    return Alloc(size_t{entries} * entry_size).addr;
  }
  Result<Cqe> CreateCq(uint16_t qid, uint32_t entries = 16, uint16_t iv = 1) {
    return Admin(CreateCqCmd(qid, entries - 1, QueueMem(entries, 16), true, true, iv));
  }
  Result<Cqe> CreateSq(uint16_t qid, uint16_t cqid, uint32_t entries = 16) {
    return Admin(CreateSqCmd(qid, entries - 1, QueueMem(entries, 64), cqid));
  }
};

// ---- Create I/O Completion Queue (5.4) ----

TEST_F(QueuesTest, CreateCqQidZeroIsInvalid) {
  EXPECT_STATUS(CreateCq(0), sc::kInvalidQueueIdentifier);
}

TEST_F(QueuesTest, CreateCqQidAboveAllocatedIsInvalid) {
  auto granted = drv().SetNumberOfQueues(2, 3);
  ASSERT_OK(granted);
  EXPECT_EQ(*granted, 1u | (2u << 16)) << "NSQA/NCQA, 0's based";
  EXPECT_STATUS(CreateCq(4), sc::kInvalidQueueIdentifier);
  EXPECT_STATUS(CreateCq(65), sc::kInvalidQueueIdentifier);  // above max_io_queues too
  EXPECT_SUCCESS(CreateCq(3));
  // SQs are limited by NSQA.
  EXPECT_STATUS(CreateSq(3, 3), sc::kInvalidQueueIdentifier);
  EXPECT_SUCCESS(CreateSq(2, 3));
}

TEST_F(QueuesTest, CreateCqExistingQidIsInvalid) {
  ASSERT_SUCCESS(CreateCq(1));
  EXPECT_STATUS(CreateCq(1), sc::kInvalidQueueIdentifier);
}

TEST_F(QueuesTest, CreateCqQueueSizeLimits) {
  uint32_t mqes = Cap() & 0xffff;
  EXPECT_STATUS(Admin(CreateCqCmd(1, 0, QueueMem(2, 16), true, true, 1)), sc::kInvalidQueueSize);
  EXPECT_STATUS(Admin(CreateCqCmd(1, mqes + 1, QueueMem(mqes + 2, 16), true, true, 1)),
                sc::kInvalidQueueSize);
  EXPECT_STATUS(Admin(CreateCqCmd(1, 0xffff, QueueMem(1, 16), true, true, 1)),
                sc::kInvalidQueueSize);
  EXPECT_SUCCESS(Admin(CreateCqCmd(1, mqes, QueueMem(mqes + 1, 16), true, true, 1)));
}

TEST_F(QueuesTest, CreateCqPrp1ZeroOrUnaligned) {
  EXPECT_STATUS(Admin(CreateCqCmd(1, 15, 0, true, true, 1)), sc::kInvalidPrpOffset);
  uint64_t mem = QueueMem(32, 16);
  EXPECT_STATUS(Admin(CreateCqCmd(1, 15, mem + 0x100, true, true, 1)), sc::kInvalidPrpOffset);
  EXPECT_STATUS(Admin(CreateCqCmd(1, 15, mem + 4, true, true, 1)), sc::kInvalidPrpOffset);
  EXPECT_SUCCESS(Admin(CreateCqCmd(1, 15, mem, true, true, 1)));
}

TEST_F(QueuesTest, CreateCqNonContiguousListEntryWithOffset) {
  // PC=0: PRP1 points to a PRP list of page addresses; an entry with an offset is invalid.
  DmaBuffer list = Alloc(4096), page = Alloc(4096);
  uint64_t entry = page.addr + 0x200;
  std::memcpy(list.ptr, &entry, 8);
  EXPECT_STATUS(Admin(CreateCqCmd(1, 15, list.addr, false, true, 1)), sc::kInvalidPrpOffset);
  entry = page.addr;
  std::memcpy(list.ptr, &entry, 8);
  EXPECT_SUCCESS(Admin(CreateCqCmd(1, 15, list.addr, false, true, 1)));
}

TEST_F(QueuesTest, CreateCqInterruptVectorOutOfRange) {
  DriverOptions o = SmallOptions();
  o.controller.msix_vectors = 8;
  ASSERT_TRUE(Start(o));
  EXPECT_STATUS(CreateCq(1, 16, 8), sc::kInvalidInterruptVector);
  EXPECT_STATUS(CreateCq(1, 16, 0xffff), sc::kInvalidInterruptVector);
  EXPECT_SUCCESS(CreateCq(1, 16, 7));
}

TEST_F(QueuesTest, CreateCqNonZeroVectorWithIntx) {
  DriverOptions o = SmallOptions();
  o.interrupts = InterruptMode::kIntx;
  ASSERT_TRUE(Start(o));
  EXPECT_STATUS(CreateCq(1, 16, 1), sc::kInvalidInterruptVector);
  EXPECT_SUCCESS(CreateCq(1, 16, 0));
}

class CqrQueuesTest : public QueuesTest {
 protected:
  DriverOptions Options() override {
    DriverOptions o = SmallOptions();
    o.controller.cqr = true;
    return o;
  }
};

TEST_F(CqrQueuesTest, NonContiguousRefusedWhenCqrSet) {
  ASSERT_EQ((Cap() >> 16) & 1, 1u);
  DmaBuffer list = Alloc(4096), page = Alloc(4096);
  std::memcpy(list.ptr, &page.addr, 8);
  EXPECT_STATUS(Admin(CreateCqCmd(1, 15, list.addr, /*pc=*/false, true, 1)), sc::kInvalidField);
  ASSERT_SUCCESS(CreateCq(1));
  EXPECT_STATUS(Admin(CreateSqCmd(1, 15, list.addr, 1, /*pc=*/false)), sc::kInvalidField);
  EXPECT_SUCCESS(CreateSq(1, 1));
}

// ---- Create I/O Submission Queue (5.5) ----

TEST_F(QueuesTest, CreateSqCompletionQueueInvalid) {
  EXPECT_STATUS(CreateSq(1, 0), sc::kCompletionQueueInvalid);  // the admin CQ
  EXPECT_STATUS(CreateSq(1, 5), sc::kCompletionQueueInvalid);  // no such CQ
  EXPECT_STATUS(CreateSq(1, 0xffff), sc::kCompletionQueueInvalid);
  ASSERT_SUCCESS(CreateCq(5));
  EXPECT_SUCCESS(CreateSq(1, 5));
}

TEST_F(QueuesTest, CreateSqQidErrors) {
  ASSERT_SUCCESS(CreateCq(1));
  EXPECT_STATUS(CreateSq(0, 1), sc::kInvalidQueueIdentifier);
  EXPECT_STATUS(CreateSq(65, 1), sc::kInvalidQueueIdentifier);  // above the allocated 64
  EXPECT_STATUS(CreateSq(0xffff, 1), sc::kInvalidQueueIdentifier);
  ASSERT_SUCCESS(CreateSq(1, 1));
  EXPECT_STATUS(CreateSq(1, 1), sc::kInvalidQueueIdentifier);  // exists
  // Several SQs may share one CQ.
  EXPECT_SUCCESS(CreateSq(2, 1));
}

TEST_F(QueuesTest, CreateSqQueueSizeLimits) {
  uint32_t mqes = Cap() & 0xffff;
  ASSERT_SUCCESS(CreateCq(1));
  EXPECT_STATUS(Admin(CreateSqCmd(1, 0, QueueMem(2, 64), 1)), sc::kInvalidQueueSize);
  EXPECT_STATUS(Admin(CreateSqCmd(1, mqes + 1, QueueMem(mqes + 2, 64), 1)), sc::kInvalidQueueSize);
  EXPECT_SUCCESS(Admin(CreateSqCmd(1, mqes, QueueMem(mqes + 1, 64), 1)));
}

TEST_F(QueuesTest, CreateSqPrp1ZeroOrUnaligned) {
  ASSERT_SUCCESS(CreateCq(1));
  EXPECT_STATUS(Admin(CreateSqCmd(1, 15, 0, 1)), sc::kInvalidPrpOffset);
  EXPECT_STATUS(Admin(CreateSqCmd(1, 15, QueueMem(32, 64) + 0x40, 1)), sc::kInvalidPrpOffset);
}

// ---- Delete (5.6, 5.7) ----

TEST_F(QueuesTest, DeleteSqInvalidQid) {
  EXPECT_STATUS(Admin(DeleteSqCmd(0)), sc::kInvalidQueueIdentifier);
  EXPECT_STATUS(Admin(DeleteSqCmd(3)), sc::kInvalidQueueIdentifier);
  EXPECT_STATUS(Admin(DeleteSqCmd(0xffff)), sc::kInvalidQueueIdentifier);
  ASSERT_SUCCESS(CreateCq(3));
  EXPECT_STATUS(Admin(DeleteSqCmd(3)), sc::kInvalidQueueIdentifier) << "only a CQ 3 exists";
}

TEST_F(QueuesTest, DeleteCqInvalidQidAndAttachedSq) {
  EXPECT_STATUS(Admin(DeleteCqCmd(0)), sc::kInvalidQueueIdentifier);
  EXPECT_STATUS(Admin(DeleteCqCmd(2)), sc::kInvalidQueueIdentifier);
  EXPECT_STATUS(Admin(DeleteCqCmd(0xffff)), sc::kInvalidQueueIdentifier);
  ASSERT_SUCCESS(CreateCq(2));
  ASSERT_SUCCESS(CreateSq(7, 2));
  EXPECT_STATUS(Admin(DeleteCqCmd(2)), sc::kInvalidQueueDeletion);
  ASSERT_SUCCESS(Admin(DeleteSqCmd(7)));
  EXPECT_SUCCESS(Admin(DeleteCqCmd(2)));
  EXPECT_STATUS(Admin(DeleteCqCmd(2)), sc::kInvalidQueueIdentifier);
}

TEST_F(QueuesTest, DeletedSqIsNotProcessed) {
  RawQueue q(dev(), drv().dma(), 2, 16);
  ASSERT_SUCCESS(Admin(CreateCqCmd(2, q.qsize(), q.cq_addr(), true, true, 2)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(2, q.qsize(), q.sq_addr(), 2)));
  ASSERT_SUCCESS(q.Execute(Cmd(io::kFlush, 1)));
  ASSERT_SUCCESS(Admin(DeleteSqCmd(2)));
  q.Submit(Cmd(io::kFlush, 1));  // doorbell of a deleted SQ
  std::this_thread::sleep_for(kQuiet);
  EXPECT_FALSE(q.Peek().has_value()) << "a deleted SQ was processed";
  EXPECT_SUCCESS(Admin(DeleteCqCmd(2)));
  EXPECT_OK(drv().IdentifyController());
}

TEST_F(QueuesTest, DeletedQueueIdCanBeReused) {
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(RoundTrip(q, 1, 0, 4, 512, 1), "");
  ASSERT_OK(drv().DeleteIoQueuePair(1));
  q = MakeQueue(1, 32);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 0, 4, 512, 2), "");
}

// ---- Queue memory and sizes ----

TEST_F(QueuesTest, NonContiguousQueuesSpanningPages) {
  // 256 entries: the SQ spans 4 pages and the CQ 1 page, each page described by a PRP list.
  IoQueue* q = MakeQueue(1, 256, /*contiguous=*/false);
  ASSERT_NE(q, nullptr);
  // Fill most of the queue at once so that entries on every SQ page are in use.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 250; ++i) ASSERT_OK(q->Submit(Cmd(io::kFlush, 1), nullptr, 0, 0, false));
    q->Ring();
    size_t done = 0;
    ASSERT_TRUE(WaitUntil([&] {
      done += q->Reap([&](const Cqe& c) { EXPECT_TRUE(StatusOf(c).ok()); });
      return done == 250;
    })) << "completed "
        << done;
  }
  // And data commands through the same queues.
  for (int i = 0; i < 40; ++i) ASSERT_EQ(RoundTrip(q, 1, 64 * i, 8, 512, 5), "") << i;
  // A second non-contiguous pair of the largest size.
  IoQueue* big = MakeQueue(2, (Cap() & 0xffff) + 1, /*contiguous=*/false);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(RoundTrip(big, 1, 7, 3, 512, 6), "");
}

TEST_F(QueuesTest, NonContiguousQueuesWith8KiBPages) {
  DriverOptions o = SmallOptions();
  o.mps = 1;
  ASSERT_TRUE(Start(o));
  IoQueue* q = MakeQueue(1, 512, /*contiguous=*/false);  // SQ: 4 pages of 8 KiB
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 511; ++i) ASSERT_OK(q->Submit(Cmd(io::kFlush, 1), nullptr, 0, 0, false)) << i;
  q->Ring();
  size_t done = 0;
  ASSERT_TRUE(WaitUntil([&] {
    done += q->Reap([&](const Cqe& c) { EXPECT_TRUE(StatusOf(c).ok()); });
    return done == 511;
  })) << "completed "
      << done;
}

TEST_F(QueuesTest, LargestQueueCompletelyFilled) {
  uint32_t entries = (Cap() & 0xffff) + 1;
  IoQueue* q = MakeQueue(1, entries);
  ASSERT_NE(q, nullptr);
  // entries - 1 commands outstanding: the CQ becomes full and the controller must wait for the
  // host to move the CQ head.
  for (uint32_t i = 0; i < entries - 1; ++i) {
    ASSERT_OK(q->Submit(Cmd(io::kFlush, 1), nullptr, 0, 0, false));
  }
  q->Ring();
  size_t done = 0;
  ASSERT_TRUE(WaitUntil([&] {
    done += q->Reap([&](const Cqe& c) { EXPECT_TRUE(StatusOf(c).ok()); }, 100);
    return done == entries - 1;
  })) << "completed "
      << done;
  EXPECT_EQ(RoundTrip(q, 1, 3, 2, 512, 1), "");
}

TEST_F(QueuesTest, SmallCqSharedBySqsNeverOverflows) {
  // A 4-entry CQ (3 usable slots) behind two 16-entry SQs with 15 commands each: the controller
  // must stop posting while the CQ is full (3.3.1.3) and resume as the host frees slots.
  RawQueue cq(dev(), drv().dma(), 1, 4);
  RawQueue sq1(dev(), drv().dma(), 1, 16), sq2(dev(), drv().dma(), 2, 16);
  ASSERT_SUCCESS(Admin(CreateCqCmd(1, 3, cq.cq_addr(), true, true, 1)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(1, 15, sq1.sq_addr(), 1)));
  ASSERT_SUCCESS(Admin(CreateSqCmd(2, 15, sq2.sq_addr(), 1)));
  for (int i = 0; i < 15; ++i) {
    sq1.Submit(Cmd(io::kFlush, 1), false);
    sq2.Submit(Cmd(io::kFlush, 1), false);
  }
  sq1.Ring();
  sq2.Ring();
  std::set<std::pair<uint16_t, uint16_t>> seen;
  int total = 0;
  ASSERT_TRUE(WaitUntil([&] {
    if (auto c = cq.Peek()) {
      EXPECT_TRUE(StatusOf(*c).ok());
      EXPECT_TRUE(seen.insert({c->sqid, c->cid}).second)
          << "completion for SQ " << c->sqid << " CID " << c->cid << " posted twice";
      ++total;
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // a slow host
      cq.Consume();
    }
    return total == 30;
  })) << "completed "
      << total << " of 30";
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(cq.Peek().has_value()) << "more completions than commands";
  EXPECT_EQ(seen.size(), 30u);
}

TEST_F(QueuesTest, SixtyFourQueuePairsAtOnce) {
  std::vector<IoQueue*> qs;
  for (uint16_t qid = 1; qid <= 64; ++qid) {
    IoQueue* q = MakeQueue(qid, 8);
    ASSERT_NE(q, nullptr) << qid;
    qs.push_back(q);
  }
  // Commands outstanding on every queue at the same time.
  std::vector<DmaBuffer> bufs;
  for (size_t i = 0; i < qs.size(); ++i) {
    DmaBuffer b = Alloc(4096);
    FillPattern(b.ptr, 4096, i, 0);
    bufs.push_back(b);
    ASSERT_OK(qs[i]->Submit(WriteCmd(1, 8 * i, 8), &b, 4096));
  }
  for (size_t i = 0; i < qs.size(); ++i) {
    size_t n = 0;
    ASSERT_TRUE(WaitUntil([&] {
      n += qs[i]->Reap([&](const Cqe& c) {
        EXPECT_TRUE(StatusOf(c).ok()) << "qid " << i + 1;
        EXPECT_EQ(c.sqid, i + 1);
      });
      return n == 1;
    })) << "qid "
        << i + 1;
  }
  for (size_t i = 0; i < qs.size(); ++i) {
    std::memset(bufs[i].ptr, 0, 4096);
    // Read back through a different queue.
    ASSERT_SUCCESS(Exec(qs[(i + 1) % qs.size()], ReadCmd(1, 8 * i, 8), &bufs[i], 4096));
    EXPECT_EQ(CheckPattern(bufs[i].ptr, 4096, i, 0), -1) << "qid " << i + 1;
  }
  for (uint16_t qid = 1; qid <= 64; ++qid) EXPECT_OK(drv().DeleteIoQueuePair(qid));
}

// ---- Bus Master Enable (PCI Local Bus 3.0, 6.2.2): no DMA without it ----

TEST_F(QueuesTest, NoProcessingWithoutBusMasterThenResumes) {
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(RoundTrip(q, 1, 0, 1, 512, 1), "");
  uint32_t cmd = dev().ConfigRead(pci::kCommand, 2);
  dev().ConfigWrite(pci::kCommand, 2, cmd & ~pci::kCmdBusMaster);
  auto cid = q->Submit(Cmd(io::kFlush, 1));
  ASSERT_OK(cid);
  EXPECT_FALSE(q->Wait(*cid, kQuiet).ok()) << "a command was fetched without Bus Master Enable";
  dev().ConfigWrite(pci::kCommand, 2, cmd);
  // The doorbell write was accepted while DMA was off; the command runs once DMA is allowed.
  EXPECT_SUCCESS(q->Wait(*cid, std::chrono::milliseconds(2000)))
      << "the command rung while Bus Master Enable was clear never ran after it was set";
}

// ---- Queue memory the controller cannot reach (NVMe Base 2.0, 3.1.3.6 CSTS.CFS) ----

TEST_F(QueuesTest, SqPagesOutsideHostMemory) {
  // PC=0 SQ whose (aligned) page is not host memory: either Create fails, or fetching from it
  // is a controller fatal error; never a crash, and a reset recovers.
  ASSERT_SUCCESS(CreateCq(1));
  DmaBuffer list = Alloc(4096);
  uint64_t page = 0x4000'0000;  // page aligned, not backed
  std::memcpy(list.ptr, &page, 8);
  auto c = Admin(CreateSqCmd(1, 15, list.addr, 1, /*pc=*/false));
  ASSERT_TRUE(c.ok()) << c.error().message;
  if (StatusOf(*c).ok()) {
    dev().MmioWrite(0x1000 + 2 * DoorbellStride(), 4, 1);
    EXPECT_TRUE(WaitCsts(kCstsCfs, kCstsCfs, std::chrono::milliseconds(2000)))
        << "fetch from unreachable SQ memory did not set CSTS.CFS";
  }
  ASSERT_OK(drv().Enable());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(RoundTrip(q, 1, 0, 1, 512, 2), "");
}

// ---- Set/Get Features (5.27, 5.15) ----

TEST_F(QueuesTest, NumberOfQueuesGrantsMinOfRequestAndMaximum) {
  auto c = Admin(SetFeaturesCmd(kFidNumberOfQueues, 3 | (5u << 16)));
  ASSERT_SUCCESS(c);
  EXPECT_EQ(c->dw0, 3u | (5u << 16));
  c = Admin(SetFeaturesCmd(kFidNumberOfQueues, 0xfffe | (0xfffeu << 16)));
  ASSERT_SUCCESS(c);
  EXPECT_EQ(c->dw0, 63u | (63u << 16)) << "max_io_queues is 64";
  c = Admin(GetFeaturesCmd(kFidNumberOfQueues, 0));
  ASSERT_SUCCESS(c);
  EXPECT_EQ(c->dw0, 63u | (63u << 16));
}

TEST_F(QueuesTest, NumberOfQueues65535IsInvalid) {
  EXPECT_STATUS(Admin(SetFeaturesCmd(kFidNumberOfQueues, 0xffff | (3u << 16))), sc::kInvalidField);
  EXPECT_STATUS(Admin(SetFeaturesCmd(kFidNumberOfQueues, 3 | (0xffffu << 16))), sc::kInvalidField);
}

TEST_F(QueuesTest, NumberOfQueuesAfterQueueCreationIsSequenceError) {
  ASSERT_SUCCESS(CreateCq(1));
  EXPECT_STATUS(Admin(SetFeaturesCmd(kFidNumberOfQueues, 3 | (3u << 16))),
                sc::kCommandSequenceError);
}

TEST_F(QueuesTest, GetFeaturesSelect) {
  ASSERT_SUCCESS(Admin(SetFeaturesCmd(kFidNumberOfQueues, 1 | (2u << 16))));
  auto cur = Admin(GetFeaturesCmd(kFidNumberOfQueues, 0));
  ASSERT_SUCCESS(cur);
  EXPECT_EQ(cur->dw0, 1u | (2u << 16)) << "current";
  auto def = Admin(GetFeaturesCmd(kFidNumberOfQueues, 1));
  ASSERT_SUCCESS(def);
  EXPECT_EQ(def->dw0, 63u | (63u << 16)) << "default";
  auto saved = Admin(GetFeaturesCmd(kFidNumberOfQueues, 2));
  ASSERT_SUCCESS(saved);
  EXPECT_EQ(saved->dw0, def->dw0) << "not saveable: saved returns the default (5.15.1)";
  auto caps = Admin(GetFeaturesCmd(kFidNumberOfQueues, 3));
  ASSERT_SUCCESS(caps);
  EXPECT_EQ(caps->dw0 & 0x7, 0x4u) << "changeable, not saveable, not namespace specific";

  ASSERT_SUCCESS(Admin(SetFeaturesCmd(kFidVolatileWriteCache, 0)));
  cur = Admin(GetFeaturesCmd(kFidVolatileWriteCache, 0));
  ASSERT_SUCCESS(cur);
  EXPECT_EQ(cur->dw0 & 1, 0u);
  def = Admin(GetFeaturesCmd(kFidVolatileWriteCache, 1));
  ASSERT_SUCCESS(def);
  EXPECT_EQ(def->dw0 & 1, 1u);
  for (uint8_t sel = 4; sel < 8; ++sel) {
    EXPECT_STATUS(Admin(GetFeaturesCmd(kFidNumberOfQueues, sel)), sc::kInvalidField) << +sel;
  }
}

TEST_F(QueuesTest, SetFeaturesSaveNotSaveable) {
  EXPECT_STATUS(Admin(SetFeaturesCmd(kFidNumberOfQueues, 1 | (1u << 16), /*save=*/true)),
                sc::kFeatureIdNotSaveable);
  // Keep Alive Timer is not saveable either (VWC is saveable since issue #3: tests/admin).
  EXPECT_STATUS(Admin(SetFeaturesCmd(0x0f, 1000, /*save=*/true)), sc::kFeatureIdNotSaveable);
}

TEST_F(QueuesTest, SetFeaturesNsidOnControllerFeature) {
  // Number of Queues is not namespace specific (Figure 317): a specific NSID is refused.
  Sqe s = SetFeaturesCmd(kFidNumberOfQueues, 1 | (1u << 16));
  s.nsid = 1;
  EXPECT_STATUS(Admin(s), sc::kFeatureNotNamespaceSpecific);
  s.nsid = 0xffffffff;
  EXPECT_SUCCESS(Admin(s));
}

TEST_F(QueuesTest, UnknownFeatureIdentifier) {
  for (uint8_t fid : {0x00, 0x50, 0x77}) {
    EXPECT_STATUS(Admin(SetFeaturesCmd(fid, 0)), sc::kInvalidField) << +fid;
    EXPECT_STATUS(Admin(GetFeaturesCmd(fid, 0)), sc::kInvalidField) << +fid;
  }
}

TEST_F(QueuesTest, MandatoryFeaturesSupported) {
  for (uint8_t fid : {0x01, 0x02, 0x04, 0x08, 0x0a, 0x0b}) {
    EXPECT_SUCCESS(Admin(GetFeaturesCmd(fid, 0))) << "FID " << +fid;
  }
  Sqe ivc = GetFeaturesCmd(0x09, 0);
  ivc.cdw11 = 0;  // vector 0
  EXPECT_SUCCESS(Admin(ivc)) << "FID 09h";
}

// ---- Opcodes ----

TEST_F(QueuesTest, UnknownAdminOpcode) {
  for (uint8_t opc : {0x03, 0x07, 0x3f, 0x7e}) {
    EXPECT_STATUS(Admin(Cmd(opc)), sc::kInvalidOpcode) << "opcode " << +opc;
  }
}

TEST_F(QueuesTest, UnknownIoOpcode) {
  IoQueue* q = MakeQueue(1);
  ASSERT_NE(q, nullptr);
  for (uint8_t opc : {0x03, 0x07, 0x7e, 0xff}) {
    EXPECT_STATUS(Exec(q, Cmd(opc, 1)), sc::kInvalidOpcode) << "opcode " << +opc;
  }
  // Admin-only opcodes are not I/O commands (Identify is 06h).
  EXPECT_STATUS(Exec(q, Cmd(admin::kIdentify, 1)), sc::kInvalidOpcode);
}

TEST_F(QueuesTest, AdminCommandWithFuseIsInvalid) {
  Sqe s = IdentifyCmd(1);
  s.flags = 0x1;
  DmaBuffer b = Alloc(4096);
  EXPECT_STATUS(Admin(s, &b, 4096), sc::kInvalidField);
}

TEST_F(QueuesTest, MandatoryAdminCommandsImplemented) {
  DmaBuffer b = Alloc(4096);
  for (uint8_t lid : {0x01, 0x02, 0x03}) {  // Error Information, SMART / Health, FW Slot
    Sqe s = Cmd(0x02, 0xffffffff);
    s.cdw10 = lid | ((512 / 4 - 1) << 16);  // NUMDL: 512 bytes
    EXPECT_SUCCESS(Admin(s, &b, 512)) << "Get Log Page LID " << +lid;
  }
  Sqe abort = Cmd(0x08);
  abort.cdw10 = 1 | (0x1234u << 16);  // SQID 1 is absent; CID 1234h
  auto c = Admin(abort);
  EXPECT_TRUE(c.ok() && !StatusOf(*c).same_code(sc::kInvalidOpcode)) << "Abort";
  auto cid = drv().admin_queue().Submit(Cmd(0x0c));
  ASSERT_OK(cid);
  auto aer = drv().admin_queue().Wait(*cid, kQuiet);
  EXPECT_FALSE(aer.ok()) << "an Asynchronous Event Request completed with no event: "
                         << StatusOf(aer.value()).ToString();
}

// ---- Invalid doorbell writes (3.1.4; reported as asynchronous events, 5.2) ----

TEST_F(QueuesTest, InvalidDoorbellWritesAreIgnored) {
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  ASSERT_EQ(RoundTrip(q, 1, 0, 1, 512, 1), "");
  const uint32_t stride = DoorbellStride();
  auto db = [&](uint32_t qid, bool cq) {
    return 0x1000 + uint64_t{2 * qid + (cq ? 1u : 0u)} * stride;
  };
  dev().MmioWrite(db(7, false), 4, 1);                              // SQ 7 does not exist
  dev().MmioWrite(db(7, true), 4, 1);                               // CQ 7 does not exist
  dev().MmioWrite(db(64, false), 4, 3);                             // allocated, never created
  dev().MmioWrite(db(0, false), 4, drv().options().admin_entries);  // admin SQ tail == size
  dev().MmioWrite(db(0, false), 4, 0xffff);
  dev().MmioWrite(db(0, true), 4, drv().options().admin_entries + 5);  // admin CQ head > size
  dev().MmioWrite(db(1, false), 4, 16);                                // I/O SQ tail == size
  dev().MmioWrite(db(1, true), 4, 100);                                // I/O CQ head > size
  dev().MmioWrite(db(1, false), 2, 1);                                 // not a dword write
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
  // Both queues still work (their real tail/head were not replaced by the invalid values).
  for (int i = 0; i < 40; ++i) ASSERT_EQ(RoundTrip(q, 1, i, 1, 512, 2), "") << i;
  EXPECT_OK(drv().IdentifyController());
  for (int i = 0; i < 40; ++i) ASSERT_OK(drv().IdentifyController()) << i;
}

TEST_F(QueuesTest, InvalidDoorbellWriteReportedAsAsyncEvent) {
  auto cid = drv().admin_queue().Submit(Cmd(0x0c));
  ASSERT_OK(cid);
  dev().MmioWrite(0x1000 + uint64_t{2 * 9} * DoorbellStride(), 4, 1);  // SQ 9 does not exist
  auto c = drv().admin_queue().Wait(*cid, kTimeout);
  ASSERT_SUCCESS(c);
  EXPECT_EQ(c->dw0 & 0x7, 0u) << "Asynchronous Event Type: Error status";
  EXPECT_EQ((c->dw0 >> 8) & 0xff, 0u) << "Write to Invalid Doorbell Register";
  EXPECT_EQ((c->dw0 >> 16) & 0xff, 1u) << "Log Page: Error Information";
}

TEST_F(QueuesTest, AsyncEventMaskedUntilErrorLogRead) {
  // 5.2.1: after an Error event is reported, further Error events are masked until the host reads
  // the Error Information log page with RAE = 0.
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  IoQueue& aq = drv().admin_queue();
  auto aer1 = aq.Submit(Cmd(0x0c));
  ASSERT_OK(aer1);
  dev().MmioWrite(0x1000 + uint64_t{2 * 9} * DoorbellStride(), 4, 1);  // no SQ 9
  auto c1 = aq.Wait(*aer1, kTimeout);
  ASSERT_SUCCESS(c1);
  EXPECT_EQ((c1->dw0 >> 8) & 0xff, 0u) << "Write to Invalid Doorbell Register";

  auto aer2 = aq.Submit(Cmd(0x0c));
  ASSERT_OK(aer2);
  dev().MmioWrite(0x1000 + 2 * DoorbellStride(), 4, 16);  // SQ 1 tail == its size
  EXPECT_FALSE(aq.Wait(*aer2, kQuiet).ok()) << "Error events not masked before the log is read";

  DmaBuffer log = Alloc(4096);
  Sqe glp = Cmd(0x02, 0xffffffff);
  glp.cdw10 = 0x01 | ((64 / 4 - 1) << 16);  // Error Information, one 64-byte entry, RAE = 0
  auto cid = aq.Submit(glp, &log, 64);
  ASSERT_OK(cid);
  ASSERT_SUCCESS(aq.Wait(*cid, kTimeout));

  dev().MmioWrite(0x1000 + 2 * DoorbellStride(), 4, 17);  // again, now unmasked
  auto c2 = aq.Wait(*aer2, kTimeout);
  ASSERT_SUCCESS(c2);
  EXPECT_EQ(c2->dw0 & 0x7, 0u) << "Error status";
  EXPECT_EQ((c2->dw0 >> 8) & 0xff, 1u) << "Invalid Doorbell Write Value";
  EXPECT_EQ((c2->dw0 >> 16) & 0xff, 1u) << "Log Page: Error Information";
  EXPECT_EQ(RoundTrip(q, 1, 0, 1, 512, 3), "") << "the queue still works";
}

}  // namespace
}  // namespace nvemu::conformance
