// Format NVM (NVMe Base 2.0, 5.14): LBA format switch, secure erase settings, NSID FFFFFFFFh and
// the error statuses.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

TEST_F(AdminTest, FormatSwitchesTheLbaFormat) {
  Start();
  DmaBuffer b = Alloc(8192);
  std::memset(b.ptr, 0x5a, 8192);
  ASSERT_EQ(Io(op::kWrite, 1, 0, 16, &b, 8192), st::kSuccess);
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, 1)), st::kSuccess) << "LBAF 1 (4096), SES 000b";
  nvme_id_ns ns = IdNs(1);
  EXPECT_EQ(ns.flbas & 0xf, 1);
  EXPECT_EQ(ns.nsze, (16ull << 20) / 4096);
  std::memset(b.ptr, 0, 8192);
  ASSERT_EQ(Io(op::kRead, 1, 0, 2, &b, 8192), st::kSuccess) << "I/O in 4096-byte blocks";
  EXPECT_EQ(b.ptr[0], 0x5a) << "SES 000b keeps the data";
  EXPECT_EQ(Io(op::kRead, 1, ns.nsze, 1, &b, 4096), st::kLbaOutOfRange);
  // SES 001b: user data erase.
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, 0 | 1u << 9)), st::kSuccess);
  EXPECT_EQ(IdNs(1).flbas & 0xf, 0);
  ASSERT_EQ(Io(op::kRead, 1, 0, 16, &b, 8192), st::kSuccess);
  EXPECT_TRUE(std::all_of(b.ptr, b.ptr + 8192, [](uint8_t x) { return x == 0; }));
}

TEST_F(AdminTest, FormatAllNamespacesAndErrors) {
  config().namespaces.push_back(config().namespaces[0]);
  Start();
  ASSERT_EQ(Status(Cmd(op::kFormat, 0xffffffff, 1)), st::kSuccess);
  EXPECT_EQ(IdNs(1).flbas & 0xf, 1);
  EXPECT_EQ(IdNs(2).flbas & 0xf, 1);
  EXPECT_EQ(Status(Cmd(op::kFormat, 1, 15)), st::kInvalidFormat) << "no LBAF 15";
  EXPECT_EQ(Status(Cmd(op::kFormat, 1, 0 | 1u << 5)), st::kInvalidFormat) << "PI without metadata";
  EXPECT_EQ(Status(Cmd(op::kFormat, 1, 0 | 2u << 9)), st::kInvalidField) << "crypto erase";
  EXPECT_EQ(Status(Cmd(op::kFormat, 1, 0 | 7u << 9)), st::kInvalidField) << "reserved SES";
  EXPECT_EQ(Status(Cmd(op::kFormat, 0, 0)), st::kInvalidNamespace);
  EXPECT_EQ(Status(Cmd(op::kFormat, 3, 0)), st::kInvalidNamespace);
}

}  // namespace
}  // namespace nvemu::admin_test
