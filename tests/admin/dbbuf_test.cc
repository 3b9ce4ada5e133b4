// Doorbell Buffer Config (NVMe Base 2.0, 5.11): shadow doorbells with EventIdx, driven the way the
// Linux driver does (write the shadow slot, ring the MMIO doorbell only when the new value passes
// the EventIdx the controller published).
#include <thread>

#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

constexpr uint8_t kOpDbbuf = 0x7c;

// Linux nvme_dbbuf_need_event.
bool NeedEvent(uint16_t event_idx, uint16_t new_idx, uint16_t old) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old);
}

class DbbufTest : public AdminTest {
 protected:
  uint32_t* Shadow(DmaBuffer& b, uint32_t index) {
    return reinterpret_cast<uint32_t*>(b.ptr) + index;  // DSTRD 0: 4-byte slots
  }
  uint16_t Configure(uint64_t shadow, uint64_t eventidx) {
    Sqe s = Cmd(kOpDbbuf);
    s.prp1 = shadow;
    s.prp2 = eventidx;
    return Status(s);
  }
};

TEST_F(DbbufTest, Errors) {
  Start();
  EXPECT_EQ(IdCtrl().oacs & (1u << 8), 1u << 8) << "OACS bit 8";
  DmaBuffer a = Alloc(4096), b = Alloc(4096);
  EXPECT_EQ(Configure(a.addr + 4, b.addr), st::kInvalidField) << "not page aligned";
  EXPECT_EQ(Configure(a.addr, 0), st::kInvalidField) << "no EventIdx buffer";
  EXPECT_EQ(Configure(a.addr, b.addr), st::kSuccess);
}

// Poll mode: the controller finds commands through the shadow slot alone (no MMIO doorbell).
TEST_F(DbbufTest, ShadowTailIsReadWithoutMmio) {
  config().mode = ProcessingMode::kPoll;
  Start();
  DmaBuffer db = Alloc(4096), ei = Alloc(4096);
  ASSERT_EQ(Configure(db.addr, ei.addr), st::kSuccess);
  host::IoQueue* q = IoQ();
  ASSERT_NE(q, nullptr);
  std::vector<uint16_t> cids;
  for (int i = 0; i < 3; ++i) {
    auto cid = q->Submit(Cmd(0x00, 1), nullptr, 0, 0, /*ring=*/false);  // Flush
    ASSERT_TRUE(cid.ok());
    cids.push_back(*cid);
  }
  std::atomic_ref<uint32_t>(*Shadow(db, 2)).store(3, std::memory_order_release);  // SQ 1 tail
  for (uint16_t cid : cids) {
    auto c = q->Wait(cid, std::chrono::seconds(5));
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(Code(*c), st::kSuccess);
  }
  EXPECT_EQ(std::atomic_ref<uint32_t>(*Shadow(ei, 2)).load(), 3u) << "EventIdx published";
}

// Notify mode: the reactor sleeps when idle, so progress depends on the EventIdx protocol.
TEST_F(DbbufTest, EventIdxProtocolInNotifyMode) {
  Start();
  DmaBuffer db = Alloc(4096), ei = Alloc(4096);
  ASSERT_EQ(Configure(db.addr, ei.addr), st::kSuccess);
  host::IoQueue* q = IoQ();
  ASSERT_NE(q, nullptr);
  const uint32_t entries = q->entries();
  uint32_t tail = 0, head = 0, rings = 0;
  for (int i = 0; i < 200; ++i) {
    auto cid = q->Submit(Cmd(0x00, 1), nullptr, 0, 0, /*ring=*/false);
    ASSERT_TRUE(cid.ok());
    uint32_t old = tail;
    tail = (tail + 1) % entries;
    std::atomic_ref<uint32_t>(*Shadow(db, 2)).store(tail, std::memory_order_seq_cst);
    uint32_t event = std::atomic_ref<uint32_t>(*Shadow(ei, 2)).load(std::memory_order_seq_cst);
    if (NeedEvent(static_cast<uint16_t>(event), static_cast<uint16_t>(tail),
                  static_cast<uint16_t>(old))) {
      drv().device().MmioWrite(0x1000 + 2 * 1 * 4, 4, tail);
      ++rings;
    }
    auto c = q->Wait(*cid, std::chrono::seconds(5));
    ASSERT_TRUE(c.ok()) << "command " << i << ": " << c.error().message;
    EXPECT_EQ(Code(*c), st::kSuccess);
    head = (head + 1) % entries;
    std::atomic_ref<uint32_t>(*Shadow(db, 3)).store(head, std::memory_order_seq_cst);  // CQ head
  }
  EXPECT_GT(rings, 0u);
  EXPECT_EQ(std::atomic_ref<uint32_t>(*Shadow(ei, 2)).load(), tail);
  // 200 commands through a 64-entry CQ: the controller found the freed slots in the shadow CQ
  // head (the library's MMIO CQ head writes are ignored while shadowed) and published the CQ
  // EventIdx when it ran short of slots.
  EXPECT_NE(std::atomic_ref<uint32_t>(*Shadow(ei, 3)).load(), 0u);
}

// A Controller Level Reset ends shadowing: MMIO doorbells work again.
TEST_F(DbbufTest, ResetReturnsToMmioDoorbells) {
  Start();
  DmaBuffer db = Alloc(4096), ei = Alloc(4096);
  ASSERT_EQ(Configure(db.addr, ei.addr), st::kSuccess);
  Reset();
  DmaBuffer b = Alloc(4096);
  EXPECT_EQ(Io(op::kWrite, 1, 0, 8, &b, 4096), st::kSuccess);
}

}  // namespace
}  // namespace nvemu::admin_test
