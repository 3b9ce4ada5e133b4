// Conformance tests of the NVM I/O commands (NVM Command Set 1.0, 3.2; NVMe Base 2.0, 7) through
// ExecuteIoCommand with in-memory data channels.
#include <gtest/gtest.h>

#include "nvm_fixture.h"

namespace nvemu::test {
namespace {

constexpr uint8_t kFlush = 0x00, kWrite = 0x01, kRead = 0x02, kWriteUnc = 0x04, kCompare = 0x05,
                  kWriteZeroes = 0x08, kDsm = 0x09, kVerify = 0x0c, kResvRegister = 0x0d,
                  kResvReport = 0x0e, kResvAcquire = 0x11, kResvRelease = 0x15, kCopy = 0x19;

Status WriteBlocks(NvmHarness& h, uint64_t slba, const std::vector<uint8_t>& data) {
  MemChannel ch;
  ch.buf = data;
  return h.Run(Rw(kWrite, slba, static_cast<uint32_t>(data.size() / h.ns().lba_size())), &ch);
}

std::vector<uint8_t> ReadBlocks(NvmHarness& h, uint64_t slba, uint32_t nlb, Status* st) {
  MemChannel ch(static_cast<size_t>(nlb) * h.ns().lba_size());
  *st = h.Run(Rw(kRead, slba, nlb), &ch);
  return ch.buf;
}

TEST(NvmCommands, ReadWriteRoundTripAndRangeChecks) {
  NvmHarness h({});
  auto data = Pattern(8 * 512, 1);
  ASSERT_EQ(WriteBlocks(h, 100, data), sc::kSuccess);
  Status st;
  EXPECT_EQ(ReadBlocks(h, 100, 8, &st), data);
  EXPECT_EQ(st, sc::kSuccess);
  MemChannel ch(512);
  EXPECT_EQ(h.Run(Rw(kRead, 4096, 1), &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(h.Run(Rw(kRead, 4095, 2), &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(h.Run(Rw(kRead, ~uint64_t{0}, 2), &ch), sc::kLbaOutOfRange);
  Sqe bad = Rw(kRead, 0, 1);
  bad.nsid = 2;
  EXPECT_EQ(h.Run(bad, &ch), sc::kInvalidNamespaceOrFormat);
  MemChannel big(4 << 20);
  EXPECT_EQ(h.Run(Rw(kRead, 0, 4096), &big), sc::kInvalidField);  // > MDTS (1 MiB)
  Sqe op{};
  op.opc = 0x7f;
  EXPECT_EQ(h.Run(op), sc::kInvalidOpcode);
}

TEST(NvmCommands, WriteUncorrectableFailsReadsUntilRewritten) {
  NvmHarness h({});
  EXPECT_EQ(h.Run(Rw(kWriteUnc, 10, 4)), sc::kSuccess);
  Status st;
  ReadBlocks(h, 8, 4, &st);
  EXPECT_EQ(st, nvm_sc::kUnrecoveredReadError);
  EXPECT_EQ(st.sct(), Sct::kMediaError);
  EXPECT_EQ(st.sc(), 0x81);
  EXPECT_EQ(h.Run(Rw(kVerify, 13, 1)), nvm_sc::kUnrecoveredReadError);
  ReadBlocks(h, 14, 2, &st);
  EXPECT_EQ(st, sc::kSuccess);
  ASSERT_EQ(WriteBlocks(h, 10, Pattern(2 * 512, 3)), sc::kSuccess);  // rewrites 10, 11
  ReadBlocks(h, 10, 2, &st);
  EXPECT_EQ(st, sc::kSuccess);
  ReadBlocks(h, 12, 1, &st);
  EXPECT_EQ(st, nvm_sc::kUnrecoveredReadError);
  EXPECT_EQ(h.Run(Rw(kWriteZeroes, 12, 2)), sc::kSuccess);
  ReadBlocks(h, 10, 4, &st);
  EXPECT_EQ(st, sc::kSuccess);
  EXPECT_EQ(h.Run(Rw(kWriteUnc, 4095, 2)), sc::kLbaOutOfRange);
}

TEST(NvmCommands, CompareMatchesAndFails) {
  NvmHarness h({});
  auto data = Pattern(4 * 512, 5);
  ASSERT_EQ(WriteBlocks(h, 0, data), sc::kSuccess);
  MemChannel ch;
  ch.buf = data;
  EXPECT_EQ(h.Run(Rw(kCompare, 0, 4), &ch), sc::kSuccess);
  ch.buf[1000] ^= 1;
  Status st = h.Run(Rw(kCompare, 0, 4), &ch);
  EXPECT_EQ(st, nvm_sc::kCompareFailure);
  EXPECT_EQ(st.sct(), Sct::kMediaError);
  EXPECT_EQ(st.sc(), 0x85);
}

TEST(NvmCommands, WriteZeroesAndDeallocateReadZeroAndLowerNuse) {
  NvmHarness h({.blocks = 2048});
  ASSERT_EQ(WriteBlocks(h, 0, Pattern(512 * 512, 7)), sc::kSuccess);  // 4 chunks of 64 KiB
  const uint64_t before = h.ns().backend().AllocatedBytes();
  EXPECT_EQ(before, 4u * 65536);
  EXPECT_EQ(h.Run(Rw(kWriteZeroes, 0, 128, 1u << 25)), sc::kSuccess);  // DEAC, a whole chunk
  EXPECT_EQ(h.ns().backend().AllocatedBytes(), 3u * 65536);
  Status st;
  auto z = ReadBlocks(h, 0, 130, &st);
  EXPECT_TRUE(std::all_of(z.begin(), z.begin() + 128 * 512, [](uint8_t b) { return b == 0; }));
  EXPECT_NE(z[128 * 512], 0);
  // Dataset Management: deallocate two ranges, one of them a whole chunk.
  struct {
    uint32_t cattr, nlb;
    uint64_t slba;
  } ranges[2] = {{0, 128, 128}, {0, 3, 300}};
  MemChannel ch(sizeof(ranges));
  std::memcpy(ch.buf.data(), ranges, sizeof(ranges));
  Sqe dsm{};
  dsm.opc = kDsm;
  dsm.nsid = 1;
  dsm.cdw10 = 1;        // two ranges
  dsm.cdw11 = 1u << 2;  // AD
  EXPECT_EQ(h.Run(dsm, &ch), sc::kSuccess);
  EXPECT_EQ(h.ns().backend().AllocatedBytes(), 2u * 65536);
  z = ReadBlocks(h, 300, 4, &st);
  EXPECT_TRUE(std::all_of(z.begin(), z.begin() + 3 * 512, [](uint8_t b) { return b == 0; }));
  EXPECT_NE(z[3 * 512 + 7], 0);
  ranges[1].slba = 2047;  // runs past the end: nothing is deallocated
  std::memcpy(ch.buf.data(), ranges, sizeof(ranges));
  EXPECT_EQ(h.Run(dsm, &ch), sc::kLbaOutOfRange);
}

TEST(NvmCommands, CopyFormat0AndErrors) {
  NvmHarness h({});
  auto a = Pattern(4 * 512, 11), b = Pattern(2 * 512, 12);
  ASSERT_EQ(WriteBlocks(h, 10, a), sc::kSuccess);
  ASSERT_EQ(WriteBlocks(h, 50, b), sc::kSuccess);
  uint8_t desc[64] = {};
  auto put = [&](int i, uint64_t slba, uint16_t nlb0) {
    std::memcpy(desc + 32 * i + 8, &slba, 8);
    std::memcpy(desc + 32 * i + 16, &nlb0, 2);
  };
  put(0, 10, 3);
  put(1, 50, 1);
  MemChannel ch(sizeof(desc));
  std::memcpy(ch.buf.data(), desc, sizeof(desc));
  Sqe c{};
  c.opc = kCopy;
  c.nsid = 1;
  c.cdw10 = 200;  // SDLBA
  c.cdw12 = 1;    // NR = 2 ranges, format 0h
  EXPECT_EQ(h.Run(c, &ch), sc::kSuccess);
  Status st;
  auto got = ReadBlocks(h, 200, 6, &st);
  std::vector<uint8_t> want = a;
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(got, want);
  Sqe f1 = c;
  f1.cdw12 |= 1u << 8;  // format 1h needs 64b Guard PI
  EXPECT_EQ(h.Run(f1, &ch), sc::kInvalidField);
  put(1, 4095, 1);  // second source range out of range
  std::memcpy(ch.buf.data(), desc, sizeof(desc));
  uint32_t dw0 = 0;
  EXPECT_EQ(h.Run(c, &ch, nullptr, 1, &dw0), sc::kLbaOutOfRange);
  EXPECT_EQ(dw0, 1u);
  Sqe many = c;
  many.cdw12 = 200;  // 201 ranges > MSRC + 1
  MemChannel big(201 * 32);
  EXPECT_EQ(h.Run(many, &big), nvm_sc::kCommandSizeLimitExceeded);
  EXPECT_EQ(h.Run(Rw(kWriteUnc, 10, 1)), sc::kSuccess);
  put(1, 50, 1);
  std::memcpy(ch.buf.data(), desc, sizeof(desc));
  EXPECT_EQ(h.Run(c, &ch, nullptr, 1, &dw0), nvm_sc::kUnrecoveredReadError);
  EXPECT_EQ(dw0, 0u);
}

Sqe Fused(Sqe s, uint8_t fuse) {
  s.flags = static_cast<uint8_t>((s.flags & ~3) | fuse);
  return s;
}

TEST(NvmCommands, FusedCompareAndWrite) {
  NvmHarness h({});
  auto old = Pattern(2 * 512, 21), neu = Pattern(2 * 512, 22);
  ASSERT_EQ(WriteBlocks(h, 40, old), sc::kSuccess);
  MemChannel cmp, wr;
  cmp.buf = old;
  wr.buf = neu;
  EXPECT_EQ(h.Run(Fused(Rw(kCompare, 40, 2), 1), &cmp), sc::kSuccess);
  EXPECT_EQ(h.ns().fused_lock().held(), 1u);
  EXPECT_EQ(h.Run(Fused(Rw(kWrite, 40, 2), 2), &wr), sc::kSuccess);
  EXPECT_EQ(h.ns().fused_lock().held(), 0u);
  Status st;
  EXPECT_EQ(ReadBlocks(h, 40, 2, &st), neu);
  // Compare fails: the Write is aborted and nothing changes.
  EXPECT_EQ(h.Run(Fused(Rw(kCompare, 40, 2), 1), &cmp), nvm_sc::kCompareFailure);
  EXPECT_EQ(h.Run(Fused(Rw(kWrite, 40, 2), 2), &cmp), sc::kAbortFailedFused);
  EXPECT_EQ(ReadBlocks(h, 40, 2, &st), neu);
  // A second command without a first.
  EXPECT_EQ(h.Run(Fused(Rw(kWrite, 40, 2), 2), &wr), sc::kAbortMissingFused);
  // Another SQ holds an overlapping range: Command Interrupted (retryable), then Failed Fused.
  cmp.buf = neu;
  EXPECT_EQ(h.Run(Fused(Rw(kCompare, 40, 2), 1), &cmp, nullptr, 2), sc::kSuccess);
  Status busy = h.Run(Fused(Rw(kCompare, 41, 1), 1), &cmp, nullptr, 3);
  EXPECT_EQ(busy, nvm_sc::kCommandInterrupted);
  EXPECT_FALSE(busy.dnr());
  EXPECT_EQ(h.Run(Fused(Rw(kWrite, 41, 1), 2), &wr, nullptr, 3), sc::kAbortFailedFused);
  // SQ 2's pair is dropped by a non-fused command; its range is unlocked.
  EXPECT_EQ(h.Run(Rw(kFlush, 0, 1), nullptr, nullptr, 2), sc::kSuccess);
  EXPECT_EQ(h.ns().fused_lock().held(), 0u);
  // Only Compare may be first; FUSE 11b is reserved.
  EXPECT_EQ(h.Run(Fused(Rw(kRead, 40, 1), 1), &wr), sc::kInvalidField);
  EXPECT_EQ(h.Run(Fused(Rw(kRead, 40, 1), 3), &wr), sc::kInvalidField);
}

struct Keys {
  uint64_t a, b;
};

Status Resv(NvmHarness& h, uint8_t opc, uint32_t cdw10, uint64_t a, uint64_t b = 0) {
  MemChannel ch(16);
  Keys k{a, b};
  std::memcpy(ch.buf.data(), &k, 16);
  Sqe s{};
  s.opc = opc;
  s.nsid = 1;
  s.cdw10 = cdw10;
  return h.Run(s, &ch);
}

TEST(NvmCommands, ReservationsPerHost) {
  NvmHarness h({});
  IoControllerState other(2, 8);
  std::array<uint8_t, 16> id_a{1}, id_b{2};
  h.state().set_host_id(id_a);
  other.set_host_id(id_b);
  IoControllerState* mine = &h.state();
  auto as = [&](IoControllerState* s) { h.ctx().controller = s; };
  // Host A registers key 0xA and takes a Write Exclusive reservation.
  EXPECT_EQ(Resv(h, kResvRegister, 0, 0, 0xA), sc::kSuccess);
  EXPECT_EQ(Resv(h, kResvAcquire, 1u << 8, 0xB), nvm_sc::kReservationConflict);  // wrong key
  EXPECT_EQ(Resv(h, kResvAcquire, 1u << 8, 0xA), sc::kSuccess);
  as(&other);
  MemChannel d(512);
  EXPECT_EQ(h.Run(Rw(kWrite, 0, 1), &d), nvm_sc::kReservationConflict);
  EXPECT_EQ(h.Run(Rw(kRead, 0, 1), &d), sc::kSuccess);  // WE: reads allowed
  EXPECT_EQ(Resv(h, kResvAcquire, 1u << 8, 0xB), nvm_sc::kReservationConflict);  // unregistered
  EXPECT_EQ(Resv(h, kResvRegister, 0, 0, 0xB), sc::kSuccess);
  EXPECT_EQ(Resv(h, kResvAcquire, 1u << 8, 0xB), nvm_sc::kReservationConflict);  // held by A
  // Preempt A's reservation with A's key: B becomes holder with Exclusive Access.
  EXPECT_EQ(Resv(h, kResvAcquire, 1 | (2u << 8), 0xB, 0xA), sc::kSuccess);
  as(mine);
  EXPECT_EQ(h.Run(Rw(kRead, 0, 1), &d), nvm_sc::kReservationConflict);  // A was preempted
  // Report (extended): generation, type 2, one registrant (B), holding.
  MemChannel rep(4096);
  Sqe r{};
  r.opc = kResvReport;
  r.nsid = 1;
  r.cdw10 = 4096 / 4 - 1;
  r.cdw11 = 1;
  EXPECT_EQ(h.Run(r, &rep), sc::kSuccess);
  EXPECT_EQ(rep.buf[4], 2);
  EXPECT_EQ(rep.buf[5], 1);                      // REGCTL
  EXPECT_EQ(rep.buf[64] | rep.buf[65] << 8, 2);  // CNTLID of B
  EXPECT_EQ(rep.buf[66], 1);                     // holds the reservation
  EXPECT_EQ(rep.buf[80], 2);                     // host identifier of B
  r.cdw11 = 0;                                   // 64-bit host IDs: ours fit
  EXPECT_EQ(h.Run(r, &rep), sc::kSuccess);
  as(&other);
  EXPECT_EQ(Resv(h, kResvRelease, 1u << 8, 0xB), sc::kInvalidField);  // type mismatch
  EXPECT_EQ(Resv(h, kResvRelease, 2u << 8, 0xB), sc::kSuccess);
  EXPECT_EQ(Resv(h, kResvRegister, 1, 0xB), sc::kSuccess);  // unregister
  as(mine);
  EXPECT_EQ(h.Run(Rw(kWrite, 0, 1), &d), sc::kSuccess);
  EXPECT_EQ(Resv(h, kResvRegister, 0, 0, 0xA), sc::kSuccess);
  EXPECT_EQ(Resv(h, kResvAcquire, 6u << 8, 0xA), sc::kSuccess);  // EA All Registrants
  as(&other);
  EXPECT_EQ(h.Run(Rw(kWrite, 0, 1), &d), nvm_sc::kReservationConflict);  // B is not registered
  EXPECT_EQ(Resv(h, kResvRegister, 0, 0, 0xB), sc::kSuccess);
  EXPECT_EQ(h.Run(Rw(kWrite, 0, 1), &d), sc::kSuccess);    // now a registrant: a holder
  EXPECT_EQ(Resv(h, kResvRelease, 1, 0xB), sc::kSuccess);  // Clear
  as(mine);
  EXPECT_EQ(h.Run(Rw(kWrite, 0, 1), &d), sc::kSuccess);
  EXPECT_EQ(Resv(h, kResvRegister, 1u << 30, 0, 0xA), sc::kInvalidField);  // CPTPL 01b reserved
  EXPECT_FALSE(h.ns().reservations().ptpl());
  EXPECT_EQ(Resv(h, kResvRegister, 3u << 30, 0, 0xA), sc::kSuccess);  // CPTPL 11b: PTPL on
  EXPECT_TRUE(h.ns().reservations().ptpl());
  EXPECT_EQ(Resv(h, kResvRegister, 2u << 30, 0, 0xA), sc::kSuccess);  // same key; CPTPL 10b: off
  EXPECT_FALSE(h.ns().reservations().ptpl());
}

TEST(NvmCommands, FlushAllNamespacesAndVwcState) {
  NvmHarness h({});
  Sqe f{};
  f.opc = kFlush;
  f.nsid = 0xffffffff;
  EXPECT_EQ(h.Run(f), sc::kSuccess);
  EXPECT_TRUE(h.state().volatile_write_cache());
  h.state().set_volatile_write_cache(false);
  EXPECT_EQ(WriteBlocks(h, 0, Pattern(512, 1)), sc::kSuccess);
}

}  // namespace
}  // namespace nvemu::test
