// Tests of the backend error -> NVMe status mapping (src/storage/io_status.cc).
#include "storage/io_status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace nvemu {
namespace {

// Compares whole status fields (SCT, SC, DNR, More) and prints them as hex on failure.
void ExpectStatus(Status actual, Status expected) {
  EXPECT_EQ(actual.field(), expected.field())
      << std::hex << "actual 0x" << actual.field() << " expected 0x" << expected.field();
}

TEST(IoStatusTest, OkIsSuccessInEveryDirection) {
  for (auto d : {IoDirection::kRead, IoDirection::kWrite, IoDirection::kFlush}) {
    const Status s = ToNvmeStatus(IoStatus{}, d);
    EXPECT_TRUE(s.ok());
    ExpectStatus(s, sc::kSuccess);
  }
}

TEST(IoStatusTest, MediaErrorsDependOnDirection) {
  for (int err : {EIO, ENODATA, EBADMSG}) {
    SCOPED_TRACE(err);
    ExpectStatus(ToNvmeStatus(IoStatus{err}, IoDirection::kRead), sc::kUnrecoveredReadError);
    ExpectStatus(ToNvmeStatus(IoStatus{err}, IoDirection::kWrite), storage_sc::kWriteFault);
    ExpectStatus(ToNvmeStatus(IoStatus{err}, IoDirection::kFlush), storage_sc::kWriteFault);
  }
  // Figure 96 values: Media and Data Integrity Errors, 80h Write Fault, 81h Unrecovered Read Error.
  const Status read = ToNvmeStatus(IoStatus{EIO}, IoDirection::kRead);
  EXPECT_EQ(read.sct(), Sct::kMediaError);
  EXPECT_EQ(read.sc(), 0x81);
  EXPECT_FALSE(read.dnr());
  const Status write = ToNvmeStatus(IoStatus{EIO}, IoDirection::kWrite);
  EXPECT_EQ(write.sct(), Sct::kMediaError);
  EXPECT_EQ(write.sc(), 0x80);
  EXPECT_FALSE(write.dnr());
}

TEST(IoStatusTest, NoSpaceIsCapacityExceeded) {
  for (int err : {ENOSPC, EDQUOT}) {
    const Status s = ToNvmeStatus(IoStatus{err}, IoDirection::kWrite);
    ExpectStatus(s, sc::kCapacityExceeded);
    EXPECT_EQ(s.sct(), Sct::kGeneric);
    EXPECT_EQ(s.sc(), 0x81);
    EXPECT_TRUE(s.dnr());
  }
  ExpectStatus(ToNvmeStatus(IoStatus{ENOSPC}, IoDirection::kFlush), sc::kCapacityExceeded);
}

TEST(IoStatusTest, BoundsErrorIsLbaOutOfRange) {
  const Status s = ToNvmeStatus(IoStatus{ERANGE}, IoDirection::kRead);
  ExpectStatus(s, sc::kLbaOutOfRange);
  EXPECT_EQ(s.sc(), 0x80);
  EXPECT_EQ(s.sct(), Sct::kGeneric);
}

TEST(IoStatusTest, ReadOnlyStorageIsWriteProtectedForWritesOnly) {
  const Status s = ToNvmeStatus(IoStatus{EROFS}, IoDirection::kWrite);
  ExpectStatus(s, storage_sc::kNamespaceWriteProtected);
  EXPECT_EQ(s.sct(), Sct::kGeneric);
  EXPECT_EQ(s.sc(), 0x20);
  ExpectStatus(ToNvmeStatus(IoStatus{EROFS}, IoDirection::kFlush),
               storage_sc::kNamespaceWriteProtected);
  // A read cannot meaningfully fail with EROFS: treated as unexpected.
  ExpectStatus(ToNvmeStatus(IoStatus{EROFS}, IoDirection::kRead), sc::kInternalError);
}

TEST(IoStatusTest, PermissionErrorsAreAccessDenied) {
  for (int err : {EACCES, EPERM}) {
    const Status s = ToNvmeStatus(IoStatus{err}, IoDirection::kRead);
    ExpectStatus(s, storage_sc::kAccessDenied);
    EXPECT_EQ(s.sct(), Sct::kMediaError);
    EXPECT_EQ(s.sc(), 0x86);
  }
}

TEST(IoStatusTest, EverythingElseIsInternalError) {
  for (int err : {EINVAL, EBADF, ENOMEM, EFAULT, EAGAIN, 12345}) {
    SCOPED_TRACE(err);
    const Status s = ToNvmeStatus(IoStatus{err}, IoDirection::kWrite);
    ExpectStatus(s, sc::kInternalError);
    EXPECT_EQ(s.sct(), Sct::kGeneric);
    EXPECT_EQ(s.sc(), 0x06);
    EXPECT_FALSE(s.ok());
  }
}

TEST(IoStatusTest, DirectionNames) {
  EXPECT_STREQ(IoDirectionName(IoDirection::kRead), "read");
  EXPECT_STREQ(IoDirectionName(IoDirection::kWrite), "write");
  EXPECT_STREQ(IoDirectionName(IoDirection::kFlush), "flush");
}

}  // namespace
}  // namespace nvemu
