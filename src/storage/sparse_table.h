// SparseTable: a byte array of fixed size whose memory is allocated in chunks on first write.
//
// Layout: a top-level array of atomic pointers to leaves. A leaf covers kLeafSpan bytes (the last
// leaf may be shorter) with one contiguous anonymous mapping, reserved with MAP_NORESERVE when the
// leaf is first written: the kernel gives it memory only for the pages that are touched. The
// leaf also holds one state byte per kChunkSize chunk: empty (never written, or deallocated: reads
// return the fill pattern without touching the mapping), filling (a first writer is writing a
// non-zero fill pattern into it) or live (holds data, counted in AllocatedBytes()). Leaves are
// installed with compare-and-swap (the loser unmaps its copy) and only removed by the destructor.
//
// Why a mapping per leaf and not a pointer per chunk: the address of any byte is the leaf's base
// plus the offset, so Prefetch() computes it from the (hot) top-level entry alone. A pointer per
// chunk was a dependent load that missed the caches on random I/O over large namespaces (a 128 KiB
// pointer array per GiB behind streams of 4 KiB copies) before the data prefetch could start.
//
// First write of a chunk: a zero-filled table only marks the chunk live (fresh or MADV_DONTNEED
// pages read as zero). A table with a non-zero fill pattern claims the chunk (empty -> filling),
// writes the pattern, then marks it live; a concurrent first writer of the same chunk waits for
// that (once per chunk; yields while it waits), so the fill never lands over data.
//
// Deallocation: Deallocate() of a whole chunk of a zero-filled table releases its memory to the
// operating system with madvise(MADV_DONTNEED) and marks it empty (no longer counted in
// AllocatedBytes()); the mapping stays, so concurrent readers never touch unmapped memory. Partial
// chunks, and every chunk of a table with a non-zero pattern, are overwritten with the pattern.
//
// Cost: kTopEntryBytes per kLeafSpan bytes of capacity up front (8 B per GiB: 8 KiB for 1 TiB);
// per GiB region written, kLeafSpan bytes of address space (not memory) and kLeafEntries state
// bytes; then the pages written. A system with strict overcommit (vm.overcommit_memory = 2)
// charges the whole leaf mapping against its commit limit; a leaf that cannot be mapped (commit
// limit, address space, or vm.max_map_count: each written GiB region is one mapping) makes the
// write fail with ENOSPC.
//
// Threading: Read and Write may run concurrently from any threads on any ranges. No locks; reads
// and rewrites of live chunks never allocate. Concurrent writes to overlapping bytes leave,
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
  // Prefetches the first cache lines of [off, off+len) when its leaf exists (a hint: the TLB walk
  // and the memory fetch overlap the caller's current work). Never allocates and never faults (a
  // prefetch of a page never touched is dropped by the CPU).
  void Prefetch(uint64_t off, size_t len, bool write) const;
  // The memory of [off, off+len) when every chunk of it is live and it lies in one leaf (one
  // mapping), else nullptr (Read() then returns the fill pattern for the chunks not live). The
  // pointer stays valid until destruction. Never allocates; any range is allowed.
  const std::byte* MapRead(uint64_t off, size_t len) const;
  // REQUIRES: off + len <= size(). Afterwards [off, off+len) reads as the fill pattern.
  void Deallocate(uint64_t off, uint64_t len);

 private:
  class Leaf;

  // Length of chunk `chunk` (kChunkSize except possibly the last chunk).
  uint64_t ChunkLength(uint64_t chunk) const;
  // The chunk's memory if it is live, else nullptr (reads return the fill pattern).
  const std::byte* FindChunk(uint64_t chunk) const;
  // The chunk's memory, marked live (filled with the pattern first if needed); nullptr when the
  // leaf cannot be allocated.
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
