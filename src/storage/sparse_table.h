// SparseTable: a byte array of fixed size whose memory is allocated in chunks on first write.
//
// Layout: a top-level array of atomic pointers to leaves, each leaf an array of atomic pointers to
// chunks of kChunkSize bytes (the last chunk of the table may be shorter), page aligned and
// initialised with the table's fill pattern (zeroes unless a MetadataFill is given). Leaves and
// chunks are installed lazily with compare-and-swap: the loser of a race frees its copy and uses
// the winner's. Pointers are never removed before destruction, so a published pointer stays valid.
//
// Deallocation: Deallocate() of a whole chunk of a zero-filled table releases its memory to the
// operating system with madvise(MADV_DONTNEED) (the pages read as zero afterwards and are
// repopulated on the next write) and stops counting it in AllocatedBytes(); the pointer stays, so
// concurrent readers never touch freed memory (no reclamation scheme needed). Partial chunks, and
// every chunk of a table with a non-zero pattern, are overwritten with the pattern instead.
//
// Cost: kTopEntryBytes per kLeafSpan bytes of capacity up front (8 B per GiB: 8 KiB for 1 TiB), one
// leaf (up to kLeafEntries pointers) per GiB region written, plus the written chunks.
//
// Threading: Read and Write may run concurrently from any threads on any ranges. No locks; reads
// and rewrites of allocated chunks never allocate. Concurrent writes to overlapping bytes leave,
// for each byte, the value of one of the writers (plain memcpy: no atomicity larger than a byte is
// promised; see docs in ram_backend.h). Destruction REQUIRES that no call is in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "nvemu/backend.h"

namespace nvemu {

class SparseTable {
 public:
  static constexpr unsigned kChunkBits = 16;  // 64 KiB chunks
  static constexpr uint64_t kChunkSize = uint64_t{1} << kChunkBits;
  static constexpr unsigned kLeafBits = 14;  // 16384 chunks (1 GiB) per leaf
  static constexpr uint64_t kLeafEntries = uint64_t{1} << kLeafBits;
  static constexpr uint64_t kLeafSpan = kChunkSize << kLeafBits;
  static constexpr uint64_t kTopEntryBytes = sizeof(void*);
  // Largest supported size: 1 PiB, i.e. a top-level array of 8 MiB.
  static constexpr uint64_t kMaxSize = uint64_t{1} << 50;

  // REQUIRES: size <= kMaxSize. Allocates only the top-level array. Throws std::bad_alloc only if
  // that array cannot be allocated (the factory checks kMaxSize first). Unwritten bytes read as
  // `fill`.
  explicit SparseTable(uint64_t size, const MetadataFill& fill = {});
  ~SparseTable();
  SparseTable(const SparseTable&) = delete;
  SparseTable& operator=(const SparseTable&) = delete;

  uint64_t size() const { return size_; }
  // Bytes of chunk memory holding data (allocated and not deallocated since).
  uint64_t AllocatedBytes() const { return allocated_.load(std::memory_order_relaxed); }

  // REQUIRES: off + len <= size(). Unwritten bytes read as zero; never allocates.
  void Read(uint64_t off, void* dst, size_t len) const;
  // REQUIRES: off + len <= size(). Allocates missing chunks; returns ENOSPC when memory runs out
  // (the bytes of chunks allocated before the failure are written).
  IoStatus Write(uint64_t off, const void* src, size_t len);
  // Prefetches the first cache lines of [off, off+len) if they are allocated (a hint: the TLB walk
  // and the memory fetch overlap the caller's current work). Never allocates.
  void Prefetch(uint64_t off, size_t len, bool write) const;
  // REQUIRES: off + len <= size(). Afterwards [off, off+len) reads as the fill pattern.
  void Deallocate(uint64_t off, uint64_t len);

 private:
  class Leaf;

  // Length of chunk `chunk` (kChunkSize except possibly the last chunk).
  uint64_t ChunkLength(uint64_t chunk) const;
  // The chunk's memory, or nullptr if it was never written.
  std::byte* FindChunk(uint64_t chunk) const;
  // The chunk's memory, allocating leaf and chunk if needed; nullptr when out of memory.
  std::byte* GetOrCreateChunk(uint64_t chunk);
  Leaf* GetOrCreateLeaf(uint64_t leaf_index);
  // Writes the fill pattern into chunk memory at table offset `off`.
  void FillBytes(std::byte* dst, uint64_t off, size_t len) const;

  const uint64_t size_;
  const MetadataFill fill_;
  const bool zero_fill_;
  const uint64_t chunk_count_;
  const uint64_t leaf_count_;
  std::unique_ptr<std::atomic<Leaf*>[]> leaves_;
  std::atomic<uint64_t> allocated_{0};
};

}  // namespace nvemu
