#include "nvemu/host_memory.h"

#include <algorithm>
#include <cstring>

namespace nvemu {

bool RegionHostMemory::AddRegion(uint64_t addr, uint8_t* base, size_t size) {
  if (size == 0 || base == nullptr || addr + size < addr) return false;
  for (const Region& r : regions_) {
    if (addr < r.addr + r.size && r.addr < addr + size) return false;
  }
  regions_.push_back(Region{addr, base, size});
  return true;
}

uint8_t* RegionHostMemory::Map(uint64_t addr, size_t len) {
  for (const Region& r : regions_) {
    if (addr >= r.addr && addr - r.addr <= r.size && len <= r.size - (addr - r.addr)) {
      return r.base + (addr - r.addr);
    }
  }
  return nullptr;
}

// Read/Write may span adjacent regions (an embedder can register guest RAM in several pieces).
template <typename F>
bool RegionHostMemory::ForEachPiece(uint64_t addr, size_t len, F&& fn) {
  size_t done = 0;
  while (done < len) {
    uint64_t a = addr + done;
    const Region* hit = nullptr;
    for (const Region& r : regions_) {
      if (a >= r.addr && a - r.addr < r.size) {
        hit = &r;
        break;
      }
    }
    if (hit == nullptr) return false;
    size_t n = static_cast<size_t>(std::min<uint64_t>(len - done, hit->size - (a - hit->addr)));
    fn(hit->base + (a - hit->addr), done, n);
    done += n;
  }
  return true;
}

bool RegionHostMemory::Read(uint64_t addr, void* dst, size_t len) {
  if (uint8_t* p = Map(addr, len)) {
    std::memcpy(dst, p, len);
    return true;
  }
  if (addr + len < addr) return false;
  // Check first so that a failing read copies nothing.
  if (!ForEachPiece(addr, len, [](uint8_t*, size_t, size_t) {})) return false;
  auto* d = static_cast<uint8_t*>(dst);
  return ForEachPiece(addr, len,
                      [d](uint8_t* p, size_t off, size_t n) { std::memcpy(d + off, p, n); });
}

bool RegionHostMemory::Write(uint64_t addr, const void* src, size_t len) {
  if (uint8_t* p = Map(addr, len)) {
    std::memcpy(p, src, len);
    return true;
  }
  if (addr + len < addr) return false;
  if (!ForEachPiece(addr, len, [](uint8_t*, size_t, size_t) {})) return false;
  auto* s = static_cast<const uint8_t*>(src);
  return ForEachPiece(addr, len,
                      [s](uint8_t* p, size_t off, size_t n) { std::memcpy(p, s + off, n); });
}

}  // namespace nvemu
