// QueueGroup hot path without threads: SQE fetch, execute, CQE post, driven by calling Poll() on
// the benchmark thread (no reactor), over a RAM or null namespace. Each iteration moves the SQ
// tail doorbell by `batch` entries, polls them, then consumes the CQ (moves its head doorbell).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/controller.h"
#include "core/subsystem.h"
#include "nvemu/clock.h"
#include "nvemu/host_memory.h"
#include "nvemu/interrupt_sink.h"
#include "pcie/config_space.h"
#include "pcie/interrupts.h"
#include "pcie/queues.h"

namespace nvemu::pcie {
namespace {

constexpr uint32_t kEntries = 1024;
constexpr uint64_t kHostBase = 0x1'0000'0000;

class NullSink final : public InterruptSink {
 public:
  void Msi(uint64_t, uint32_t) override {}
  void Intx(bool) override {}
};

// One controller, one SQ/CQ pair in host memory, a QueueGroup polled by the caller.
class Rig {
 public:
  Rig(BackendKind backend, uint8_t opc, uint32_t block, uint64_t ns_bytes = 64ull << 20)
      : host_(static_cast<uint8_t*>(std::aligned_alloc(4096, kHostBytes))),
        config_space_(ConfigSpaceParams{.bar0_size = 0x4000,
                                        .msix_vectors = 1,
                                        .msix_table_offset = 0x2000,
                                        .msix_pba_offset = 0x3000}),
        interrupts_(1, sink_, config_space_) {
    std::memset(host_.get(), 0, kHostBytes);  // zeroed rings (CQ phase tags start at 0)
    memory_.AddRegion(kHostBase, host_.get(), kHostBytes);
    ControllerConfig c;
    c.namespaces[0].backend = backend;
    c.namespaces[0].size_bytes = ns_bytes;
    c.namespaces[0].lba_size = 4096;
    config_ = c;
    subsystem_ = std::move(Subsystem::Create(config_, clock_).value());
    ctrl_ = std::make_unique<Controller>(config_, *subsystem_, 0, clock_);
    // Reads should copy real memory: write the LBAs the commands use (first 8 MiB, or all).
    std::vector<uint8_t> fill(1 << 20, 0x5a);
    const uint64_t fill_bytes = ns_bytes > (64ull << 20) ? ns_bytes : (8ull << 20);
    for (uint64_t off = 0; off < fill_bytes; off += fill.size()) {
      (void)ctrl_->GetNamespace(1)->backend().Write(off, fill.data(), fill.size());
    }
    config_space_.Write(0x04, 2, 0x6);  // Memory Space + Bus Master Enable
    QueueGroupEnv env;
    env.controller = ctrl_.get();
    env.memory = &memory_;
    env.interrupts = &interrupts_;
    env.config = &config_space_;
    env.fatal = [](const char*) { std::abort(); };
    group_ = std::make_unique<QueueGroup>(env, false);
    cq_.qid = 1;
    cq_.size = kEntries;
    cq_.mem.base = kHostBase;
    cq_.mem.host = host_.get();
    cq_.head_db = &cq_head_;
    sq_.qid = 1;
    sq_.size = kEntries;
    sq_.mem.base = kHostBase + kCqBytes;
    sq_.mem.host = host_.get() + kCqBytes;
    sq_.tail_db = &sq_tail_;
    sq_.cq = &cq_;
    group_->AddCq(&cq_);
    group_->AddSq(&sq_);
    // Every SQ slot holds the same command: `opc` of one `block` on NSID 1, data in slot i's
    // buffer. For writes the RAM chunks are allocated by a first pass below.
    const uint32_t nlb = block / 4096 - 1;
    for (uint32_t i = 0; i < kEntries; ++i) {
      Sqe sqe{};
      sqe.opc = opc;
      sqe.cid = static_cast<uint16_t>(i);
      sqe.nsid = 1;
      const uint64_t buf = kDataOffset + uint64_t{i % 64} * block;
      sqe.prp1 = kHostBase + buf;
      if (block == 8192) sqe.prp2 = sqe.prp1 + 4096;
      if (block > 8192) {  // PRP list of the buffer's pages after the first (4.1.1)
        const uint64_t list = kListOffset + uint64_t{i % 64} * 4096;
        for (uint32_t k = 1; k < block / 4096; ++k) {
          const uint64_t e = kHostBase + buf + uint64_t{k} * 4096;
          std::memcpy(host_.get() + list + (k - 1) * 8, &e, 8);
        }
        sqe.prp2 = kHostBase + list;
      }
      sqe.cdw10 = (i * 37) % 1024;  // scattered 4 KiB LBAs within 4 MiB (+ block)
      sqe.cdw12 = nlb;
      std::memcpy(host_.get() + kCqBytes + uint64_t{i} * 64, &sqe, 64);
    }
  }
  // Gives the next `n` SQ entries uniformly random 4 KiB-aligned LBAs over the namespace (a
  // random-read workload over a namespace larger than the caches).
  void Randomize(uint32_t n, uint64_t blocks) {
    for (uint32_t i = 0; i < n; ++i) {
      rng_ ^= rng_ >> 12;
      rng_ ^= rng_ << 25;
      rng_ ^= rng_ >> 27;
      const uint64_t b = static_cast<uint64_t>(
          (static_cast<unsigned __int128>(rng_ * 0x2545F4914F6CDD1Dull) * blocks) >> 64);
      uint8_t* slot = host_.get() + kCqBytes + uint64_t{(tail_ + i) % kEntries} * 64;
      const uint32_t lba = static_cast<uint32_t>(b);
      std::memcpy(slot + 40, &lba, 4);  // CDW10: SLBA (4 KiB LBAs)
    }
  }
  // Submits `n` entries, polls them, consumes their completions. Returns the entries processed.
  uint32_t Cycle(uint32_t n) {
    tail_ = (tail_ + n) % kEntries;
    sq_tail_.store(tail_, std::memory_order_release);
    uint32_t done = 0;
    while (done < n) done += group_->Poll(n - done);
    cq_head_.store(tail_, std::memory_order_release);
    return done;
  }
  Controller& controller() { return *ctrl_; }

 private:
  static constexpr uint64_t kCqBytes = kEntries * 16;
  static constexpr uint64_t kDataOffset = kCqBytes + kEntries * 64;
  static constexpr uint64_t kListOffset = kDataOffset + 64 * 128 * 1024;
  static constexpr uint64_t kHostBytes = kListOffset + 64 * 4096;
  // Page aligned, as a host driver's DMA buffers are (nvemu perf's DmaArena): with plain new[] the
  // data buffers started 16 bytes into a page, and every 4 KiB copy then straddled two pages and
  // ran about 20 % slower than into aligned buffers.
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> host_;
  RegionHostMemory memory_;
  NullSink sink_;
  SystemClock clock_;
  ConfigSpace config_space_;
  Interrupts interrupts_;
  ControllerConfig config_;
  std::unique_ptr<Subsystem> subsystem_;
  std::unique_ptr<Controller> ctrl_;
  std::unique_ptr<QueueGroup> group_;
  PcieCq cq_;
  PcieSq sq_;
  std::atomic<uint32_t> sq_tail_{0};
  std::atomic<uint32_t> cq_head_{0};
  uint32_t tail_ = 0;
  uint64_t rng_ = 88172645463325252ull;
};

constexpr uint8_t kFlush = 0x00, kWrite = 0x01, kRead = 0x02;

void Run(benchmark::State& state, BackendKind backend, uint8_t opc, uint32_t block) {
  Rig rig(backend, opc, block);
  const uint32_t batch = static_cast<uint32_t>(state.range(0));
  if (opc == kWrite || opc == kRead) {
    // Warm: allocate the RAM chunks (writes) / fault the pages once.
    for (int i = 0; i < 4; ++i) rig.Cycle(kEntries - 1);
  }
  for (auto _ : state) benchmark::DoNotOptimize(rig.Cycle(batch));
  state.SetItemsProcessed(state.iterations() * batch);
  if (opc != kFlush) state.SetBytesProcessed(state.iterations() * batch * block);
}

// Fetch + dispatch + post with no data: Flush on a null namespace.
void BM_FetchPostFlushNull(benchmark::State& s) { Run(s, BackendKind::kNull, kFlush, 4096); }
// 4 KiB read, null backend (zero fill of the host buffer, no copy).
void BM_Read4kNull(benchmark::State& s) { Run(s, BackendKind::kNull, kRead, 4096); }
// 4 KiB read / write, RAM backend (cache-resident 4 MiB working set: the command path's cost).
void BM_Read4kRam(benchmark::State& s) { Run(s, BackendKind::kRam, kRead, 4096); }
void BM_Write4kRam(benchmark::State& s) { Run(s, BackendKind::kRam, kWrite, 4096); }
// 128 KiB read through a PRP list, RAM backend.
void BM_Read128kRam(benchmark::State& s) { Run(s, BackendKind::kRam, kRead, 128 * 1024); }

// 4 KiB random reads over a 1 GiB RAM namespace (written first): the device side of
// `nvemu perf --pattern randread` without the host thread; compare with the copy limit.
void BM_RandRead4kRam1GiB(benchmark::State& state) {
  const uint64_t ns = 1ull << 30;
  Rig rig(BackendKind::kRam, kRead, 4096, ns);
  const uint32_t batch = static_cast<uint32_t>(state.range(0));
  for (auto _ : state) {
    rig.Randomize(batch, ns / 4096);  // a few ns per entry
    benchmark::DoNotOptimize(rig.Cycle(batch));
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_RandRead4kRam1GiB)->Arg(32);

// The RAM backend alone, as the device drives it for BM_RandRead4kRam1GiB: Prefetch of the next
// block, then Read of this one into a ring of `range(0)` 4 KiB buffers, over 1 GiB written first.
// No command path: the difference to BM_RandRead4kRam1GiB is what the commands add, and the
// difference to `nvemu perf`'s look-ahead copy limit is what the backend adds to a memcpy.
void BM_RamBackendRandRead4k1GiB(benchmark::State& state) {
  const uint64_t ns = 1ull << 30;
  const uint64_t blocks = ns / 4096;
  std::unique_ptr<Backend> b = MakeRamBackend(ns, 0);
  std::vector<uint8_t> fill(1 << 20, 0x5a);
  for (uint64_t off = 0; off < ns; off += fill.size()) {
    (void)b->Write(off, fill.data(), fill.size());
  }
  const uint32_t ring_blocks = static_cast<uint32_t>(state.range(0));
  // Page-aligned buffers, as the device's host buffers are.
  std::unique_ptr<uint8_t, void (*)(void*)> ring(
      static_cast<uint8_t*>(std::aligned_alloc(4096, size_t{ring_blocks} * 4096)), std::free);
  std::memset(ring.get(), 0, size_t{ring_blocks} * 4096);
  uint64_t rng = 1;
  auto next_block = [&] {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(rng * 0x2545F4914F6CDD1Dull) * blocks) >> 64);
  };
  uint64_t cur = next_block();
  uint32_t slot = 0;
  for (auto _ : state) {
    const uint64_t next = next_block();
    b->Prefetch(next * 4096, 4096, false);
    benchmark::DoNotOptimize(b->Read(cur * 4096, ring.get() + size_t{slot} * 4096, 4096));
    if (++slot == ring_blocks) slot = 0;
    cur = next;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RamBackendRandRead4k1GiB)->Arg(32);

BENCHMARK(BM_FetchPostFlushNull)->Arg(1)->Arg(32)->Arg(256);
BENCHMARK(BM_Read4kNull)->Arg(1)->Arg(32);
BENCHMARK(BM_Read4kRam)->Arg(1)->Arg(32);
BENCHMARK(BM_Write4kRam)->Arg(32);
BENCHMARK(BM_Read128kRam)->Arg(32);

}  // namespace
}  // namespace nvemu::pcie
