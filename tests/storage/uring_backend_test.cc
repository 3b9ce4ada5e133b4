// Tests of the io_uring path of the file backend (src/storage/async_io.cc) and of engine::IoRing:
// round trips with many operations in flight, short transfers finished by resubmission, errors
// mapped to NVMe statuses, durable writes and flushes, and the synchronous fallbacks.
//
// The test thread plays the reactor: it installs an IoRingHost and reaps with WaitInflight().
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io_ring.h"
#include "nvemu/backend.h"
#include "storage/async_io.h"
#include "storage/io_status.h"

namespace nvemu {
namespace {

constexpr uint64_t kSize = 8ull << 20;

class TestRingHost final : public engine::IoRingHost {
 public:
  engine::IoRing* EnsureIoRing() override {
    if (!ring_ && !failed_) {
      int err = 0;
      ring_ = engine::IoRing::Create(64, -1, &err);
      failed_ = !ring_;
    }
    return ring_.get();
  }
  engine::IoRing* ring() { return ring_.get(); }

 private:
  std::unique_ptr<engine::IoRing> ring_;
  bool failed_ = false;
};

// One operation's record: how often `done` ran and with what.
struct Record {
  AsyncIo io;
  int calls = 0;
  IoStatus status;
};

void OnDone(AsyncIo* io, IoStatus st) {
  auto* r = static_cast<Record*>(io->user);
  ++r->calls;
  r->status = st;
}

Record* NewRecord(std::vector<std::unique_ptr<Record>>& records) {
  records.push_back(std::make_unique<Record>());
  Record* r = records.back().get();
  r->io.done = OnDone;
  r->io.user = r;
  return r;
}

class UringBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nvemu-uring-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    engine::IoRingHost::SetForThread(&host_);
    if (host_.EnsureIoRing() == nullptr) GTEST_SKIP() << "io_uring unavailable here";
  }
  void TearDown() override {
    if (host_.ring()) host_.ring()->WaitInflight();
    engine::IoRingHost::SetForThread(nullptr);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FileBackendOptions Options(bool direct = false) const {
    FileBackendOptions o;
    o.data_path = dir_ + "/data.img";
    o.metadata_path = dir_ + "/meta.img";
    o.size = kSize;
    o.metadata_size = kSize / 512 * 8;
    o.direct = direct;
    o.io_uring = true;
    return o;
  }
  std::unique_ptr<Backend> Open(bool direct = false) {
    auto r = OpenFileBackend(Options(direct));
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(r).value() : nullptr;
  }

  std::string dir_;
  TestRingHost host_;
};

TEST_F(UringBackendTest, ManyWritesAndReadsInFlightRoundTrip) {
  auto b = Open();
  ASSERT_TRUE(b);
  AsyncBackend* a = b->Async();
  ASSERT_NE(a, nullptr);
  constexpr int kOps = 100;  // more than the ring's 64 entries: GetSqe submits to make room
  constexpr size_t kLen = 8192;
  std::vector<std::vector<uint8_t>> bufs(kOps, std::vector<uint8_t>(kLen));
  std::vector<std::unique_ptr<Record>> records;
  for (int i = 0; i < kOps; ++i) {
    for (size_t k = 0; k < kLen; ++k) bufs[i][k] = static_cast<uint8_t>(i * 7 + k * 13);
    // Two pieces per write: the iovec path.
    iovec iov[2] = {{bufs[i].data(), 4096}, {bufs[i].data() + 4096, kLen - 4096}};
    ASSERT_TRUE(a->StartWrite(&NewRecord(records)->io, uint64_t(i) * kLen, iov, 2, i % 2 == 0));
  }
  EXPECT_GT(host_.ring()->inflight() + host_.ring()->completed(), 0u);
  host_.ring()->WaitInflight();
  for (auto& r : records) {
    EXPECT_EQ(r->calls, 1);
    EXPECT_TRUE(r->status.ok()) << std::strerror(r->status.err);
  }
  // Read back asynchronously and synchronously.
  records.clear();
  std::vector<std::vector<uint8_t>> back(kOps, std::vector<uint8_t>(kLen));
  for (int i = 0; i < kOps; ++i) {
    iovec iov{back[i].data(), kLen};
    ASSERT_TRUE(a->StartRead(&NewRecord(records)->io, uint64_t(i) * kLen, &iov, 1));
  }
  host_.ring()->WaitInflight();
  for (int i = 0; i < kOps; ++i) {
    EXPECT_EQ(records[i]->calls, 1);
    EXPECT_TRUE(records[i]->status.ok());
    EXPECT_EQ(back[i], bufs[i]) << "op " << i;
    std::vector<uint8_t> sync(kLen);
    ASSERT_TRUE(b->Read(uint64_t(i) * kLen, sync.data(), kLen).ok());
    EXPECT_EQ(sync, bufs[i]);
  }
  // A flush completes once, successfully.
  Record* f = NewRecord(records);
  ASSERT_TRUE(a->StartFlush(&f->io));
  host_.ring()->WaitInflight();
  EXPECT_EQ(f->calls, 1);
  EXPECT_TRUE(f->status.ok());
}

TEST_F(UringBackendTest, CompletionNeverRunsInline) {
  auto b = Open();
  ASSERT_TRUE(b);
  std::vector<uint8_t> buf(4096, 0xab);
  iovec iov{buf.data(), buf.size()};
  std::vector<std::unique_ptr<Record>> records;
  Record* r = NewRecord(records);
  ASSERT_TRUE(b->Async()->StartWrite(&r->io, 0, &iov, 1, false));
  EXPECT_EQ(r->calls, 0);  // submitted later, reaped later
  host_.ring()->WaitInflight();
  EXPECT_EQ(r->calls, 1);
}

// A read that runs past the end of a file: the first readv is short, the rest is resubmitted and
// reads 0 bytes, which is EIO -> Unrecovered Read Error.
TEST_F(UringBackendTest, ShortReadIsResubmittedThenEndOfFileIsUnrecoveredReadError) {
  const std::string path = dir_ + "/short";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> content(6000, 0x5a);
  ASSERT_EQ(::pwrite(fd, content.data(), content.size(), 0), 6000);
  std::vector<uint8_t> buf(8192, 0);
  iovec iov[2] = {{buf.data(), 4096}, {buf.data() + 4096, 4096}};
  std::vector<std::unique_ptr<Record>> records;
  Record* r = NewRecord(records);
  ASSERT_TRUE(StartAsyncReadWrite(&r->io, false, fd, 0, iov, 2, 1, false, -1, -1));
  host_.ring()->WaitInflight();
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->status.err, EIO);
  EXPECT_EQ(ToNvmeStatus(r->status, IoDirection::kRead), sc::kUnrecoveredReadError);
  // The short part arrived before the error (the iovec was advanced, not restarted).
  EXPECT_EQ(buf[5999], 0x5a);
  EXPECT_EQ(buf[6000], 0);
  EXPECT_GE(host_.ring()->completed(), 2u);  // the short readv and the resubmitted rest
  ::close(fd);
}

// RLIMIT_FSIZE makes a write that crosses the limit short; the rest is resubmitted and fails with
// EFBIG, which the one errno mapping reports as an Internal Error.
TEST_F(UringBackendTest, ShortWriteIsResubmittedThenTheErrorIsReported) {
  const std::string path = dir_ + "/limit";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  struct sigaction ign {
  }, old{};
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGXFSZ, &ign, &old), 0);
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit lim = saved;
  lim.rlim_cur = 6000;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &lim), 0);
  std::vector<uint8_t> buf(8192, 0x33);
  iovec iov{buf.data(), buf.size()};
  std::vector<std::unique_ptr<Record>> records;
  Record* r = NewRecord(records);
  ASSERT_TRUE(StartAsyncReadWrite(&r->io, true, fd, 0, &iov, 1, 1, false, -1, -1));
  host_.ring()->WaitInflight();
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &saved), 0);
  ::sigaction(SIGXFSZ, &old, nullptr);
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->status.err, EFBIG);
  EXPECT_EQ(ToNvmeStatus(r->status, IoDirection::kWrite), sc::kInternalError);
  EXPECT_EQ(std::filesystem::file_size(path), 6000u);  // the short part was written
  ::close(fd);
}

TEST_F(UringBackendTest, WriteToReadOnlyDescriptorFails) {
  const std::string path = dir_ + "/ro";
  int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> buf(4096, 1);
  iovec iov{buf.data(), buf.size()};
  std::vector<std::unique_ptr<Record>> records;
  Record* r = NewRecord(records);
  ASSERT_TRUE(StartAsyncReadWrite(&r->io, true, fd, 0, &iov, 1, 1, true, fd, -1));
  host_.ring()->WaitInflight();
  EXPECT_EQ(r->calls, 1);
  EXPECT_EQ(r->status.err, EBADF);
  EXPECT_FALSE(ToNvmeStatus(r->status, IoDirection::kWrite).ok());
  ::close(fd);
}

TEST_F(UringBackendTest, RefusedRequestsFallBackToTheSynchronousPath) {
  auto b = Open(/*direct=*/true);
  ASSERT_TRUE(b);
  AsyncBackend* a = b->Async();
  std::vector<std::unique_ptr<Record>> records;
  void* aligned = std::aligned_alloc(4096, 8192);
  ASSERT_NE(aligned, nullptr);
  auto* p = static_cast<uint8_t*>(aligned);
  // O_DIRECT needs 4 KiB alignment of offset, length and buffer.
  iovec odd_len{p, 512};
  EXPECT_FALSE(a->StartRead(&NewRecord(records)->io, 0, &odd_len, 1));
  iovec odd_buf{p + 512, 4096};
  EXPECT_FALSE(a->StartRead(&NewRecord(records)->io, 0, &odd_buf, 1));
  iovec ok{p, 4096};
  EXPECT_FALSE(a->StartRead(&NewRecord(records)->io, 512, &ok, 1));
  // Out of the image, or too many pieces.
  EXPECT_FALSE(a->StartRead(&NewRecord(records)->io, kSize, &ok, 1));
  std::vector<iovec> many(kMaxAsyncIov + 1, iovec{p, 4096});
  EXPECT_FALSE(a->StartRead(&NewRecord(records)->io, 0, many.data(), kMaxAsyncIov + 1));
  // Aligned: accepted, and completes.
  Record* r = NewRecord(records);
  EXPECT_TRUE(a->StartWrite(&r->io, 4096, &ok, 1, true));
  host_.ring()->WaitInflight();
  EXPECT_EQ(r->calls, 1);
  EXPECT_TRUE(r->status.ok());
  for (size_t i = 0; i + 1 < records.size(); ++i) EXPECT_EQ(records[i]->calls, 0);
  std::free(aligned);

  // A thread without a ring (not a reactor, or io_uring unavailable) never starts anything.
  engine::IoRingHost::SetForThread(nullptr);
  std::vector<uint8_t> buf(4096);
  iovec v{buf.data(), buf.size()};
  Record* none = NewRecord(records);
  EXPECT_FALSE(b->Async()->StartRead(&none->io, 0, &v, 1));
  EXPECT_EQ(none->calls, 0);
  engine::IoRingHost::SetForThread(&host_);
}

TEST(UringRing, DisabledIoUringReportsUnavailable) {
  engine::IoRing::SetDisabledForTesting(true);
  int err = 0;
  auto ring = engine::IoRing::Create(8, -1, &err);
  engine::IoRing::SetDisabledForTesting(false);
  EXPECT_EQ(ring, nullptr);
  EXPECT_NE(err, 0);
}

TEST(UringRing, SyncBackendOptionHasNoAsyncPath) {
  char tmpl[] = "/tmp/nvemu-uring-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  FileBackendOptions o;
  o.data_path = dir + "/d";
  o.metadata_path = dir + "/m";
  o.size = 1 << 20;
  auto b = OpenFileBackend(o);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)->Async(), nullptr);
  b.value().reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nvemu
