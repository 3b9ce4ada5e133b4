// LbaBitmap: one bit per logical block, sparse and lock-free; the per-namespace set of blocks made
// uncorrectable by Write Uncorrectable (NVM Command Set 1.0, 3.2.7).
//
// Design: a top-level array of atomic pointers to leaves of kLeafWords atomic 64-bit words
// (2^18 blocks per leaf). Set() allocates a missing leaf with compare-and-swap (Write
// Uncorrectable is the only caller: a slow path); AnySet() and Clear() never allocate and never
// lock. An exact count of set bits lets every Read/Write skip the bitmap with one atomic load
// while no block is uncorrectable (the common case): the I/O path stays lock-free and costs one
// load. Leaves are freed only by the destructor, so readers never see freed memory.
//
// Ordering: Set/Clear use acq_rel read-modify-writes; a command that the host submits after
// seeing another command's completion observes its effect (the doorbell and CQ entry hand-off
// already orders them).
// Threading: every method may run concurrently on any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace nvemu {

class LbaBitmap {
 public:
  static constexpr unsigned kLeafWordBits = 12;
  static constexpr uint64_t kLeafWords = uint64_t{1} << kLeafWordBits;
  static constexpr uint64_t kLeafBits = kLeafWords * 64;

  explicit LbaBitmap(uint64_t bits);
  ~LbaBitmap();
  LbaBitmap(const LbaBitmap&) = delete;
  LbaBitmap& operator=(const LbaBitmap&) = delete;

  // True when any bit of [first, first+count) is set. REQUIRES: the range is inside the bitmap.
  bool AnySet(uint64_t first, uint64_t count) const;
  // Index of the first set bit in [first, first+count), or first+count.
  uint64_t FirstSet(uint64_t first, uint64_t count) const;
  // Sets [first, first+count). Returns false when a leaf cannot be allocated (nothing is lost:
  // the bits set before stay set).
  bool Set(uint64_t first, uint64_t count);
  // Clears [first, first+count). Cheap when nothing is set.
  void Clear(uint64_t first, uint64_t count);
  uint64_t count() const { return count_.load(std::memory_order_acquire); }
  // Number of bits (LBAs) the bitmap covers.
  uint64_t size() const { return bits_; }

 private:
  using Word = std::atomic<uint64_t>;
  Word* FindLeaf(uint64_t leaf) const;
  Word* GetOrCreateLeaf(uint64_t leaf);
  // Calls fn(word_ptr_or_null, mask) for each word overlapping [first, first+count).
  template <typename Fn>
  void ForEachWord(uint64_t first, uint64_t count, bool create, Fn&& fn);

  const uint64_t bits_;
  const uint64_t leaf_count_;
  std::unique_ptr<std::atomic<Word*>[]> leaves_;
  std::atomic<uint64_t> count_{0};
};

}  // namespace nvemu
