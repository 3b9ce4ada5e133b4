#include "storage/sparse_table.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <thread>

namespace nvemu {
namespace {

constexpr size_t kPage = 4096;

size_t RoundUpToPage(uint64_t n) { return static_cast<size_t>((n + kPage - 1) & ~(kPage - 1)); }

}  // namespace

// A leaf: one anonymous mapping of its span (reserved, populated by the kernel on touch) and one
// state byte per chunk. Owns the mapping.
class SparseTable::Leaf {
 public:
  enum : uint8_t { kEmpty = 0, kFilling = 1, kLive = 2 };

  // nullptr when the mapping or the state array cannot be allocated.
  static Leaf* Create(uint64_t span, uint64_t chunks) {
    const size_t bytes = RoundUpToPage(span);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    std::unique_ptr<std::atomic<uint8_t>[]> state(new (std::nothrow)
                                                      std::atomic<uint8_t>[chunks]());
    Leaf* leaf = state ? new (std::nothrow)
                             Leaf(static_cast<std::byte*>(p), bytes, std::move(state))
                       : nullptr;
    if (leaf == nullptr) ::munmap(p, bytes);
    return leaf;
  }
  ~Leaf() { ::munmap(base_, bytes_); }
  Leaf(const Leaf&) = delete;
  Leaf& operator=(const Leaf&) = delete;

  // Memory of the byte at `off` within the leaf's span.
  std::byte* at(uint64_t off) const { return base_ + off; }
  std::atomic<uint8_t>& state(uint64_t chunk) { return state_[chunk]; }
  const std::atomic<uint8_t>& state(uint64_t chunk) const { return state_[chunk]; }

 private:
  Leaf(std::byte* base, size_t bytes, std::unique_ptr<std::atomic<uint8_t>[]> state)
      : base_(base), bytes_(bytes), state_(std::move(state)) {}

  std::byte* const base_;
  const size_t bytes_;
  std::unique_ptr<std::atomic<uint8_t>[]> state_;
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

const std::byte* SparseTable::FindChunk(uint64_t chunk) const {
  // Acquire pairs with the release that published the leaf / marked the chunk live: a visible
  // live state implies visible fill.
  Leaf* leaf = leaves_[chunk >> kLeafBits].load(std::memory_order_acquire);
  if (leaf == nullptr) return nullptr;
  const uint64_t index = chunk & (kLeafEntries - 1);
  if (leaf->state(index).load(std::memory_order_acquire) != Leaf::kLive) return nullptr;
  return leaf->at(index << kChunkBits);
}

SparseTable::Leaf* SparseTable::GetOrCreateLeaf(uint64_t leaf_index) {
  std::atomic<Leaf*>& slot = leaves_[leaf_index];
  Leaf* leaf = slot.load(std::memory_order_acquire);
  if (leaf != nullptr) return leaf;

  // The last leaf covers only the rest of the table.
  const uint64_t first = leaf_index * kLeafSpan;
  const uint64_t span = std::min(kLeafSpan, size_ - first);
  std::unique_ptr<Leaf> fresh(Leaf::Create(span, (span + kChunkSize - 1) >> kChunkBits));
  if (fresh == nullptr) return nullptr;
  // On failure `leaf` receives the winner's pointer and `fresh` unmaps our copy.
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
  std::byte* data = leaf->at(index << kChunkBits);
  std::atomic<uint8_t>& state = leaf->state(index);
  uint8_t s = state.load(std::memory_order_acquire);
  if (s == Leaf::kLive) return data;
  const uint64_t length = ChunkLength(chunk);
  if (zero_fill_) {
    // Fresh and MADV_DONTNEED pages read as zero: nothing to fill. Count the chunk once.
    if (state.exchange(Leaf::kLive, std::memory_order_acq_rel) != Leaf::kLive) {
      allocated_.fetch_add(length, std::memory_order_relaxed);
    }
    return data;
  }
  // Non-zero pattern: one first writer fills, the others wait until it is live.
  while (s != Leaf::kLive) {
    if (s == Leaf::kEmpty &&
        state.compare_exchange_strong(s, Leaf::kFilling, std::memory_order_acquire)) {
      FillBytes(data, chunk << kChunkBits, length);
      state.store(Leaf::kLive, std::memory_order_release);
      allocated_.fetch_add(length, std::memory_order_relaxed);
      return data;
    }
    if (s == Leaf::kFilling) {
      std::this_thread::yield();
      s = state.load(std::memory_order_acquire);
    }
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

const std::byte* SparseTable::MapRead(uint64_t off, size_t len) const {
  if (len == 0 || off >= size_ || len > size_ - off) return nullptr;
  const uint64_t last = off + len - 1;
  if (off / kLeafSpan != last / kLeafSpan) return nullptr;  // two mappings
  const Leaf* leaf = leaves_[off / kLeafSpan].load(std::memory_order_acquire);
  if (leaf == nullptr) return nullptr;
  // Acquire pairs with the release that marked a chunk live (its fill, if any, is visible).
  for (uint64_t c = off >> kChunkBits; c <= last >> kChunkBits; ++c) {
    if (leaf->state(c & (kLeafEntries - 1)).load(std::memory_order_acquire) != Leaf::kLive) {
      return nullptr;
    }
  }
  return leaf->at(off & (kLeafSpan - 1));
}

void SparseTable::Prefetch(uint64_t off, size_t len, bool write) const {
  if (off >= size_) return;
  const Leaf* leaf = leaves_[off / kLeafSpan].load(std::memory_order_acquire);
  if (leaf == nullptr) return;
  // No state check: that would be one more load before the prefetch can issue, and prefetching a
  // chunk that is not live is harmless (at worst a page never touched, which the CPU drops).
  const std::byte* p = leaf->at(off & (kLeafSpan - 1));
  const uint64_t in_chunk = off & (kChunkSize - 1);
  // A few lines: the hardware prefetcher follows the stream once the copy starts.
  const uint64_t n = std::min<uint64_t>({len, kChunkSize - in_chunk, 256});
  for (uint64_t i = 0; i < n; i += 64) {
    if (write) {
      __builtin_prefetch(p + i, 1, 3);
    } else {
      __builtin_prefetch(p + i, 0, 3);
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
    const uint64_t index = chunk & (kLeafEntries - 1);
    // Only live chunks hold data; the others already read as the pattern.
    if (leaf != nullptr && leaf->state(index).load(std::memory_order_acquire) == Leaf::kLive) {
      std::byte* data = leaf->at(index << kChunkBits);
      if (in_chunk == 0 && n == length && zero_fill_) {
        // Whole chunk: give the pages back; they read as zero until written again.
        if (::madvise(data, RoundUpToPage(length), MADV_DONTNEED) != 0) {
          std::memset(data, 0, length);
        }
        if (leaf->state(index).exchange(Leaf::kEmpty, std::memory_order_acq_rel) == Leaf::kLive) {
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
