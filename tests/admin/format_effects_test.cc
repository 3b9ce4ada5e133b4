// What Format NVM (NVMe Base 2.0, 5.14; NVM Command Set 1.0) does to the state of a namespace
// besides its LBA format: blocks marked by Write Uncorrectable are readable again, User Data Erase
// deallocates every block (NUSE 0, reads return 00h) while SES 000b keeps the allocation (NUSE in
// the new block size), and a PI format switches protection on and off with unwritten blocks
// passing every check (their PI reads FFh). Reservations: reservation_ptpl_test.cc.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

constexpr uint8_t kWriteUncorrectable = 0x04;
constexpr uint16_t kUnrecoveredReadError = 0x281;
constexpr uint16_t kGuardCheckError = 0x282;

uint32_t FormatCdw10(uint8_t lbaf, uint8_t pi, uint8_t ses) {
  return lbaf | uint32_t{pi} << 5 | uint32_t{ses} << 9;
}

TEST_F(AdminTest, FormatClearsUncorrectableMarks) {
  Start();
  DmaBuffer b = Alloc(4096);
  ASSERT_EQ(Io(op::kWrite, 1, 0, 8, &b, 4096), st::kSuccess);
  ASSERT_EQ(Io(kWriteUncorrectable, 1, 5, 2, nullptr, 0), st::kSuccess);
  ASSERT_EQ(Io(op::kRead, 1, 4, 2, &b, 1024), kUnrecoveredReadError);
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, FormatCdw10(0, 0, 0))), st::kSuccess);
  EXPECT_EQ(Io(op::kRead, 1, 4, 2, &b, 1024), st::kSuccess) << "marks cleared";
  EXPECT_EQ(Io(op::kRead, 1, 6, 1, &b, 512), st::kSuccess);
}

TEST_F(AdminTest, FormatDeallocationAndNuse) {
  Start();
  EXPECT_EQ(IdNs(1).nuse, 0u);
  DmaBuffer b = Alloc(64 * 1024);
  std::memset(b.ptr, 0x77, 64 * 1024);
  ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);  // one 64 KiB chunk
  const uint64_t nuse512 = IdNs(1).nuse;
  ASSERT_EQ(nuse512, 128u);
  // SES 000b into 4096-byte blocks: the data stays allocated, NUSE counts 4096-byte blocks.
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, FormatCdw10(1, 0, 0))), st::kSuccess);
  EXPECT_EQ(IdNs(1).nuse, nuse512 / 8);
  // SES 001b (User Data Erase): everything deallocated; reads return 00h (DLFEAT 001b).
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, FormatCdw10(0, 0, 1))), st::kSuccess);
  EXPECT_EQ(IdNs(1).nuse, 0u);
  std::memset(b.ptr, 0xee, 4096);
  ASSERT_EQ(Io(op::kRead, 1, 0, 8, &b, 4096), st::kSuccess);
  EXPECT_TRUE(std::all_of(b.ptr, b.ptr + 4096, [](uint8_t x) { return x == 0; }));
}

TEST_F(AdminTest, FormatIntoAndOutOfProtectionInformation) {
  Start();
  // LBAF 2 (512 + 8), PI Type 1, PI in the last 8 bytes, separate metadata (MSET 0).
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, FormatCdw10(2, 1, 1))), st::kSuccess);
  nvme_id_ns ns = IdNs(1);
  EXPECT_EQ(ns.flbas & 0xf, 2);
  EXPECT_EQ(ns.dps, 1);
  DmaBuffer data = Alloc(4096), meta = Alloc(4096);
  // Unwritten blocks: PI all FFh, so a read checking Guard and Reference Tag passes.
  Sqe rd = Cmd(op::kRead, 1, 10, 0);
  rd.cdw12 = 0 | (0x5u << 26);  // NLB 1, PRCHK Guard + Reference Tag
  rd.cdw14 = 10;                // expected initial reference tag
  rd.mptr = meta.addr;
  auto c = IoQ()->Execute(rd, std::chrono::seconds(5), &data, 512);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Code(*c), st::kSuccess);
  // A write with PRACT = 1 generates PI; reading it back with the checks passes; a block written
  // with a wrong Guard fails the Guard check.
  Sqe wr = Cmd(op::kWrite, 1, 10, 0);
  wr.cdw12 = 0 | (0x8u << 26) | (0x5u << 26);  // PRACT + PRCHK
  wr.cdw14 = 10;
  wr.mptr = meta.addr;
  std::memset(data.ptr, 0x3c, 512);
  c = IoQ()->Execute(wr, std::chrono::seconds(5), &data, 512);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(Code(*c), st::kSuccess);
  c = IoQ()->Execute(rd, std::chrono::seconds(5), &data, 512);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Code(*c), st::kSuccess);
  Sqe bad = wr;
  bad.cdw12 = 0 | (0x4u << 26);  // PRACT 0, check the host's PI: Guard 0000h is wrong
  std::memset(meta.ptr, 0, 8);
  c = IoQ()->Execute(bad, std::chrono::seconds(5), &data, 512);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(Code(*c), kGuardCheckError);
  // Back to LBAF 0 without PI: no metadata, DPS 0; plain reads and writes again.
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, FormatCdw10(0, 0, 0))), st::kSuccess);
  ns = IdNs(1);
  EXPECT_EQ(ns.flbas & 0xf, 0);
  EXPECT_EQ(ns.dps, 0);
  std::memset(data.ptr, 0x5d, 512);
  ASSERT_EQ(Io(op::kWrite, 1, 10, 1, &data, 512), st::kSuccess);
  std::memset(data.ptr, 0, 512);
  ASSERT_EQ(Io(op::kRead, 1, 10, 1, &data, 512), st::kSuccess);
  EXPECT_EQ(data.ptr[0], 0x5d);
}

}  // namespace
}  // namespace nvemu::admin_test
