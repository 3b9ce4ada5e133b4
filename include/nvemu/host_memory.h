// HostMemory: the controller's view of host memory for DMA (queues, PRP lists, data buffers).
//
// The embedder (or the in-process host library) supplies it. The controller bounds-checks nothing
// itself: every access goes through read()/write(), which return false for any address range the host
// has not made available; the controller turns that into a Data Transfer Error, never a crash.
//
// Threading: called concurrently from every reactor thread; implementations must be thread-safe for
// concurrent access to disjoint or overlapping ranges (plain memory copies are).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace nvemu {

class HostMemory {
 public:
  virtual ~HostMemory() = default;

  // Copies `len` bytes at host address `addr` into `dst`. Returns false (copying nothing useful) when
  // any byte of [addr, addr+len) is not backed.
  virtual bool Read(uint64_t addr, void* dst, size_t len) = 0;
  // Copies `len` bytes from `src` to host address `addr`. Returns false when any byte is not backed.
  virtual bool Write(uint64_t addr, const void* src, size_t len) = 0;
  // Optional zero-copy path: a pointer to `len` contiguous bytes at `addr`, or nullptr when the range
  // is not one contiguous backed region (callers then fall back to Read/Write).
  virtual uint8_t* Map(uint64_t addr, size_t len) {
    (void)addr;
    (void)len;
    return nullptr;
  }
};

// HostMemory over a fixed set of regions (host address -> process memory), e.g. the host library's DMA
// arena or memory an embedder mapped from a file descriptor.
//
// Threading: AddRegion() must happen before the controller runs (regions are immutable afterwards);
// Read/Write/Map are lock-free and may be called from any thread.
class RegionHostMemory final : public HostMemory {
 public:
  // Makes [addr, addr+size) backed by `base`. The memory must outlive this object. Regions must not
  // overlap; returns false if they would. Read/Write may span adjacent regions; Map may not.
  bool AddRegion(uint64_t addr, uint8_t* base, size_t size);

  bool Read(uint64_t addr, void* dst, size_t len) override;
  bool Write(uint64_t addr, const void* src, size_t len) override;
  uint8_t* Map(uint64_t addr, size_t len) override;

 private:
  struct Region {
    uint64_t addr;
    uint8_t* base;
    size_t size;
  };
  template <typename F>
  bool ForEachPiece(uint64_t addr, size_t len, F&& fn);
  std::vector<Region> regions_;
};

}  // namespace nvemu
