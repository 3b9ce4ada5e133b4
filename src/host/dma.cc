#include "nvemu/host/dma.h"

#include <fmt/format.h>

#include <cstring>

namespace nvemu::host {

DmaArena::DmaArena(uint64_t base, size_t size)
    : base_(base), size_(size), storage_(new (std::align_val_t(4096)) uint8_t[size]) {
  memory_.AddRegion(base_, storage_.get(), size_);
  free_[0] = size_;
}

DmaArena::~DmaArena() = default;

Result<DmaBuffer> DmaArena::Alloc(size_t size, size_t align) {
  if (size == 0) return Error{"DMA allocation of 0 bytes"};
  if (align < 64 || (align & (align - 1))) return Error{fmt::format("bad alignment {}", align)};
  size = (size + 63) & ~size_t{63};
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = free_.begin(); it != free_.end(); ++it) {
    uint64_t start = it->first;
    uint64_t aligned = ((base_ + start + align - 1) & ~uint64_t(align - 1)) - base_;
    uint64_t pad = aligned - start;
    if (it->second < pad + size) continue;
    uint64_t len = it->second;
    free_.erase(it);
    if (pad) free_[start] = pad;
    if (len > pad + size) free_[aligned + size] = len - pad - size;
    DmaBuffer b{base_ + aligned, storage_.get() + aligned, size};
    std::memset(b.ptr, 0, size);
    return b;
  }
  return Error{fmt::format("DMA arena exhausted ({} bytes requested)", size)};
}

void DmaArena::Free(const DmaBuffer& b) {
  if (!b) return;
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t off = b.addr - base_;
  size_t len = b.size;
  auto next = free_.lower_bound(off);
  if (next != free_.end() && off + len == next->first) {
    len += next->second;
    next = free_.erase(next);
  }
  if (next != free_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == off) {
      prev->second += len;
      return;
    }
  }
  free_[off] = len;
}

size_t DmaArena::bytes_free() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (auto& [off, len] : free_) n += len;
  return n;
}

}  // namespace nvemu::host
