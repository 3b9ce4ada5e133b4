#include "app/perf_copy_limit.h"

#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

namespace nvemu::app {
namespace {

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// xorshift64*: a few instructions per number; quality is ample for picking offsets.
uint64_t NextRandom(uint64_t& s) {
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1Dull;
}

// Anonymous page-aligned memory (mmap), unmapped on destruction.
class PageBuffer {
 public:
  explicit PageBuffer(uint64_t size) : size_(size) {
    if (size == 0) return;
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) p_ = static_cast<uint8_t*>(p);
  }
  ~PageBuffer() {
    if (p_ != nullptr) munmap(p_, size_);
  }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  explicit operator bool() const { return p_ != nullptr; }
  uint8_t* get() const { return p_; }

 private:
  uint8_t* p_ = nullptr;
  uint64_t size_;
};

// Copies for spec.seconds; before each copy, prefetches the first `look_ahead` bytes of the next
// copy's big-buffer block (0: none).
// `big` is written only by write copies (read_percent < 100), which a `source` never sees.
CopyRate CopyLoop(const CopyLimitSpec& spec, uint8_t* big, uint8_t* ring, uint64_t blocks,
                  uint32_t look_ahead) {
  uint64_t rng = spec.seed | 1;
  uint64_t seq = 0;
  uint32_t slot = 0;
  auto next_block = [&] {
    if (!spec.random) {
      const uint64_t b = seq;
      if (++seq == blocks) seq = 0;
      return b;
    }
    return static_cast<uint64_t>((static_cast<unsigned __int128>(NextRandom(rng)) * blocks) >> 64);
  };
  auto next_is_read = [&] {
    return spec.read_percent >= 100 ||
           (spec.read_percent > 0 && NextRandom(rng) % 100 < spec.read_percent);
  };
  const uint32_t prefetch = std::min(look_ahead, spec.block);
  uint64_t b = next_block();
  bool read = next_is_read();
  CopyRate out;
  const uint64_t start = NowNs();
  const uint64_t end = start + static_cast<uint64_t>(spec.seconds * 1e9);
  uint64_t now = start;
  while (now < end) {
    for (int i = 0; i < 256; ++i) {
      const uint64_t next = next_block();
      const bool next_read = next_is_read();
      uint8_t* next_far = big + next * spec.block;
      for (uint32_t k = 0; k < prefetch; k += 64) {
        if (next_read) {
          __builtin_prefetch(next_far + k, 0, 3);
        } else {
          __builtin_prefetch(next_far + k, 1, 3);
        }
      }
      uint8_t* far = big + b * spec.block;
      uint8_t* near = ring + uint64_t{slot} * spec.block;
      if (++slot == spec.ring_blocks) slot = 0;
      if (read) {
        std::memcpy(near, far, spec.block);
      } else {
        std::memcpy(far, near, spec.block);
      }
      asm volatile("" : : "r"(near), "r"(far) : "memory");  // keep every copy
      b = next;
      read = next_read;
    }
    out.copies += 256;
    now = NowNs();
  }
  out.seconds = static_cast<double>(now - start) / 1e9;
  return out;
}

}  // namespace

Result<CopyLimit> MeasureCopyLimit(const CopyLimitSpec& spec) {
  const uint64_t blocks = spec.range / spec.block;
  if (blocks == 0 || spec.ring_blocks == 0) return Error{"copy limit: empty range or ring"};
  if (spec.source != nullptr && spec.read_percent < 100) {
    return Error{"copy limit: a given source memory is only read (read patterns)"};
  }
  // Page-aligned buffers: the best case for the copy (a buffer that starts mid-page makes every
  // block straddle two pages, about 8 % slower here), so the limit is not flattering.
  PageBuffer own(spec.source != nullptr ? 0 : spec.range);
  PageBuffer ring(uint64_t{spec.ring_blocks} * spec.block);
  if ((spec.source == nullptr && !own) || !ring) {
    return Error{fmt::format("copy limit: cannot allocate {} bytes", spec.range)};
  }
  uint8_t* big = spec.source != nullptr ? const_cast<uint8_t*>(spec.source) : own.get();
  // Touch every page (non-zero, so no page is the shared zero page), as the RAM backend's are.
  if (spec.source == nullptr) std::memset(big, 0x5a, spec.range);
  std::memset(ring.get(), 0xa5, uint64_t{spec.ring_blocks} * spec.block);

  // During the I/O run the host thread polls on the other core; keep that core equally busy here
  // (a spinning thread that touches no memory), so that on a shared machine both measurements see
  // the same competition for cores and caches.
  std::atomic<bool> stop_spinner{false};
  std::thread spinner;
  if (spec.spinner) {
    spinner = std::thread([&] {
      while (!stop_spinner.load(std::memory_order_relaxed)) NowNs();
    });
  }
  CopyLimit out;
  out.plain = CopyLoop(spec, big, ring.get(), blocks, 0);
  out.look_ahead = CopyLoop(spec, big, ring.get(), blocks, kLookAheadBytes);
  stop_spinner.store(true);
  if (spinner.joinable()) spinner.join();
  return out;
}

}  // namespace nvemu::app
