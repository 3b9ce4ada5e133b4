#include "storage/sparse_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

namespace nvemu {
namespace {

constexpr size_t kPage = 4096;

size_t RoundUpToPage(uint64_t n) { return static_cast<size_t>((n + kPage - 1) & ~(kPage - 1)); }

}  // namespace

// A leaf: kLeafEntries (fewer for small tables) atomic chunk pointers and their "holds data"
// flags. Owns its chunks.
class SparseTable::Leaf {
 public:
  explicit Leaf(std::unique_ptr<std::atomic<std::byte*>[]> chunks,
                std::unique_ptr<std::atomic<bool>[]> live, uint64_t count)
      : chunks_(std::move(chunks)), live_(std::move(live)), count_(count) {}
  ~Leaf() {
    for (uint64_t i = 0; i < count_; ++i) std::free(chunks_[i].load(std::memory_order_relaxed));
  }
  Leaf(const Leaf&) = delete;
  Leaf& operator=(const Leaf&) = delete;

  std::atomic<std::byte*>& slot(uint64_t i) { return chunks_[i]; }
  // True while the chunk holds data that counts in AllocatedBytes().
  std::atomic<bool>& live(uint64_t i) { return live_[i]; }

 private:
  std::unique_ptr<std::atomic<std::byte*>[]> chunks_;
  std::unique_ptr<std::atomic<bool>[]> live_;
  uint64_t count_;
};

SparseTable::SparseTable(uint64_t size, const MetadataFill& fill)
    : size_(size),
      fill_(fill),
      zero_fill_(fill.zero()),
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

void SparseTable::FillBytes(std::byte* dst, uint64_t off, size_t len) const {
  if (zero_fill_) {
    std::memset(dst, 0, len);
    return;
  }
  for (size_t i = 0; i < len; ++i) dst[i] = static_cast<std::byte>(fill_.at(off + i));
}

std::byte* SparseTable::FindChunk(uint64_t chunk) const {
  // Acquire pairs with the release of the installing CAS: a visible pointer implies visible fill.
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
  std::unique_ptr<std::atomic<bool>[]> live(new (std::nothrow) std::atomic<bool>[count]());
  if (chunks == nullptr || live == nullptr) return nullptr;
  std::unique_ptr<Leaf> fresh(new (std::nothrow) Leaf(std::move(chunks), std::move(live), count));
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
  const uint64_t index = chunk & (kLeafEntries - 1);
  std::atomic<std::byte*>& slot = leaf->slot(index);
  std::byte* data = slot.load(std::memory_order_acquire);
  if (data == nullptr) {
    const uint64_t length = ChunkLength(chunk);
    // Page aligned so that Deallocate() can hand whole pages back with madvise.
    auto* fresh = static_cast<std::byte*>(std::aligned_alloc(kPage, RoundUpToPage(length)));
    if (fresh == nullptr) return nullptr;
    FillBytes(fresh, chunk << kChunkBits, length);
    if (slot.compare_exchange_strong(data, fresh, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      data = fresh;
    } else {
      std::free(fresh);
    }
  }
  // Count the chunk the first time it holds data (again after a deallocation).
  std::atomic<bool>& live = leaf->live(index);
  if (!live.load(std::memory_order_relaxed) && !live.exchange(true, std::memory_order_relaxed)) {
    allocated_.fetch_add(ChunkLength(chunk), std::memory_order_relaxed);
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
      FillBytes(out, off, n);
    }
    out += n;
    off += n;
    len -= n;
  }
}

void SparseTable::Prefetch(uint64_t off, size_t len, bool write) const {
  if (off >= size_) return;
  const std::byte* data = FindChunk(off >> kChunkBits);
  if (data == nullptr) return;
  const uint64_t in_chunk = off & (kChunkSize - 1);
  // A few lines: the hardware prefetcher follows the stream once the copy starts.
  const uint64_t n = std::min<uint64_t>({len, kChunkSize - in_chunk, 256});
  for (uint64_t i = 0; i < n; i += 64) {
    if (write) {
      __builtin_prefetch(data + in_chunk + i, 1, 3);
    } else {
      __builtin_prefetch(data + in_chunk + i, 0, 3);
    }
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

void SparseTable::Deallocate(uint64_t off, uint64_t len) {
  while (len > 0) {
    const uint64_t chunk = off >> kChunkBits;
    const uint64_t in_chunk = off & (kChunkSize - 1);
    const uint64_t length = ChunkLength(chunk);
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, length - in_chunk));
    Leaf* leaf = leaves_[chunk >> kLeafBits].load(std::memory_order_acquire);
    std::byte* data =
        leaf ? leaf->slot(chunk & (kLeafEntries - 1)).load(std::memory_order_acquire) : nullptr;
    if (data != nullptr) {
      if (in_chunk == 0 && n == length && zero_fill_) {
        // Whole chunk: give the pages back; they read as zero until written again.
        if (::madvise(data, RoundUpToPage(length), MADV_DONTNEED) != 0) {
          std::memset(data, 0, length);
        }
        if (leaf->live(chunk & (kLeafEntries - 1)).exchange(false, std::memory_order_relaxed)) {
          allocated_.fetch_sub(length, std::memory_order_relaxed);
        }
      } else {
        FillBytes(data + in_chunk, off, n);
      }
    }
    off += n;
    len -= n;
  }
}

}  // namespace nvemu
