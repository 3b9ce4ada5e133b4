// The queue engine's copy batch (pcie/copy_batch.h) end to end: reads of a RAM namespace fetched
// in one poll pass queue their copies, and each completion is posted only once its data is in
// host memory. One doorbell write submits more reads than a batch holds (mid-pass flushes), mixed
// with reads that cannot be batched: never-written blocks (zeros through Read), a PRP list over
// scattered pages (one piece per page), a bad PRP list entry (Invalid PRP Offset), a write
// followed by a read of the same block, and an out-of-range read. And deterministically, on one
// thread: at the moment each completion is written, its data is already in host memory.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <vector>

#include "core/controller.h"
#include "core/subsystem.h"
#include "engine_fixture.h"
#include "nvemu/backend.h"
#include "nvemu/clock.h"
#include "nvemu/host_memory.h"
#include "nvemu/interrupt_sink.h"
#include "pcie/config_space.h"
#include "pcie/interrupts.h"
#include "pcie/queues.h"

namespace nvemu::perf_engine {
namespace {

constexpr uint32_t kBlock = 4096;

uint8_t PatternByte(uint64_t lba, size_t i) {
  return static_cast<uint8_t>((lba * 131 + i * 7 + (i >> 9)) & 0xff);
}

std::vector<uint8_t> Pattern(uint64_t lba) {
  std::vector<uint8_t> v(kBlock);
  for (size_t i = 0; i < kBlock; ++i) v[i] = PatternByte(lba, i);
  return v;
}

Sqe ReadCmd(uint16_t cid, uint64_t lba, uint32_t blocks, uint64_t prp1, uint64_t prp2 = 0) {
  Sqe s{};
  s.opc = kOpRead;
  s.nsid = 1;
  s.cid = cid;
  s.prp1 = prp1;
  s.prp2 = prp2;
  s.cdw10 = static_cast<uint32_t>(lba);
  s.cdw12 = blocks - 1;
  return s;
}

TEST(CopyBatchE2e, EveryReadCompletesOnceAfterItsDataLanded) {
  Device d = Device::Start(Options(ProcessingMode::kPoll, host::InterruptMode::kNone));
  ASSERT_NE(d.driver, nullptr);
  Backend& backend = d.controller().GetNamespace(1)->backend();
  // Blocks 0..199 hold their pattern; 1000.. were never written.
  for (uint64_t lba = 0; lba < 200; ++lba) {
    ASSERT_TRUE(backend.Write(lba * kBlock, Pattern(lba).data(), kBlock).ok());
  }
  RawCq cq(d, 1, 512);
  RawSq sq(d, 1, 512, 1);

  constexpr uint32_t kReads = 150;  // > CopyBatch::kCapacity: the batch runs mid-pass
  auto bufs = d.driver->dma().Alloc(size_t{kReads + 16} * kBlock, kBlock);
  ASSERT_TRUE(bufs.ok());
  std::memset(bufs->ptr, 0xee, bufs->size);
  auto buf = [&](uint32_t i) { return bufs->addr + uint64_t{i} * kBlock; };
  auto host = [&](uint32_t i) { return bufs->ptr + size_t{i} * kBlock; };
  auto lists = d.driver->dma().Alloc(2 * kBlock, kBlock);
  ASSERT_TRUE(lists.ok());

  struct Expect {
    uint16_t status;
    std::vector<std::pair<uint32_t, uint64_t>> pages;  // buffer index -> LBA pattern (~0: zeros)
  };
  std::map<uint16_t, Expect> expect;
  uint16_t cid = 0;
  for (uint32_t i = 0; i < kReads; ++i, ++cid) {
    const uint64_t lba = (i * 37) % 190;  // not block 195, which a write below changes
    sq.Place(ReadCmd(cid, lba, 1, buf(i)));
    expect[cid] = {0, {{i, lba}}};
  }
  // Never written: the backend has no mapping, Read() fills zeros inline.
  sq.Place(ReadCmd(cid, 1000, 1, buf(kReads)));
  expect[cid++] = {0, {{kReads, ~uint64_t{0}}}};
  // Three blocks over scattered pages: PRP1 + a PRP list of two non-adjacent pages.
  const uint64_t list_entries[2] = {buf(kReads + 5), buf(kReads + 3)};
  std::memcpy(lists->ptr, list_entries, sizeof(list_entries));
  sq.Place(ReadCmd(cid, 10, 3, buf(kReads + 1), lists->addr));
  expect[cid++] = {0, {{kReads + 1, 10}, {kReads + 5, 11}, {kReads + 3, 12}}};
  // A misaligned PRP list entry: Invalid PRP Offset (NVMe Base 2.0, 4.1.1), nothing copied.
  const uint64_t bad_entries[2] = {buf(kReads + 7) + 8, buf(kReads + 8)};
  std::memcpy(lists->ptr + kBlock, bad_entries, sizeof(bad_entries));
  sq.Place(ReadCmd(cid, 20, 3, buf(kReads + 6), lists->addr + kBlock));
  expect[cid++] = {0x0013, {}};
  // Beyond the namespace: LBA Out of Range (0x80).
  sq.Place(ReadCmd(cid, (64ull << 20) / kBlock, 1, buf(kReads + 9)));
  expect[cid++] = {0x0080, {}};
  // A write of block 195 with new data, then a read of it in the same pass.
  std::vector<uint8_t> fresh(kBlock, 0x42);
  std::memcpy(host(kReads + 10), fresh.data(), kBlock);
  Sqe w = ReadCmd(cid, 195, 1, buf(kReads + 10));
  w.opc = kOpWrite;
  sq.Place(w);
  expect[cid++] = {0, {}};
  const uint16_t read_after_write = cid;
  sq.Place(ReadCmd(cid, 195, 1, buf(kReads + 11)));
  expect[cid++] = {0, {}};

  const uint64_t batched_before = d.group().copies_batched();
  sq.Ring();  // one doorbell: the reactor fetches everything in its next pass
  std::map<uint16_t, int> seen;
  ASSERT_TRUE(WaitUntil([&] {
    Cqe c;
    while (cq.Peek(&c)) {
      ++seen[c.cid];
      EXPECT_EQ(c.sqid, 1);
      if (!expect.count(c.cid)) {
        ADD_FAILURE() << "unexpected cid " << c.cid;
        cq.Pop();
        continue;
      }
      EXPECT_EQ(c.status_field() & 0x7ff, expect[c.cid].status) << "cid " << c.cid;
      // Its data is in place once the completion is visible.
      for (auto [index, lba] : expect[c.cid].pages) {
        const std::vector<uint8_t> want =
            lba == ~uint64_t{0} ? std::vector<uint8_t>(kBlock, 0) : Pattern(lba);
        EXPECT_EQ(std::memcmp(host(index), want.data(), kBlock), 0)
            << "cid " << c.cid << " buffer " << index;
      }
      if (c.cid == read_after_write) {
        // Submitted together, the two commands are unordered: the whole old or the whole new
        // block, never a mix.
        const bool old_data = std::memcmp(host(kReads + 11), Pattern(195).data(), kBlock) == 0;
        const bool new_data = std::memcmp(host(kReads + 11), fresh.data(), kBlock) == 0;
        EXPECT_TRUE(old_data || new_data);
      }
      cq.Pop();
    }
    cq.RingHead();
    return seen.size() == expect.size();
  }));
  for (auto [c, n] : seen) EXPECT_EQ(n, 1) << "cid " << c << " completed " << n << " times";
  // Nothing of the failed read landed.
  EXPECT_EQ(host(kReads + 6)[0], 0xee);
  EXPECT_EQ(host(kReads + 8)[0], 0xee);
  // The plain reads and the three pieces of the scattered read (no two of its pages adjacent)
  // went through the batch, not the inline path.
  EXPECT_GE(d.group().copies_batched() - batched_before, uint64_t{kReads + 3});
}

// Host memory whose CQ ring cannot be mapped, so that the engine writes every completion through
// Write(); at the write of dword 3 (CID, status, phase) it checks that the command's data buffer
// already holds its block. Single-threaded (the test calls QueueGroup::Poll): no timing involved.
class CompletionOrderMemory final : public HostMemory {
 public:
  static constexpr uint64_t kCq = 0x100000, kSq = 0x200000, kData = 0x400000;
  static constexpr uint32_t kEntries = 256;

  CompletionOrderMemory() : mem_(kData + uint64_t{kEntries} * kBlock, 0) {
    EXPECT_TRUE(inner_.AddRegion(0, mem_.data(), mem_.size()));
  }
  bool Read(uint64_t addr, void* dst, size_t len) override { return inner_.Read(addr, dst, len); }
  bool Write(uint64_t addr, const void* src, size_t len) override {
    if (addr >= kCq && addr < kSq && (addr - kCq) % 16 == 12 && len == 4) {
      uint32_t dw3;
      std::memcpy(&dw3, src, 4);
      const uint16_t cid = static_cast<uint16_t>(dw3 & 0xffff);
      ++completions;
      if (std::memcmp(at(kData + uint64_t{cid} * kBlock), Pattern(cid).data(), kBlock) != 0) {
        ++early;  // a completion written before its data
      }
    }
    return inner_.Write(addr, src, len);
  }
  uint8_t* Map(uint64_t addr, size_t len) override {
    if (addr < kSq && addr + len > kCq) return nullptr;  // the CQ ring: Write() only
    return inner_.Map(addr, len);
  }
  uint8_t* at(uint64_t addr) { return mem_.data() + addr; }

  int completions = 0;
  int early = 0;

 private:
  std::vector<uint8_t> mem_;
  RegionHostMemory inner_;
};

class NullSink final : public InterruptSink {
 public:
  void Msi(uint64_t, uint32_t) override {}
  void Intx(bool) override {}
};

TEST(CopyBatchOrder, EachCompletionIsWrittenAfterItsData) {
  using M = CompletionOrderMemory;
  M memory;
  SystemClock clock;
  ControllerConfig config;
  config.namespaces[0].size_bytes = 64ull << 20;
  config.namespaces[0].lba_size = kBlock;
  auto subsystem = Subsystem::Create(config, clock);
  ASSERT_TRUE(subsystem.ok());
  Controller ctrl(config, **subsystem, 0, clock);
  Backend& backend = ctrl.GetNamespace(1)->backend();
  for (uint64_t lba = 0; lba < M::kEntries; ++lba) {
    ASSERT_TRUE(backend.Write(lba * kBlock, Pattern(lba).data(), kBlock).ok());
  }
  pcie::ConfigSpace config_space(pcie::ConfigSpaceParams{.bar0_size = 0x4000,
                                                         .msix_vectors = 1,
                                                         .msix_table_offset = 0x2000,
                                                         .msix_pba_offset = 0x3000});
  config_space.Write(0x04, 2, 0x6);  // Memory Space + Bus Master Enable
  NullSink sink;
  pcie::Interrupts interrupts(1, sink, config_space);
  pcie::QueueGroupEnv env;
  env.controller = &ctrl;
  env.memory = &memory;
  env.interrupts = &interrupts;
  env.config = &config_space;
  env.fatal = [](const char* why) { ADD_FAILURE() << "fatal: " << why; };
  pcie::QueueGroup group(env, /*admin=*/false);
  std::atomic<uint32_t> cq_head{0}, sq_tail{0};
  pcie::PcieCq cq;
  cq.qid = 1;
  cq.size = M::kEntries;
  cq.mem.base = M::kCq;  // not mapped: completions go through Write()
  cq.head_db = &cq_head;
  pcie::PcieSq sq;
  sq.qid = 1;
  sq.size = M::kEntries;
  sq.mem.base = M::kSq;
  sq.mem.host = memory.at(M::kSq);
  sq.tail_db = &sq_tail;
  sq.cq = &cq;
  group.AddCq(&cq);
  group.AddSq(&sq);

  // 200 reads in one pass (three batch runs): CID i reads block i into buffer i.
  constexpr uint32_t kReads = 200;
  for (uint16_t i = 0; i < kReads; ++i) {
    const Sqe sqe = ReadCmd(i, i, 1, M::kData + uint64_t{i} * kBlock);
    std::memcpy(memory.at(M::kSq + uint64_t{i} * 64), &sqe, 64);
  }
  sq_tail.store(kReads, std::memory_order_release);
  EXPECT_EQ(group.Poll(kReads), kReads);
  EXPECT_EQ(memory.completions, static_cast<int>(kReads));
  EXPECT_EQ(memory.early, 0);
  EXPECT_EQ(group.copies_batched(), kReads);
}

}  // namespace
}  // namespace nvemu::perf_engine
