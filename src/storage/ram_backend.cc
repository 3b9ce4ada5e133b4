// Sparse RAM backend; see storage/ram_backend.h for the contract.
#include "storage/ram_backend.h"

#include <fmt/format.h>

#include <cerrno>
#include <new>

#include "storage/bounds.h"
#include "storage/logger.h"
#include "storage/sparse_table.h"

namespace nvemu {
namespace {

static_assert(kRamBackendMaxSize <= SparseTable::kMaxSize);

class RamBackend final : public Backend {
 public:
  RamBackend(uint64_t size, uint64_t metadata_size, const MetadataFill& fill)
      : data_(size), metadata_(metadata_size, fill) {}

  uint64_t Size() const override { return data_.size(); }
  uint64_t MetadataSize() const override { return metadata_.size(); }

  IoStatus Read(uint64_t off, void* dst, size_t len) override {
    if (!RangeInBounds(off, len, data_.size())) return IoStatus{ERANGE};
    data_.Read(off, dst, len);
    return IoStatus{};
  }
  IoStatus Write(uint64_t off, const void* src, size_t len) override {
    if (!RangeInBounds(off, len, data_.size())) return IoStatus{ERANGE};
    return data_.Write(off, src, len);
  }
  IoStatus ReadMetadata(uint64_t off, void* dst, size_t len) override {
    if (!RangeInBounds(off, len, metadata_.size())) return IoStatus{ERANGE};
    metadata_.Read(off, dst, len);
    return IoStatus{};
  }
  IoStatus WriteMetadata(uint64_t off, const void* src, size_t len) override {
    if (!RangeInBounds(off, len, metadata_.size())) return IoStatus{ERANGE};
    return metadata_.Write(off, src, len);
  }
  IoStatus Deallocate(uint64_t off, uint64_t len) override {
    if (!RangeInBounds(off, len, data_.size())) return IoStatus{ERANGE};
    data_.Deallocate(off, len);
    return IoStatus{};
  }
  IoStatus DeallocateMetadata(uint64_t off, uint64_t len) override {
    if (!RangeInBounds(off, len, metadata_.size())) return IoStatus{ERANGE};
    metadata_.Deallocate(off, len);
    return IoStatus{};
  }
  // Volatile memory: nothing to make durable.
  IoStatus Flush() override { return IoStatus{}; }
  uint64_t AllocatedBytes() const override { return data_.AllocatedBytes(); }
  const uint8_t* MapRead(uint64_t off, size_t len) override {
    return reinterpret_cast<const uint8_t*>(data_.MapRead(off, len));
  }
  void Prefetch(uint64_t off, size_t len, bool write) override { data_.Prefetch(off, len, write); }
  const char* Kind() const override { return "ram"; }

 private:
  SparseTable data_;
  SparseTable metadata_;
};

}  // namespace

Result<std::unique_ptr<Backend>> CreateRamBackend(uint64_t size, uint64_t metadata_size,
                                                  const MetadataFill& fill) {
  if (size == 0) return Error{"ram backend: size must be greater than 0"};
  if (size > kRamBackendMaxSize || metadata_size > kRamBackendMaxSize) {
    return Error{
        fmt::format("ram backend: size {} / metadata size {} exceeds the limit of {} bytes", size,
                    metadata_size, kRamBackendMaxSize)};
  }
  // The top-level tables are the only up-front allocation (at most 8 MiB each); report failure to
  // allocate them as an Error rather than letting std::bad_alloc escape.
  try {
    return std::unique_ptr<Backend>(std::make_unique<RamBackend>(size, metadata_size, fill));
  } catch (const std::bad_alloc&) {
    return Error{fmt::format("ram backend: out of memory for the tables of a {} byte image", size)};
  }
}

std::unique_ptr<Backend> MakeRamBackend(uint64_t size, uint64_t metadata_size,
                                        const MetadataFill& fill) {
  auto backend = CreateRamBackend(size, metadata_size, fill);
  if (!backend) {
    StorageLogger()->error("{}", backend.error().message);
    return nullptr;
  }
  return std::move(backend).value();
}

}  // namespace nvemu
