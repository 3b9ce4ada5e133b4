#include "nvm/lba_bitmap.h"

#include <algorithm>
#include <bit>
#include <new>

namespace nvemu {

LbaBitmap::LbaBitmap(uint64_t bits)
    : bits_(bits),
      leaf_count_((bits + kLeafBits - 1) / kLeafBits),
      leaves_(std::make_unique<std::atomic<Word*>[]>(leaf_count_)) {}

LbaBitmap::~LbaBitmap() {
  for (uint64_t i = 0; i < leaf_count_; ++i) delete[] leaves_[i].load(std::memory_order_relaxed);
}

LbaBitmap::Word* LbaBitmap::FindLeaf(uint64_t leaf) const {
  return leaves_[leaf].load(std::memory_order_acquire);
}

LbaBitmap::Word* LbaBitmap::GetOrCreateLeaf(uint64_t leaf) {
  Word* w = leaves_[leaf].load(std::memory_order_acquire);
  if (w != nullptr) return w;
  Word* fresh = new (std::nothrow) Word[kLeafWords]();
  if (fresh == nullptr) return nullptr;
  if (leaves_[leaf].compare_exchange_strong(w, fresh, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
    return fresh;
  }
  delete[] fresh;
  return w;
}

template <typename Fn>
void LbaBitmap::ForEachWord(uint64_t first, uint64_t count, bool create, Fn&& fn) {
  uint64_t bit = first;
  const uint64_t end = first + count;
  while (bit < end) {
    const uint64_t leaf = bit / kLeafBits;
    const uint64_t word = (bit % kLeafBits) / 64;
    const unsigned shift = bit % 64;
    const uint64_t n = std::min<uint64_t>(64 - shift, end - bit);
    const uint64_t mask = (n == 64 ? ~uint64_t{0} : ((uint64_t{1} << n) - 1)) << shift;
    Word* w = create ? GetOrCreateLeaf(leaf) : FindLeaf(leaf);
    if (!fn(w ? &w[word] : nullptr, mask)) return;
    bit += n;
  }
}

bool LbaBitmap::AnySet(uint64_t first, uint64_t count) const {
  if (count_.load(std::memory_order_acquire) == 0) return false;
  return FirstSet(first, count) != first + count;
}

uint64_t LbaBitmap::FirstSet(uint64_t first, uint64_t count) const {
  if (count_.load(std::memory_order_acquire) == 0) return first + count;
  uint64_t found = first + count;
  uint64_t pos = first;
  const_cast<LbaBitmap*>(this)->ForEachWord(first, count, false, [&](Word* w, uint64_t mask) {
    const uint64_t v = w ? (w->load(std::memory_order_acquire) & mask) : 0;
    if (v != 0) {
      found = (pos & ~uint64_t{63}) + static_cast<uint64_t>(std::countr_zero(v));
      return false;
    }
    pos = (pos & ~uint64_t{63}) + 64;
    return true;
  });
  return found;
}

bool LbaBitmap::Set(uint64_t first, uint64_t count) {
  bool ok = true;
  ForEachWord(first, count, true, [&](Word* w, uint64_t mask) {
    if (w == nullptr) {
      ok = false;
      return false;
    }
    const uint64_t old = w->fetch_or(mask, std::memory_order_acq_rel);
    count_.fetch_add(static_cast<uint64_t>(std::popcount(mask & ~old)), std::memory_order_acq_rel);
    return true;
  });
  return ok;
}

void LbaBitmap::Clear(uint64_t first, uint64_t count) {
  if (count_.load(std::memory_order_acquire) == 0) return;
  ForEachWord(first, count, false, [&](Word* w, uint64_t mask) {
    if (w != nullptr && (w->load(std::memory_order_relaxed) & mask) != 0) {
      const uint64_t old = w->fetch_and(~mask, std::memory_order_acq_rel);
      count_.fetch_sub(static_cast<uint64_t>(std::popcount(old & mask)), std::memory_order_acq_rel);
    }
    return true;
  });
}

}  // namespace nvemu
