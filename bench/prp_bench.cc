// PRP walk (NVMe Base 2.0, 4.1.1): PrpChannel::Transfer over PRP1 only, PRP1+PRP2, a PRP list and
// chained PRP lists, with a chunk callback that only counts bytes; scattered (non-adjacent) data
// pages so that every page is its own chunk, or one contiguous buffer that coalesces into one.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <vector>

#include "nvemu/host_memory.h"
#include "pcie/prp.h"

namespace nvemu::pcie {
namespace {

constexpr uint64_t kBase = 0x10'0000'0000;
constexpr uint64_t kPage = 4096;

class PrpRig {
 public:
  // `pages` data pages, every other page used when `scattered` (so none are adjacent).
  PrpRig(uint32_t pages, bool scattered) : bytes_(uint64_t{pages} * kPage) {
    const uint64_t stride = scattered ? 2 : 1;
    const uint64_t data_pages = pages * stride;
    const uint64_t list_pages = pages / 511 + 2;
    size_ = (data_pages + list_pages) * kPage;
    mem_ = std::make_unique<uint8_t[]>(size_);
    memory_.AddRegion(kBase, mem_.get(), size_);
    prp1_ = kBase;
    if (pages == 2) prp2_ = kBase + stride * kPage;
    if (pages > 2) {
      // Entries for pages 1..n-1; the last slot of a full list page chains to the next one.
      uint64_t list = kBase + data_pages * kPage;
      prp2_ = list;
      uint64_t slot = 0;
      for (uint32_t p = 1; p < pages; ++p) {
        if (slot == 511 && p < pages - 1) {
          Put(list + slot * 8, list + kPage);
          list += kPage;
          slot = 0;
        }
        Put(list + slot * 8, kBase + p * stride * kPage);
        ++slot;
      }
    }
  }
  uint64_t Walk() {
    PrpChannel ch(memory_, kPage, prp1_, prp2_);
    (void)ch.Prepare(bytes_);
    uint64_t seen = 0;
    Status st = ch.Transfer(Direction::kToHost, 0, bytes_, [&](uint8_t* p, uint64_t, size_t n) {
      benchmark::DoNotOptimize(p);
      seen += n;
      return Status::Success();
    });
    if (!st.ok()) std::abort();
    return seen;
  }

 private:
  void Put(uint64_t addr, uint64_t v) { std::memcpy(mem_.get() + (addr - kBase), &v, 8); }
  const uint64_t bytes_;
  uint64_t size_ = 0;
  std::unique_ptr<uint8_t[]> mem_;
  RegionHostMemory memory_;
  uint64_t prp1_ = 0, prp2_ = 0;
};

void BM_PrpWalk(benchmark::State& state) {
  PrpRig rig(static_cast<uint32_t>(state.range(0)), state.range(1) != 0);
  for (auto _ : state) benchmark::DoNotOptimize(rig.Walk());
  state.SetItemsProcessed(state.iterations());
}

// Args: data pages, scattered. 1 = PRP1, 2 = PRP1+PRP2, 32 = one list page (128 KiB), 1024 =
// chained lists (4 MiB).
BENCHMARK(BM_PrpWalk)->ArgsProduct({{1, 2, 32, 1024}, {0, 1}})->ArgNames({"pages", "scattered"});

}  // namespace
}  // namespace nvemu::pcie
