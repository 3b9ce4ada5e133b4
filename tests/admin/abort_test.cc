// Abort (NVMe Base 2.0, 5.1): outstanding AERs, commands still in their SQ, the IANP bit, and the
// Abort Command Limit.
#include <map>
#include <thread>

#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

uint32_t AbortCdw10(uint16_t sqid, uint16_t cid) { return sqid | uint32_t{cid} << 16; }

TEST_F(AdminTest, AbortAnAsyncEventRequest) {
  Start();
  uint16_t aer = Submit(Cmd(op::kAer));
  Cqe c = Admin(Cmd(op::kAbort, 0, AbortCdw10(0, aer)));
  EXPECT_EQ(Code(c), st::kSuccess);
  EXPECT_EQ(c.dw0 & 1, 0u) << "aborted";
  Cqe a;
  ASSERT_TRUE(Wait(aer, &a));
  EXPECT_EQ(Code(a), st::kAbortRequested);
  EXPECT_EQ(ctrl().async_events().outstanding(), 0u);
}

TEST_F(AdminTest, AbortOfAnUnknownCommandIsNotPerformed) {
  Start();
  Cqe c = Admin(Cmd(op::kAbort, 0, AbortCdw10(0, 777)));
  EXPECT_EQ(Code(c), st::kSuccess);
  EXPECT_EQ(c.dw0 & 1, 1u) << "IANP: not aborted";
  c = Admin(Cmd(op::kAbort, 0, AbortCdw10(9, 1)));
  EXPECT_EQ(c.dw0 & 1, 1u) << "no such SQ";
}

// A raw queue pair built by hand: CQ 2 with 2 entries (one completion fills it), SQ 2 with 16.
// While the CQ is full the controller fetches nothing more (3.3.1.3): the rest of the SQ is
// "not yet fetched" and can be aborted.
TEST_F(AdminTest, AbortIoCommandsStuckBehindAFullCqAndAbortLimit) {
  Start();
  constexpr uint32_t kSqEntries = 16, kCqEntries = 2;
  DmaBuffer sq = Alloc(4096), cq = Alloc(4096);
  Sqe create_cq = Cmd(0x05, 0, 2 | (kCqEntries - 1) << 16, 0x1);  // PC = 1, IEN = 0
  create_cq.prp1 = cq.addr;
  ASSERT_EQ(Status(create_cq), st::kSuccess);
  Sqe create_sq = Cmd(0x01, 0, 2 | (kSqEntries - 1) << 16, 0x1 | 2u << 16);
  create_sq.prp1 = sq.addr;
  ASSERT_EQ(Status(create_sq), st::kSuccess);
  // Seven Flush commands, CIDs 100..106.
  for (uint16_t i = 0; i < 7; ++i) {
    Sqe f = Cmd(0x00, 1);
    f.cid = 100 + i;
    std::memcpy(sq.ptr + 64 * i, &f, 64);
  }
  drv().device().MmioWrite(0x1000 + 2 * 2 * 4, 4, 7);  // SQ 2 tail
  // Wait for the first completion (the CQ is then full).
  auto cqe_at = [&](uint32_t i) {
    Cqe c;
    std::memcpy(&c, cq.ptr + 16 * i, 16);
    return c;
  };
  for (int spin = 0; spin < 100000 && (cqe_at(0).status & 1) == 0; ++spin) {
    std::this_thread::yield();
  }
  ASSERT_EQ(cqe_at(0).cid, 100);
  // Abort 101..104: each stays outstanding until its target is fetched.
  std::vector<uint16_t> aborts;
  for (uint16_t cid = 101; cid <= 104; ++cid) {
    aborts.push_back(Submit(Cmd(op::kAbort, 0, AbortCdw10(2, cid))));
  }
  Cqe c;
  EXPECT_FALSE(Wait(aborts[0], &c, std::chrono::milliseconds(50))) << "waits for its target";
  // ACL = 3: a fifth outstanding Abort exceeds the limit.
  EXPECT_EQ(Status(Cmd(op::kAbort, 0, AbortCdw10(2, 105))), st::kAbortLimit);
  // Consume completions one by one (each frees the single slot) until CID 106 completes.
  std::map<uint16_t, uint16_t> status;
  uint32_t head = 0;
  bool phase = true;
  for (int spin = 0; spin < 2000000 && status.size() < 7; ++spin) {
    Cqe e = cqe_at(head);
    if ((e.status & 1) != (phase ? 1 : 0)) {
      std::this_thread::yield();
      continue;
    }
    status[e.cid] = Code(e);
    if (++head == kCqEntries) {
      head = 0;
      phase = !phase;
    }
    drv().device().MmioWrite(0x1000 + (2 * 2 + 1) * 4, 4, head);  // CQ 2 head
  }
  ASSERT_EQ(status.size(), 7u);
  EXPECT_EQ(status[100], st::kSuccess);
  for (uint16_t cid = 101; cid <= 104; ++cid) EXPECT_EQ(status[cid], st::kAbortRequested) << cid;
  EXPECT_EQ(status[105], st::kSuccess) << "its Abort was refused";
  EXPECT_EQ(status[106], st::kSuccess);
  for (uint16_t a : aborts) {
    ASSERT_TRUE(Wait(a, &c));
    EXPECT_EQ(Code(c), st::kSuccess);
    EXPECT_EQ(c.dw0 & 1, 0u) << "aborted";
  }
}

}  // namespace
}  // namespace nvemu::admin_test
