#include "pcie/copy_batch.h"

#include <cstring>

namespace nvemu::pcie {

void CopyBatch::RunUpTo(uint32_t end) {
  if (end > n_) end = n_;
  for (uint32_t i = done_; i < end; ++i) {
    // Look ahead: start the next source's TLB walk and first lines now, so that they overlap this
    // copy; the hardware prefetcher follows the stream once that copy begins.
    if (i + 1 < n_) {
      const uint8_t* next = copies_[i + 1].src;
      const size_t ahead =
          copies_[i + 1].len < kLookAheadBytes ? copies_[i + 1].len : kLookAheadBytes;
      for (size_t k = 0; k < ahead; k += 64) __builtin_prefetch(next + k, 0, 3);
    }
    std::memcpy(copies_[i].dst, copies_[i].src, copies_[i].len);
  }
  if (end > done_) {
    copies_run_ += end - done_;
    done_ = end;
  }
}

void CopyBatch::Run() {
  RunUpTo(n_);
  n_ = 0;
  done_ = 0;
}

}  // namespace nvemu::pcie
