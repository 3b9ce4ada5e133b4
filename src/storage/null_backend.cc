// Null backend; see storage/null_backend.h for the contract.
#include "storage/null_backend.h"

#include <cerrno>
#include <cstring>

#include "storage/bounds.h"
#include "storage/logger.h"

namespace nvemu {
namespace {

class NullBackend final : public Backend {
 public:
  NullBackend(uint64_t size, uint64_t metadata_size) : size_(size), metadata_size_(metadata_size) {}

  uint64_t Size() const override { return size_; }
  uint64_t MetadataSize() const override { return metadata_size_; }

  IoStatus Read(uint64_t off, void* dst, size_t len) override {
    return ZeroFill(off, dst, len, size_);
  }
  IoStatus Write(uint64_t off, const void*, size_t len) override { return Drop(off, len, size_); }
  IoStatus ReadMetadata(uint64_t off, void* dst, size_t len) override {
    return ZeroFill(off, dst, len, metadata_size_);
  }
  IoStatus WriteMetadata(uint64_t off, const void*, size_t len) override {
    return Drop(off, len, metadata_size_);
  }
  IoStatus Flush() override { return IoStatus{}; }
  uint64_t AllocatedBytes() const override { return 0; }
  const char* Kind() const override { return "null"; }

 private:
  static IoStatus ZeroFill(uint64_t off, void* dst, size_t len, uint64_t limit) {
    if (!RangeInBounds(off, len, limit)) return IoStatus{ERANGE};
    if (len > 0) std::memset(dst, 0, len);
    return IoStatus{};
  }
  static IoStatus Drop(uint64_t off, size_t len, uint64_t limit) {
    return RangeInBounds(off, len, limit) ? IoStatus{} : IoStatus{ERANGE};
  }

  const uint64_t size_;
  const uint64_t metadata_size_;
};

}  // namespace

Result<std::unique_ptr<Backend>> CreateNullBackend(uint64_t size, uint64_t metadata_size) {
  if (size == 0) return Error{"null backend: size must be greater than 0"};
  return std::unique_ptr<Backend>(std::make_unique<NullBackend>(size, metadata_size));
}

std::unique_ptr<Backend> MakeNullBackend(uint64_t size, uint64_t metadata_size) {
  auto backend = CreateNullBackend(size, metadata_size);
  if (!backend) {
    StorageLogger()->error("{}", backend.error().message);
    return nullptr;
  }
  return std::move(backend).value();
}

}  // namespace nvemu
