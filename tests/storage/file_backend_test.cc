// Tests of the file backend (src/storage/file_backend.cc, image_file.cc) on a temporary directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "nvemu/backend.h"

namespace nvemu {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kSize = 64 * kMiB;
constexpr uint64_t kMetaSize = kSize / 512 * 8;

std::vector<uint8_t> PatternBuffer(size_t len, uint8_t seed) {
  std::vector<uint8_t> buf(len);
  for (size_t i = 0; i < len; ++i) buf[i] = static_cast<uint8_t>(i * 131 + seed + (i >> 8));
  return buf;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/nvemu-storage-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr) << "mkdtemp: " << std::strerror(errno);
    dir_ = tmpl;
    options_.data_path = dir_ + "/nvme_disk.img";
    options_.metadata_path = dir_ + "/nvme_meta.img";
    options_.size = kSize;
    options_.metadata_size = kMetaSize;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) {
      // Restore permissions changed by a test so the tree can be removed.
      std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
      std::filesystem::remove_all(dir_, ec);
    }
  }

  std::unique_ptr<Backend> OpenOrFail(const FileBackendOptions& options) {
    auto r = OpenFileBackend(options);
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (!r.ok()) return nullptr;
    return std::move(r).value();
  }

  std::string dir_;
  FileBackendOptions options_;
};

TEST_F(FileBackendTest, CreatesSparseImagesOfConfiguredSize) {
  auto b = OpenOrFail(options_);
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(b->Kind(), "file");
  EXPECT_EQ(b->Size(), kSize);
  EXPECT_EQ(b->MetadataSize(), kMetaSize);
  EXPECT_EQ(std::filesystem::file_size(options_.data_path), kSize);
  EXPECT_EQ(std::filesystem::file_size(options_.metadata_path), kMetaSize);
  // Sparse: a fresh image holds (almost) no blocks. AllocatedBytes is an estimate from st_blocks.
  EXPECT_LT(b->AllocatedBytes(), kMiB);

  std::vector<uint8_t> buf(4096, 0xee);
  ASSERT_TRUE(b->Read(kSize - buf.size(), buf.data(), buf.size()).ok());
  EXPECT_EQ(buf, std::vector<uint8_t>(4096, 0));
}

TEST_F(FileBackendTest, DataAndMetadataSurviveReopen) {
  const auto data = PatternBuffer(3 * 4096 + 100, 1);
  const auto meta = PatternBuffer(200, 2);
  const uint64_t data_off = kSize / 2 - 4096;
  const uint64_t meta_off = kMetaSize - meta.size();
  {
    auto b = OpenOrFail(options_);
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(b->Write(data_off, data.data(), data.size()).ok());
    ASSERT_TRUE(b->WriteMetadata(meta_off, meta.data(), meta.size()).ok());
    ASSERT_TRUE(b->Flush().ok());
    EXPECT_GE(b->AllocatedBytes(), data.size());
    EXPECT_LE(b->AllocatedBytes(), b->Size());
  }
  auto b = OpenOrFail(options_);
  ASSERT_NE(b, nullptr);
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(b->Read(data_off, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);
  std::vector<uint8_t> meta_back(meta.size());
  ASSERT_TRUE(b->ReadMetadata(meta_off, meta_back.data(), meta_back.size()).ok());
  EXPECT_EQ(meta_back, meta);
  // The two images are separate files: the metadata did not land in the data image.
  std::vector<uint8_t> data_at_meta_off(meta.size());
  ASSERT_TRUE(b->Read(meta_off, data_at_meta_off.data(), data_at_meta_off.size()).ok());
  EXPECT_EQ(data_at_meta_off, std::vector<uint8_t>(meta.size(), 0));
}

TEST_F(FileBackendTest, DataSizeMismatchNamesFileAndSizes) {
  { ASSERT_NE(OpenOrFail(options_), nullptr); }
  FileBackendOptions other = options_;
  other.size = kSize * 2;
  auto r = OpenFileBackend(other);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.error().message;
  EXPECT_TRUE(Contains(msg, options_.data_path)) << msg;
  EXPECT_TRUE(Contains(msg, std::to_string(kSize))) << msg;
  EXPECT_TRUE(Contains(msg, std::to_string(kSize * 2))) << msg;
  // The existing image was not resized.
  EXPECT_EQ(std::filesystem::file_size(options_.data_path), kSize);
}

TEST_F(FileBackendTest, MetadataSizeMismatchNamesMetadataFile) {
  { ASSERT_NE(OpenOrFail(options_), nullptr); }
  FileBackendOptions other = options_;
  other.metadata_size = 0;
  auto r = OpenFileBackend(other);
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.error().message;
  EXPECT_TRUE(Contains(msg, options_.metadata_path)) << msg;
  EXPECT_TRUE(Contains(msg, std::to_string(kMetaSize))) << msg;
  EXPECT_EQ(std::filesystem::file_size(options_.metadata_path), kMetaSize);
}

TEST_F(FileBackendTest, MissingDirectoryIsErrorWithStrerrorText) {
  FileBackendOptions o = options_;
  o.data_path = dir_ + "/no/such/dir/disk.img";
  auto r = OpenFileBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, o.data_path)) << r.error().message;
  EXPECT_TRUE(Contains(r.error().message, std::strerror(ENOENT))) << r.error().message;
}

TEST_F(FileBackendTest, PathThroughARegularFileIsError) {
  // Works even as root, where permission bits do not stop us.
  { std::ofstream(dir_ + "/plain") << "x"; }
  FileBackendOptions o = options_;
  o.metadata_path = dir_ + "/plain/meta.img";
  auto r = OpenFileBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, std::strerror(ENOTDIR))) << r.error().message;
  // The data image this call created was removed again: no half-created pair is left behind.
  EXPECT_FALSE(std::filesystem::exists(options_.data_path));
}

TEST_F(FileBackendTest, UnwritableDirectoryIsError) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  ASSERT_EQ(::chmod(dir_.c_str(), 0500), 0);
  auto r = OpenFileBackend(options_);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, std::strerror(EACCES))) << r.error().message;
}

TEST_F(FileBackendTest, UnwritablePseudoFilesystemIsError) {
  // /proc refuses new files even for root.
  FileBackendOptions o = options_;
  o.data_path = "/proc/nvemu-storage-test.img";
  auto r = OpenFileBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, o.data_path)) << r.error().message;
}

TEST_F(FileBackendTest, DirectoryAsImageIsError) {
  FileBackendOptions o = options_;
  o.data_path = dir_;
  auto r = OpenFileBackend(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.error().message, dir_)) << r.error().message;
}

TEST_F(FileBackendTest, InvalidOptionsAreRejected) {
  FileBackendOptions o = options_;
  o.data_path.clear();
  EXPECT_FALSE(OpenFileBackend(o).ok());
  o = options_;
  o.metadata_path.clear();
  EXPECT_FALSE(OpenFileBackend(o).ok());
  o = options_;
  o.size = 0;
  EXPECT_FALSE(OpenFileBackend(o).ok());
  o = options_;
  o.metadata_path = o.data_path;
  EXPECT_FALSE(OpenFileBackend(o).ok());
  o = options_;
  o.size = UINT64_MAX;
  EXPECT_FALSE(OpenFileBackend(o).ok());
  // Nothing was created by rejected options.
  EXPECT_FALSE(std::filesystem::exists(options_.data_path));
  EXPECT_FALSE(std::filesystem::exists(options_.metadata_path));
}

TEST_F(FileBackendTest, ZeroMetadataSizeCreatesEmptyMetadataImage) {
  options_.metadata_size = 0;
  auto b = OpenOrFail(options_);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(std::filesystem::file_size(options_.metadata_path), 0u);
  uint8_t byte = 0;
  EXPECT_EQ(b->WriteMetadata(0, &byte, 1).err, ERANGE);
  EXPECT_TRUE(b->Flush().ok());
}

TEST_F(FileBackendTest, SecondOpenWhileInUseFails) {
  auto first = OpenOrFail(options_);
  ASSERT_NE(first, nullptr);
  auto second = OpenFileBackend(options_);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(Contains(second.error().message, "in use")) << second.error().message;
  first.reset();
  EXPECT_TRUE(OpenFileBackend(options_).ok());
}

TEST_F(FileBackendTest, FlushAndBoundsChecks) {
  auto b = OpenOrFail(options_);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->Flush().ok());
  uint8_t buf[16] = {};
  EXPECT_EQ(b->Read(kSize - 8, buf, sizeof(buf)).err, ERANGE);
  EXPECT_EQ(b->Write(UINT64_MAX - 1, buf, sizeof(buf)).err, ERANGE);
  EXPECT_EQ(b->ReadMetadata(kMetaSize, buf, 1).err, ERANGE);
  EXPECT_EQ(b->WriteMetadata(kMetaSize - 8, buf, sizeof(buf)).err, ERANGE);
  // Nothing grew the files.
  EXPECT_EQ(std::filesystem::file_size(options_.data_path), kSize);
  EXPECT_EQ(std::filesystem::file_size(options_.metadata_path), kMetaSize);
}

TEST_F(FileBackendTest, ExistingDataImageIsKeptAndMissingMetadataCreated) {
  const auto data = PatternBuffer(4096, 9);
  {
    auto b = OpenOrFail(options_);
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(b->Write(0, data.data(), data.size()).ok());
  }
  ASSERT_TRUE(std::filesystem::remove(options_.metadata_path));
  auto b = OpenOrFail(options_);
  ASSERT_NE(b, nullptr);
  std::vector<uint8_t> back(data.size());
  ASSERT_TRUE(b->Read(0, back.data(), back.size()).ok());
  EXPECT_EQ(back, data);
  EXPECT_EQ(std::filesystem::file_size(options_.metadata_path), kMetaSize);
}

}  // namespace
}  // namespace nvemu
