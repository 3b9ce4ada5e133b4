#include <cstring>

#include "nvemu/host_memory.h"

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

bool RegionHostMemory::Read(uint64_t addr, void* dst, size_t len) {
  uint8_t* p = Map(addr, len);
  if (p == nullptr) return false;
  std::memcpy(dst, p, len);
  return true;
}

bool RegionHostMemory::Write(uint64_t addr, const void* src, size_t len) {
  uint8_t* p = Map(addr, len);
  if (p == nullptr) return false;
  std::memcpy(p, src, len);
  return true;
}

}  // namespace nvemu
