// Tests of the null backend (src/storage/null_backend.cc).
#include "storage/null_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <vector>

#include "nvemu/backend.h"

namespace nvemu {
namespace {

constexpr uint64_t kSize = uint64_t{1} << 30;

TEST(NullBackendTest, ReportsSizesAndKind) {
  auto b = MakeNullBackend(kSize, 4096);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->Size(), kSize);
  EXPECT_EQ(b->MetadataSize(), 4096u);
  EXPECT_STREQ(b->Kind(), "null");
}

TEST(NullBackendTest, WritesAreDroppedAndReadsZeroFill) {
  auto b = MakeNullBackend(kSize, 4096);
  ASSERT_NE(b, nullptr);
  const std::vector<uint8_t> data(8192, 0xab);
  ASSERT_TRUE(b->Write(4096, data.data(), data.size()).ok());
  ASSERT_TRUE(b->WriteMetadata(0, data.data(), 4096).ok());

  std::vector<uint8_t> back(8192, 0xcd);
  ASSERT_TRUE(b->Read(4096, back.data(), back.size()).ok());
  EXPECT_TRUE(std::all_of(back.begin(), back.end(), [](uint8_t v) { return v == 0; }));
  std::vector<uint8_t> meta(4096, 0xcd);
  ASSERT_TRUE(b->ReadMetadata(0, meta.data(), meta.size()).ok());
  EXPECT_TRUE(std::all_of(meta.begin(), meta.end(), [](uint8_t v) { return v == 0; }));
  EXPECT_EQ(b->AllocatedBytes(), 0u);
  EXPECT_TRUE(b->Flush().ok());
}

TEST(NullBackendTest, OutOfBoundsIsErangeAndLeavesBufferAlone) {
  auto b = MakeNullBackend(kSize, 0);
  ASSERT_NE(b, nullptr);
  uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(b->Read(kSize - 4, buf, sizeof(buf)).err, ERANGE);
  EXPECT_EQ(buf[0], 1);  // not zero-filled on error
  EXPECT_EQ(b->Write(UINT64_MAX - 2, buf, sizeof(buf)).err, ERANGE);
  EXPECT_EQ(b->ReadMetadata(0, buf, 1).err, ERANGE);
  EXPECT_EQ(b->WriteMetadata(0, buf, 1).err, ERANGE);
  EXPECT_TRUE(b->ReadMetadata(0, buf, 0).ok());
}

TEST(NullBackendTest, FactoryRejectsZeroSize) {
  auto r = CreateNullBackend(0, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("size"), std::string::npos);
  EXPECT_EQ(MakeNullBackend(0, 8), nullptr);
}

}  // namespace
}  // namespace nvemu
