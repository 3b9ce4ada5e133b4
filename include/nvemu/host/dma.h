// DmaArena: host memory for the in-process host library, as an OS driver would allocate DMA-able pages.
//
// The arena owns one process allocation and exposes it to the device at a fake "physical" address
// (`base`), so device addresses never equal process pointers and a driver bug reads as a Data Transfer
// Error instead of corrupting the process. Threading: Alloc/Free are thread-safe (mutex; host side).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <new>

#include "nvemu/host_memory.h"
#include "nvemu/status.h"

namespace nvemu::host {

struct DmaBuffer {
  uint64_t addr = 0;       // device-visible address
  uint8_t* ptr = nullptr;  // process pointer
  size_t size = 0;
  explicit operator bool() const { return ptr != nullptr; }
};

class DmaArena {
 public:
  // `size` bytes visible at device address `base` (both multiples of 4096).
  DmaArena(uint64_t base, size_t size);
  ~DmaArena();
  DmaArena(const DmaArena&) = delete;
  DmaArena& operator=(const DmaArena&) = delete;

  // Allocates `size` bytes aligned to `align` (a power of two, >= 64), zero-filled.
  Result<DmaBuffer> Alloc(size_t size, size_t align = 4096);
  void Free(const DmaBuffer& buffer);

  HostMemory& memory() { return memory_; }
  // Process pointer for a device address inside the arena, or nullptr.
  uint8_t* Translate(uint64_t addr, size_t len) { return memory_.Map(addr, len); }
  size_t bytes_free() const;

 private:
  const uint64_t base_;
  const size_t size_;
  struct AlignedDelete {
    void operator()(uint8_t* p) const { ::operator delete[](p, std::align_val_t(4096)); }
  };
  std::unique_ptr<uint8_t[], AlignedDelete> storage_;
  RegionHostMemory memory_;
  mutable std::mutex mu_;
  std::map<uint64_t, size_t> free_;  // offset -> length, GUARDED_BY(mu_)
};

}  // namespace nvemu::host
