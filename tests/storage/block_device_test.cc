// A block device as the data image of the file backend (include/nvemu/backend.h OpenFileBackend;
// storage/image_file.cc: BLKGETSIZE64, never created or resized): a loop device over a temporary
// file. Synchronous I/O, Deallocate, Flush, reopening, the size check, and io_uring with O_DIRECT.
//
// Needs root and loop devices (/dev/loop-control); skipped otherwise. The loop device is attached
// with LO_FLAGS_AUTOCLEAR, so it detaches itself when the test closes it, even if the test dies.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/io_ring.h"
#include "nvemu/backend.h"
#include "storage/async_io.h"

namespace nvemu {
namespace {

constexpr uint64_t kDeviceBytes = 16ull << 20;
constexpr uint64_t kNsBytes = 8ull << 20;  // a namespace may use the start of a larger device

class TestRingHost final : public engine::IoRingHost {
 public:
  engine::IoRing* EnsureIoRing() override {
    if (!ring_ && !failed_) {
      int err = 0;
      ring_ = engine::IoRing::Create(32, -1, &err);
      failed_ = !ring_;
    }
    return ring_.get();
  }

 private:
  std::unique_ptr<engine::IoRing> ring_;
  bool failed_ = false;
};

// A loop device over `backing` (attached on construction; path() empty when that failed).
class LoopDevice {
 public:
  explicit LoopDevice(const std::string& backing) {
    const int ctl = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (ctl < 0) {
      why_ = std::string("/dev/loop-control: ") + std::strerror(errno);
      return;
    }
    const int file = ::open(backing.c_str(), O_RDWR | O_CLOEXEC);
    for (int attempt = 0; attempt < 16 && file >= 0 && fd_ < 0; ++attempt) {
      const int n = ::ioctl(ctl, LOOP_CTL_GET_FREE);
      if (n < 0) {
        why_ = std::string("LOOP_CTL_GET_FREE: ") + std::strerror(errno);
        break;
      }
      std::string path = "/dev/loop" + std::to_string(n);
      const int dev = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (dev < 0) continue;
      loop_config cfg{};
      cfg.fd = static_cast<uint32_t>(file);
      cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
      if (::ioctl(dev, LOOP_CONFIGURE, &cfg) == 0) {
        fd_ = dev;
        path_ = path;
        break;
      }
      why_ = std::string("LOOP_CONFIGURE: ") + std::strerror(errno);
      ::close(dev);  // taken by someone else meanwhile (EBUSY): try the next free one
    }
    if (file >= 0) ::close(file);
    ::close(ctl);
  }
  ~LoopDevice() {
    if (fd_ >= 0) {
      ::ioctl(fd_, LOOP_CLR_FD, 0);
      ::close(fd_);
    }
  }
  const std::string& path() const { return path_; }
  const std::string& why() const { return why_; }

 private:
  int fd_ = -1;
  std::string path_;
  std::string why_;
};

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7 + (i >> 9));
  return v;
}

class BlockDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "loop devices need root";
    char tmpl[] = "/tmp/nvemu-blockdev-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    backing_ = dir_ + "/backing.img";
    {
      const int fd = ::open(backing_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kDeviceBytes)), 0);
      ::close(fd);
    }
    loop_ = std::make_unique<LoopDevice>(backing_);
    if (loop_->path().empty()) GTEST_SKIP() << "no loop device: " << loop_->why();
  }
  void TearDown() override {
    loop_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  FileBackendOptions Options() const {
    FileBackendOptions o;
    o.data_path = loop_->path();
    o.metadata_path = dir_ + "/meta.img";
    o.size = kNsBytes;
    o.metadata_size = kNsBytes / 512 * 8;
    return o;
  }
  std::vector<uint8_t> BackingBytes(uint64_t off, size_t n) const {
    std::vector<uint8_t> v(n);
    const int fd = ::open(backing_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, v.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    ::close(fd);
    return v;
  }

  std::string dir_, backing_;
  std::unique_ptr<LoopDevice> loop_;
};

TEST_F(BlockDeviceTest, SynchronousIoDeallocateFlushAndReopen) {
  const auto a = Pattern(64 * 1024, 1), b = Pattern(4096, 2);
  {
    auto r = OpenFileBackend(Options());
    ASSERT_TRUE(r.ok()) << r.error().message;
    Backend& be = *r.value();
    EXPECT_EQ(be.Size(), kNsBytes);
    EXPECT_EQ(be.AllocatedBytes(), kNsBytes);  // a device has no holes to count
    ASSERT_TRUE(be.Write(0, a.data(), a.size()).ok());
    ASSERT_TRUE(be.Write(kNsBytes - b.size(), b.data(), b.size()).ok());  // the last block
    std::vector<uint8_t> back(a.size());
    ASSERT_TRUE(be.Read(0, back.data(), back.size()).ok());
    EXPECT_EQ(back, a);
    // Deallocate: the kernel zeroes or discards the range; it reads as zero afterwards.
    ASSERT_TRUE(be.Deallocate(8192, 8192).ok());
    std::vector<uint8_t> z(8192);
    ASSERT_TRUE(be.Read(8192, z.data(), z.size()).ok());
    EXPECT_EQ(z, std::vector<uint8_t>(8192, 0));
    ASSERT_TRUE(be.Flush().ok());
  }
  // Flushed through the device into the file behind it, at the same offsets.
  std::vector<uint8_t> want = a;
  std::memset(want.data() + 8192, 0, 8192);
  EXPECT_EQ(BackingBytes(0, a.size()), want);
  EXPECT_EQ(BackingBytes(kNsBytes - b.size(), b.size()), b);
  // Reopened: the device is neither created nor truncated; the data is still there.
  auto r = OpenFileBackend(Options());
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<uint8_t> back(b.size());
  ASSERT_TRUE(r.value()->Read(kNsBytes - b.size(), back.data(), back.size()).ok());
  EXPECT_EQ(back, b);
}

TEST_F(BlockDeviceTest, DeviceSmallerThanTheNamespaceIsRefused) {
  FileBackendOptions o = Options();
  o.size = kDeviceBytes + 4096;
  auto r = OpenFileBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("less than the configured"), std::string::npos)
      << r.error().message;
}

// io_uring on the device opened with O_DIRECT: aligned requests go straight to the device.
TEST_F(BlockDeviceTest, IoUringWithODirect) {
  TestRingHost host;
  engine::IoRingHost::SetForThread(&host);
  if (host.EnsureIoRing() == nullptr) {
    engine::IoRingHost::SetForThread(nullptr);
    GTEST_SKIP() << "io_uring unavailable here";
  }
  FileBackendOptions o = Options();
  o.direct = true;
  o.io_uring = true;
  auto r = OpenFileBackend(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  AsyncBackend* async = r.value()->Async();
  ASSERT_NE(async, nullptr);
  constexpr size_t kLen = 16384;
  auto* wbuf = static_cast<uint8_t*>(std::aligned_alloc(4096, kLen));
  auto* rbuf = static_cast<uint8_t*>(std::aligned_alloc(4096, kLen));
  const auto data = Pattern(kLen, 3);
  std::memcpy(wbuf, data.data(), kLen);
  struct Rec {
    AsyncIo io;
    int calls = 0;
    IoStatus st;
  } w, rd;
  for (Rec* rec : {&w, &rd}) {
    rec->io.user = rec;
    rec->io.done = [](AsyncIo* io, IoStatus st) {
      auto* x = static_cast<Rec*>(io->user);
      ++x->calls;
      x->st = st;
    };
  }
  iovec wiov{wbuf, kLen};
  ASSERT_TRUE(async->StartWrite(&w.io, 1 << 20, &wiov, 1, /*durable=*/true));
  host.EnsureIoRing()->WaitInflight();
  EXPECT_EQ(w.calls, 1);
  EXPECT_TRUE(w.st.ok()) << std::strerror(w.st.err);
  iovec riov{rbuf, kLen};
  ASSERT_TRUE(async->StartRead(&rd.io, 1 << 20, &riov, 1));
  host.EnsureIoRing()->WaitInflight();
  EXPECT_EQ(rd.calls, 1);
  EXPECT_TRUE(rd.st.ok()) << std::strerror(rd.st.err);
  EXPECT_EQ(std::memcmp(rbuf, data.data(), kLen), 0);
  // An unaligned request is refused by the async path (the caller then bounces it synchronously).
  iovec odd{wbuf + 512, 4096};
  Rec x;
  x.io.user = &x;
  x.io.done = rd.io.done;
  EXPECT_FALSE(async->StartWrite(&x.io, 512, &odd, 1, false));
  std::vector<uint8_t> small(512, 0xEE);
  ASSERT_TRUE(r.value()->Write(512, small.data(), small.size()).ok());  // bounce buffer
  std::vector<uint8_t> back(512);
  ASSERT_TRUE(r.value()->Read(512, back.data(), back.size()).ok());
  EXPECT_EQ(back, small);
  r.value().reset();
  engine::IoRingHost::SetForThread(nullptr);
  std::free(wbuf);
  std::free(rbuf);
  EXPECT_EQ(BackingBytes(1 << 20, kLen), data);  // durable write: in the file behind the device
}

}  // namespace
}  // namespace nvemu
