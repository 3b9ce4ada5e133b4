// Tests of the pread/pwrite loops (src/storage/fd_io.cc) with injected short transfers and EINTR.
#include "storage/fd_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace nvemu {
namespace {

// A fake file: 64 bytes of memory. Each call transfers at most 5 bytes and every other call fails
// with EINTR first, so a correct loop needs many iterations.
struct FakeFile {
  std::vector<char> bytes = std::vector<char>(64, 0);
  int calls = 0;
  int fail_errno = 0;    // when non-zero, every call fails with it
  bool hit_eof = false;  // when true, reads return 0 (end of file)
};
FakeFile* g_file = nullptr;

ssize_t FakePread(int, void* buf, size_t count, off_t offset) {
  ++g_file->calls;
  if (g_file->fail_errno != 0) {
    errno = g_file->fail_errno;
    return -1;
  }
  if (g_file->calls % 2 == 1) {
    errno = EINTR;
    return -1;
  }
  if (g_file->hit_eof) return 0;
  const size_t n = std::min<size_t>(count, 5);
  std::memcpy(buf, g_file->bytes.data() + offset, n);
  return static_cast<ssize_t>(n);
}

ssize_t FakePwrite(int, const void* buf, size_t count, off_t offset) {
  ++g_file->calls;
  if (g_file->fail_errno != 0) {
    errno = g_file->fail_errno;
    return -1;
  }
  if (g_file->calls % 2 == 1) {
    errno = EINTR;
    return -1;
  }
  const size_t n = std::min<size_t>(count, 5);
  std::memcpy(g_file->bytes.data() + offset, buf, n);
  return static_cast<ssize_t>(n);
}

class FdIoTest : public ::testing::Test {
 protected:
  void SetUp() override { g_file = &file_; }
  void TearDown() override { g_file = nullptr; }
  FakeFile file_;
};

TEST_F(FdIoTest, WriteLoopsOverShortWritesAndEintr) {
  std::vector<char> data(23);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i);
  ASSERT_TRUE(WriteFullyAt(-1, data.data(), data.size(), 7, FakePwrite).ok());
  EXPECT_EQ(std::memcmp(file_.bytes.data() + 7, data.data(), data.size()), 0);
  EXPECT_EQ(file_.bytes[6], 0);
  EXPECT_EQ(file_.bytes[30], 0);
  EXPECT_EQ(file_.calls, 10);  // 5 transfers of <= 5 bytes, each preceded by an EINTR
}

TEST_F(FdIoTest, ReadLoopsOverShortReadsAndEintr) {
  for (size_t i = 0; i < file_.bytes.size(); ++i) file_.bytes[i] = static_cast<char>(i * 3);
  std::vector<char> back(17);
  ASSERT_TRUE(ReadFullyAt(-1, back.data(), back.size(), 11, FakePread).ok());
  EXPECT_EQ(std::memcmp(back.data(), file_.bytes.data() + 11, back.size()), 0);
}

TEST_F(FdIoTest, ErrorsAreReturnedAsErrno) {
  file_.fail_errno = EIO;
  char buf[4];
  EXPECT_EQ(ReadFullyAt(-1, buf, sizeof(buf), 0, FakePread).err, EIO);
  file_.fail_errno = ENOSPC;
  EXPECT_EQ(WriteFullyAt(-1, buf, sizeof(buf), 0, FakePwrite).err, ENOSPC);
}

TEST_F(FdIoTest, EarlyEndOfFileIsEio) {
  file_.hit_eof = true;
  char buf[4];
  EXPECT_EQ(ReadFullyAt(-1, buf, sizeof(buf), 0, FakePread).err, EIO);
}

TEST_F(FdIoTest, ZeroLengthDoesNoIo) {
  EXPECT_TRUE(ReadFullyAt(-1, nullptr, 0, 0, FakePread).ok());
  EXPECT_TRUE(WriteFullyAt(-1, nullptr, 0, 0, FakePwrite).ok());
  EXPECT_EQ(file_.calls, 0);
}

TEST(FdIoRealFileTest, BadDescriptorIsEbadf) {
  char buf[4];
  EXPECT_EQ(ReadFullyAt(-1, buf, sizeof(buf), 0).err, EBADF);
  EXPECT_EQ(WriteFullyAt(-1, buf, sizeof(buf), 0).err, EBADF);
}

}  // namespace
}  // namespace nvemu
