// Namespace Management and Namespace Attachment (NVMe Base 2.0, 5.21 and 5.20): the capacity
// pool, the Changed Namespace List (5.16.1.5) with the Namespace Attribute Changed notice, every
// error status, and I/O running while the namespace table is swapped.
#include <atomic>
#include <thread>

#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

uint64_t Lo64(const uint8_t (&v)[16]) {
  uint64_t x;
  std::memcpy(&x, v, 8);
  return x;
}

class NsMgmtTest : public AdminTest {
 protected:
  NsMgmtTest() {
    config().max_namespaces = 4;
    config().nvm_capacity = 64ull << 20;
  }
  // Create with NSZE = NCAP = `blocks` in LBA format `lbaf`; returns the status, NSID in *nsid.
  uint16_t Create(uint64_t blocks, uint8_t lbaf = 0, uint32_t* nsid = nullptr, uint64_t ncap = 0) {
    DmaBuffer b = Alloc(4096);
    nvme_id_ns id{};
    id.nsze = blocks;
    id.ncap = ncap ? ncap : blocks;
    id.flbas = lbaf;
    std::memcpy(b.ptr, &id, sizeof(id));
    Cqe c = Admin(Cmd(op::kNsMgmt, 0, 0), &b, 4096);
    if (nsid) *nsid = c.dw0;
    return Code(c);
  }
  uint16_t Attach(uint32_t nsid, bool attach, std::vector<uint16_t> ids = {0}) {
    DmaBuffer b = Alloc(4096);
    nvme_ctrl_list list{};
    list.num = static_cast<uint16_t>(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) list.identifier[i] = ids[i];
    std::memcpy(b.ptr, &list, sizeof(list));
    return Status(Cmd(op::kNsAttach, nsid, attach ? 0 : 1), &b, 4096);
  }
  uint16_t Delete(uint32_t nsid) { return Status(Cmd(op::kNsMgmt, nsid, 1)); }
};

TEST_F(NsMgmtTest, CreateAttachDetachDeleteWithNotices) {
  Start();
  EXPECT_EQ(Lo64(IdCtrl().unvmcap), 48ull << 20);
  uint32_t nsid = 0;
  ASSERT_EQ(Create((8ull << 20) / 4096, 1, &nsid), st::kSuccess);
  EXPECT_EQ(nsid, 2u);
  EXPECT_EQ(Lo64(IdCtrl().unvmcap), 40ull << 20) << "taken from the pool";
  uint16_t aer = Submit(Cmd(op::kAer));
  ASSERT_EQ(Attach(2, true), st::kSuccess);
  Cqe c;
  ASSERT_TRUE(Wait(aer, &c));
  EXPECT_EQ(c.dw0, 0x2u | (0x00u << 8) | (0x04u << 16)) << "namespace attribute changed";
  std::vector<uint8_t> v;
  ASSERT_EQ(GetLog(0x04, 4096, &v), st::kSuccess);
  auto list = As<nvme_ns_list>(v);
  EXPECT_EQ(list.ns[0], 2u);
  EXPECT_EQ(list.ns[1], 0u);
  ASSERT_EQ(GetLog(0x04, 4096, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_ns_list>(v).ns[0], 0u) << "cleared by the read with RAE = 0";
  // The new namespace serves I/O in its own format.
  EXPECT_EQ(IdNs(2).nsze, (8ull << 20) / 4096);
  DmaBuffer b = Alloc(8192);
  std::memset(b.ptr, 0x33, 8192);
  ASSERT_EQ(Io(op::kWrite, 2, 5, 2, &b, 8192), st::kSuccess);
  std::memset(b.ptr, 0, 8192);
  ASSERT_EQ(Io(op::kRead, 2, 5, 2, &b, 8192), st::kSuccess);
  EXPECT_EQ(b.ptr[8191], 0x33);

  EXPECT_EQ(Attach(2, true), st::kAlreadyAttached);
  uint16_t aer2 = Submit(Cmd(op::kAer));
  ASSERT_EQ(Attach(2, false), st::kSuccess);
  ASSERT_TRUE(Wait(aer2, &c));
  EXPECT_EQ(Attach(2, false), st::kNotAttached);
  EXPECT_EQ(Io(op::kRead, 2, 0, 1, &b, 4096), st::kInvalidNamespace) << "detached";
  ASSERT_EQ(Delete(2), st::kSuccess);
  EXPECT_EQ(Lo64(IdCtrl().unvmcap), 48ull << 20) << "capacity returned";
  EXPECT_EQ(Delete(2), st::kInvalidNamespace);
  EXPECT_EQ(Attach(2, true), st::kInvalidNamespace);
}

TEST_F(NsMgmtTest, CreateErrors) {
  Start();
  EXPECT_EQ(Create((64ull << 20) / 512), st::kInsufficientCapacity) << "48 MiB left";
  EXPECT_EQ(Create(100, 9), st::kInvalidFormat) << "no LBAF 9";
  EXPECT_EQ(Create(0), st::kInvalidField) << "NSZE 0";
  EXPECT_EQ(Create(100, 0, nullptr, 50), st::kThinNotSupported) << "NCAP < NSZE";
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Create(1024), st::kSuccess) << i;
  EXPECT_EQ(Create(1024), st::kNsidUnavailable) << "NN = 4, all allocated";
  EXPECT_EQ(Attach(2, true, {5}), st::kControllerListInvalid) << "no controller 5";
  EXPECT_EQ(Attach(2, true, {}), st::kControllerListInvalid) << "empty list";
  EXPECT_EQ(Attach(0xffffffff, true), st::kInvalidField);
  EXPECT_EQ(Status(Cmd(op::kNsMgmt, 0, 2)), st::kInvalidField) << "SEL 2";
  // Delete all (FFFFFFFFh), including the configured namespace 1.
  ASSERT_EQ(Delete(0xffffffff), st::kSuccess);
  std::vector<uint8_t> v;
  ASSERT_EQ(Identify(0x10, 0, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_ns_list>(v).ns[0], 0u);
  EXPECT_EQ(Lo64(IdCtrl().unvmcap), 64ull << 20);
}

// The namespace table swap while I/O runs on another thread: reads of namespace 1 never fail
// while namespace 2 is attached and detached (the old table is freed only after quiescence).
TEST_F(NsMgmtTest, TableSwapUnderIo) {
  Start();
  ASSERT_EQ(Create(2048), st::kSuccess);
  ASSERT_NE(IoQ(), nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0}, reads{0};
  DmaBuffer b = Alloc(4096);
  host::IoQueue* q = IoQ();
  std::thread io([&] {
    while (!stop.load()) {
      Sqe s = Cmd(op::kRead, 1, 0);
      s.cdw12 = 7;
      auto c = q->Execute(s, std::chrono::seconds(5), &b, 4096);
      if (!c.ok() || Code(*c) != st::kSuccess) failures.fetch_add(1);
      reads.fetch_add(1);
    }
  });
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(Attach(2, true), st::kSuccess);
    ASSERT_EQ(Attach(2, false), st::kSuccess);
  }
  stop = true;
  io.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace nvemu::admin_test
