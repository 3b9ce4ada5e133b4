// Device Self-test (NVMe Base 2.0, 5.8) and its log (5.16.1.7): progress in model time, results,
// abort, one test at a time, and what a Controller Level Reset does to short and extended tests.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

TEST_F(AdminTest, ShortSelfTestProgressesAndCompletes) {
  Start();
  clock().Advance(3 * 3600 * kSecond);  // power-on hours in the result
  ASSERT_EQ(Status(Cmd(op::kSelfTest, 0xffffffff, 1)), st::kSuccess);
  auto log = Log<nvme_self_test_log>(0x06);
  EXPECT_EQ(log.current_operation, 1);
  EXPECT_EQ(log.completion, 0);
  EXPECT_EQ(log.result[0].dsts & 0xf, 0xf) << "no result yet";
  clock().Advance(30 * kSecond);
  EXPECT_EQ(Log<nvme_self_test_log>(0x06).completion, 50);
  EXPECT_EQ(Status(Cmd(op::kSelfTest, 0, 2)), st::kSelfTestInProgress);
  clock().Advance(30 * kSecond);
  log = Log<nvme_self_test_log>(0x06);
  EXPECT_EQ(log.current_operation, 0);
  EXPECT_EQ(log.result[0].dsts, 0x10) << "short test, completed without error";
  EXPECT_EQ(log.result[0].poh, 3u);
  EXPECT_EQ(log.result[0].nsid, 0xffffffffu);
  EXPECT_EQ(log.result[0].vdi & 1, 1) << "NSID valid";
}

TEST_F(AdminTest, SelfTestAbortResetAndErrors) {
  Start();
  ASSERT_EQ(Status(Cmd(op::kSelfTest, 0, 2)), st::kSuccess) << "extended";
  ASSERT_EQ(Status(Cmd(op::kSelfTest, 0, 0xf)), st::kSuccess) << "abort";
  auto log = Log<nvme_self_test_log>(0x06);
  EXPECT_EQ(log.current_operation, 0);
  EXPECT_EQ(log.result[0].dsts, 0x21) << "extended, aborted by a Device Self-test command";
  // An extended test survives a Controller Level Reset; a short one is aborted by it.
  ASSERT_EQ(Status(Cmd(op::kSelfTest, 0, 2)), st::kSuccess);
  Reset();
  EXPECT_EQ(Log<nvme_self_test_log>(0x06).current_operation, 2);
  clock().Advance(10 * 60 * kSecond);
  log = Log<nvme_self_test_log>(0x06);
  EXPECT_EQ(log.result[0].dsts, 0x20) << "extended, completed (EDSTT = 10 minutes)";
  ASSERT_EQ(Status(Cmd(op::kSelfTest, 1, 1)), st::kSuccess);
  Reset();
  log = Log<nvme_self_test_log>(0x06);
  EXPECT_EQ(log.result[0].dsts, 0x12) << "short, aborted by a Controller Level Reset";
  EXPECT_EQ(log.result[0].nsid, 1u);
  EXPECT_EQ(log.result[2].dsts, 0x21) << "older results move down";
  EXPECT_EQ(Status(Cmd(op::kSelfTest, 0, 3)), st::kInvalidField) << "STC 3 is reserved";
  EXPECT_EQ(Status(Cmd(op::kSelfTest, 7, 1)), st::kInvalidNamespace);
}

}  // namespace
}  // namespace nvemu::admin_test
