// Doorbell value checks (NVMe Base 2.0, 3.1.4 doorbell registers; 5.2 Asynchronous Event Request,
// Error Status event information 01h Invalid Doorbell Write Value): an SQ tail that would overrun
// entries the controller has not fetched yet, and a CQ head that would consume entries the
// controller has not posted, are ignored and reported; a correct host is never refused.
#include "fixture.h"

namespace nvemu::conformance {
namespace {

constexpr uint8_t kOpAsyncEventRequest = 0x0c;

class DoorbellTest : public ConformanceTest {
 protected:
  void SetUp() override { ASSERT_TRUE(Start()); }

  // Creates `q` on the controller: CQ with interrupts on vector 0, then its SQ.
  void CreateOnController(RawQueue& q) {
    ASSERT_TRUE(q.ok());
    ASSERT_SUCCESS(Admin(CreateCqCmd(q.qid(), q.qsize(), q.cq_addr(), true, true, 0)));
    ASSERT_SUCCESS(Admin(CreateSqCmd(q.qid(), q.qsize(), q.sq_addr(), q.qid())));
  }

  void SetBusMaster(bool on) {
    uint32_t cmd = dev().ConfigRead(pci::kCommand, 2);
    cmd = on ? (cmd | pci::kCmdBusMaster) : (cmd & ~uint32_t{pci::kCmdBusMaster});
    dev().ConfigWrite(pci::kCommand, 2, cmd);
  }

  // Waits for the Asynchronous Event Request `cid` and checks that it reports an Invalid Doorbell
  // Write Value error (dw0: type 0h Error status, information 01h, log page 01h).
  void ExpectInvalidDoorbellValueEvent(uint16_t cid) {
    auto c = drv().admin_queue().Wait(cid, kTimeout);
    ASSERT_SUCCESS(c);
    EXPECT_EQ(c->dw0 & 0x7, 0u) << "Asynchronous Event Type: Error status";
    EXPECT_EQ((c->dw0 >> 8) & 0xff, 1u) << "Invalid Doorbell Write Value";
    EXPECT_EQ((c->dw0 >> 16) & 0xff, 1u) << "Log Page: Error Information";
  }
};

TEST_F(DoorbellTest, SqTailOverrunningUnfetchedEntriesIsInvalid) {
  RawQueue q(dev(), drv().dma(), 1, 16);
  CreateOnController(q);
  auto aer = drv().admin_queue().Submit(Cmd(kOpAsyncEventRequest));
  ASSERT_OK(aer);
  // Without Bus Master Enable nothing is fetched, so every entry the host adds stays unfetched.
  SetBusMaster(false);
  for (int i = 0; i < 15; ++i) q.Submit(Cmd(io::kFlush, 1));  // tail 1..15: the SQ is full
  q.Submit(Cmd(io::kFlush, 1));  // tail 15 -> 0: would overwrite entry 0, not yet fetched
  SetBusMaster(true);
  ExpectInvalidDoorbellValueEvent(*aer);

  // The refused write did not move the tail: exactly the 15 valid entries run.
  for (uint16_t i = 0; i < 15; ++i) {
    auto c = q.Wait();
    ASSERT_TRUE(c.has_value()) << "entry " << i << " never completed";
    EXPECT_EQ(c->cid, i);
    EXPECT_TRUE(StatusOf(*c).ok()) << StatusOf(*c).ToString();
  }
  std::this_thread::sleep_for(kQuiet);
  EXPECT_FALSE(q.Peek().has_value()) << "the entry of the refused tail write was fetched";
  // Now that the controller fetched entry 0..14, the same tail value is valid and entry 15 runs.
  q.Ring();
  auto c = q.Wait();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->cid, 15);
}

TEST_F(DoorbellTest, CqHeadBeyondPostedEntriesIsInvalid) {
  RawQueue q(dev(), drv().dma(), 1, 16);
  CreateOnController(q);
  auto aer = drv().admin_queue().Submit(Cmd(kOpAsyncEventRequest));
  ASSERT_OK(aer);
  q.Submit(Cmd(io::kFlush, 1));
  ASSERT_TRUE(WaitUntil([&] { return q.Peek().has_value(); }));
  q.Consume(/*ring=*/false);  // one entry posted and consumed, the head doorbell still at 0
  // Head 2 would consume an entry the controller never posted.
  dev().MmioWrite(q.cq_doorbell(), 4, 2);
  ExpectInvalidDoorbellValueEvent(*aer);
  // The valid head (1) is accepted and the queue keeps working across several wraps.
  q.RingHead();
  for (int i = 0; i < 40; ++i) ASSERT_SUCCESS(q.Execute(Cmd(io::kFlush, 1))) << i;
}

TEST_F(DoorbellTest, HostUsingTheWholeQueueIsNeverRefused) {
  // Batches of 1..15 entries rung with one tail write, consumed with one head write, over many
  // laps of a 16-entry queue: every step is valid, so every command completes.
  RawQueue q(dev(), drv().dma(), 1, 16);
  CreateOnController(q);
  for (int lap = 0; lap < 60; ++lap) {
    const int batch = 1 + lap % 15;
    for (int i = 0; i < batch; ++i) q.Submit(Cmd(io::kFlush, 1), /*ring=*/false);
    q.Ring();
    for (int i = 0; i < batch; ++i) {
      ASSERT_TRUE(WaitUntil([&] { return q.Peek().has_value(); }))
          << "lap " << lap << ": completion " << i << " of " << batch << " missing";
      q.Consume(/*ring=*/false);
    }
    q.RingHead();
  }
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
}

TEST_F(DoorbellTest, HostRefillingUpToSqhdIsNeverRefused) {
  // A host may reuse an SQ slot as soon as a completion's SQHD shows it fetched (3.3.1.2). RAM
  // reads go through the copy batch, whose completions are held and posted in groups, so this
  // checks that the head the doorbell checks use is published no later than SQHD reports it.
  RawQueue q(dev(), drv().dma(), 1, 16);
  CreateOnController(q);
  auto aer = drv().admin_queue().Submit(Cmd(kOpAsyncEventRequest));
  ASSERT_OK(aer);
  DmaBuffer data = Alloc(16 * 4096);
  ASSERT_TRUE(data);
  // Write LBAs 0..15 first so that the reads copy backend memory (holes read as zeroes inline).
  for (uint32_t i = 0; i < 16; ++i) {
    Sqe w = WriteCmd(1, i, 1);
    w.prp1 = data.addr + uint64_t{i} * 4096;
    auto c = q.Execute(w);
    ASSERT_SUCCESS(c);
  }
  uint32_t tail = 0, sqhd = 0;  // this host's view: its tail, the last SQHD it was told
  int completed = 0, submitted = 0;
  constexpr int kCommands = 3000;
  while (completed < kCommands) {
    // Every slot up to the one before SQHD is free: fill them all, ring once.
    const uint32_t room = (sqhd + 16 - tail - 1) % 16;
    const uint32_t add = std::min<uint32_t>(room, kCommands - submitted);
    for (uint32_t k = 0; k < add; ++k) {
      Sqe r = ReadCmd(1, tail, 1);
      r.prp1 = data.addr + uint64_t{tail} * 4096;
      q.Submit(r, /*ring=*/false);
      tail = (tail + 1) % 16;
    }
    submitted += static_cast<int>(add);
    q.Ring();
    ASSERT_TRUE(WaitUntil([&] { return q.Peek().has_value(); }))
        << "no completion after " << completed << " of " << kCommands;
    while (auto c = q.Peek()) {
      EXPECT_TRUE(StatusOf(*c).ok()) << StatusOf(*c).ToString();
      sqhd = c->sqhd;
      q.Consume(/*ring=*/false);
      ++completed;
    }
    q.RingHead();
  }
  EXPECT_EQ(Csts() & (kCstsRdy | kCstsCfs), kCstsRdy);
  auto event = drv().admin_queue().Wait(*aer, kQuiet);
  EXPECT_FALSE(event.ok()) << "an Asynchronous Event reported a doorbell write of a correct host";
}

}  // namespace
}  // namespace nvemu::conformance
