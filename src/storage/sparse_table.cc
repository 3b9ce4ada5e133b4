#include "storage/sparse_table.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace nvemu {

// A leaf: kLeafEntries (fewer for small tables) atomic chunk pointers. Owns its chunks.
class SparseTable::Leaf {
 public:
  explicit Leaf(std::unique_ptr<std::atomic<std::byte*>[]> chunks, uint64_t count)
      : chunks_(std::move(chunks)), count_(count) {}
  ~Leaf() {
    for (uint64_t i = 0; i < count_; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
  }
  Leaf(const Leaf&) = delete;
  Leaf& operator=(const Leaf&) = delete;

  std::atomic<std::byte*>& slot(uint64_t i) { return chunks_[i]; }

 private:
  std::unique_ptr<std::atomic<std::byte*>[]> chunks_;
  uint64_t count_;
};

SparseTable::SparseTable(uint64_t size)
    : size_(size),
      chunk_count_((size + kChunkSize - 1) >> kChunkBits),
      leaf_count_((chunk_count_ + kLeafEntries - 1) >> kLeafBits),
      // Value-initialised: every leaf pointer starts as nullptr.
      leaves_(std::make_unique<std::atomic<Leaf*>[]>(leaf_count_)) {}

SparseTable::~SparseTable() {
  for (uint64_t i = 0; i < leaf_count_; ++i) delete leaves_[i].load(std::memory_order_relaxed);
}

uint64_t SparseTable::ChunkLength(uint64_t chunk) const {
  return std::min(kChunkSize, size_ - (chunk << kChunkBits));
}

std::byte* SparseTable::FindChunk(uint64_t chunk) const {
  // Acquire pairs with the release of the installing CAS: a visible pointer implies visible zeroes.
  Leaf* leaf = leaves_[chunk >> kLeafBits].load(std::memory_order_acquire);
  if (leaf == nullptr) return nullptr;
  return leaf->slot(chunk & (kLeafEntries - 1)).load(std::memory_order_acquire);
}

SparseTable::Leaf* SparseTable::GetOrCreateLeaf(uint64_t leaf_index) {
  std::atomic<Leaf*>& slot = leaves_[leaf_index];
  Leaf* leaf = slot.load(std::memory_order_acquire);
  if (leaf != nullptr) return leaf;

  // Small tables get a leaf just big enough for their chunks.
  const uint64_t count = std::min(kLeafEntries, chunk_count_ - (leaf_index << kLeafBits));
  std::unique_ptr<std::atomic<std::byte*>[]> chunks(new (std::nothrow)
                                                        std::atomic<std::byte*>[count]());
  if (chunks == nullptr) return nullptr;
  std::unique_ptr<Leaf> fresh(new (std::nothrow) Leaf(std::move(chunks), count));
  if (fresh == nullptr) return nullptr;
  // On failure `leaf` receives the winner's pointer and `fresh` frees our copy.
  if (slot.compare_exchange_strong(leaf, fresh.get(), std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
    leaf = fresh.release();
  }
  return leaf;
}

std::byte* SparseTable::GetOrCreateChunk(uint64_t chunk) {
  Leaf* leaf = GetOrCreateLeaf(chunk >> kLeafBits);
  if (leaf == nullptr) return nullptr;
  std::atomic<std::byte*>& slot = leaf->slot(chunk & (kLeafEntries - 1));
  std::byte* data = slot.load(std::memory_order_acquire);
  if (data != nullptr) return data;

  const uint64_t length = ChunkLength(chunk);
  std::unique_ptr<std::byte[]> fresh(new (std::nothrow) std::byte[length]());  // zeroed
  if (fresh == nullptr) return nullptr;
  if (slot.compare_exchange_strong(data, fresh.get(), std::memory_order_acq_rel,
                                   std::memory_order_acquire)) {
    data = fresh.release();
    allocated_.fetch_add(length, std::memory_order_relaxed);
  }
  return data;
}

void SparseTable::Read(uint64_t off, void* dst, size_t len) const {
  auto* out = static_cast<std::byte*>(dst);
  while (len > 0) {
    const uint64_t chunk = off >> kChunkBits;
    const uint64_t in_chunk = off & (kChunkSize - 1);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, kChunkSize - in_chunk));
    if (const std::byte* data = FindChunk(chunk)) {
      std::memcpy(out, data + in_chunk, n);
    } else {
      std::memset(out, 0, n);
    }
    out += n;
    off += n;
    len -= n;
  }
}

IoStatus SparseTable::Write(uint64_t off, const void* src, size_t len) {
  const auto* in = static_cast<const std::byte*>(src);
  while (len > 0) {
    const uint64_t chunk = off >> kChunkBits;
    const uint64_t in_chunk = off & (kChunkSize - 1);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, kChunkSize - in_chunk));
    std::byte* data = GetOrCreateChunk(chunk);
    if (data == nullptr) return IoStatus{ENOSPC};
    std::memcpy(data + in_chunk, in, n);
    in += n;
    off += n;
    len -= n;
  }
  return IoStatus{};
}

}  // namespace nvemu
