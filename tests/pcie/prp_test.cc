// Tests of the PRP data channel (src/pcie/prp.cc): NVMe Base 2.0, 4.1.1 Physical Region Page Entry
// and List, over RegionHostMemory (src/pcie/host_memory.cc); ContiguousChannel; CopyToHost into a
// copy batch (src/pcie/copy_batch.h).
#include "pcie/prp.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <ostream>
#include <vector>

#include "nvemu/host_memory.h"
#include "pcie/copy_batch.h"

namespace nvemu {
// gtest prints Status values as text.
inline void PrintTo(const Status& s, std::ostream* os) { *os << s.ToString(); }
}  // namespace nvemu

namespace nvemu::pcie {
namespace {

constexpr uint64_t kPage = 4096;
// Host address map: region A (data pages), a gap, region B (PRP lists and more data).
constexpr uint64_t kRegionA = 0x10000000;
constexpr uint64_t kRegionASize = 4 << 20;  // 1024 pages
constexpr uint64_t kGap = kRegionA + kRegionASize;
constexpr uint64_t kRegionB = 0x20000000;
constexpr uint64_t kRegionBSize = 1 << 20;

uint8_t Pattern(uint64_t i, uint8_t seed) {
  return static_cast<uint8_t>((i * 131 + (i >> 8) * 7 + seed) & 0xff);
}

std::vector<uint8_t> PatternBuffer(size_t len, uint8_t seed) {
  std::vector<uint8_t> v(len);
  for (size_t i = 0; i < len; ++i) v[i] = Pattern(i, seed);
  return v;
}

// One chunk callback invocation.
struct Call {
  uint64_t offset;
  size_t len;
};

// HostMemory that only supports Read/Write (no zero-copy Map), forcing the bounce path.
class UnmappableMemory final : public HostMemory {
 public:
  explicit UnmappableMemory(HostMemory& inner) : inner_(inner) {}
  bool Read(uint64_t addr, void* dst, size_t len) override {
    reads++;
    return inner_.Read(addr, dst, len);
  }
  bool Write(uint64_t addr, const void* src, size_t len) override {
    writes++;
    return inner_.Write(addr, src, len);
  }
  int reads = 0;
  int writes = 0;

 private:
  HostMemory& inner_;
};

class PrpTest : public ::testing::Test {
 protected:
  PrpTest() : a_(kRegionASize, 0xee), b_(kRegionBSize, 0xee) {
    EXPECT_TRUE(mem_.AddRegion(kRegionA, a_.data(), a_.size()));
    EXPECT_TRUE(mem_.AddRegion(kRegionB, b_.data(), b_.size()));
  }

  // Page `i` of region A / B.
  static uint64_t A(uint64_t i) { return kRegionA + i * kPage; }
  static uint64_t B(uint64_t i) { return kRegionB + i * kPage; }

  uint8_t* Host(uint64_t addr) {
    if (addr >= kRegionA && addr < kRegionA + kRegionASize) return a_.data() + (addr - kRegionA);
    if (addr >= kRegionB && addr < kRegionB + kRegionBSize) return b_.data() + (addr - kRegionB);
    ADD_FAILURE() << "address " << std::hex << addr << " not in a region";
    return nullptr;
  }
  void WriteList(uint64_t addr, const std::vector<uint64_t>& entries) {
    std::memcpy(Host(addr), entries.data(), entries.size() * 8);
  }

  // Controller -> host: moves `data` through the channel into host memory.
  Status Push(DataChannel& ch, const std::vector<uint8_t>& data,
              std::vector<Call>* calls = nullptr) {
    if (Status st = ch.Prepare(data.size()); !st.ok()) return st;
    return ch.Transfer(Direction::kToHost, 0, data.size(),
                       [&](uint8_t* buf, uint64_t off, size_t n) {
                         if (calls) calls->push_back({off, n});
                         std::memcpy(buf, data.data() + off, n);
                         return Status::Success();
                       });
  }
  // Host -> controller: collects `len` bytes of command data.
  Status Pull(DataChannel& ch, size_t len, std::vector<uint8_t>* out,
              std::vector<Call>* calls = nullptr) {
    out->assign(len, 0);
    if (Status st = ch.Prepare(len); !st.ok()) return st;
    return ch.Transfer(Direction::kFromHost, 0, len, [&](uint8_t* buf, uint64_t off, size_t n) {
      if (calls) calls->push_back({off, n});
      EXPECT_LE(off + n, len);
      std::memcpy(out->data() + off, buf, n);
      return Status::Success();
    });
  }

  // Expects host memory at `addr` to hold data[off, off+len).
  void ExpectHost(uint64_t addr, const std::vector<uint8_t>& data, size_t off, size_t len) {
    ASSERT_EQ(std::memcmp(Host(addr), data.data() + off, len), 0)
        << "host " << std::hex << addr << " vs data offset " << off;
  }
  void FillHost(uint64_t addr, const std::vector<uint8_t>& data, size_t off, size_t len) {
    std::memcpy(Host(addr), data.data() + off, len);
  }

  // Checks that the calls cover [0, total) in ascending, gap-free order.
  static void ExpectCovers(const std::vector<Call>& calls, uint64_t start, uint64_t total) {
    uint64_t next = start;
    for (const Call& c : calls) {
      EXPECT_EQ(c.offset, next);
      EXPECT_GT(c.len, 0u);
      next = c.offset + c.len;
    }
    EXPECT_EQ(next, start + total);
  }

  std::vector<uint8_t> a_, b_;
  RegionHostMemory mem_;
};

// --- Data placement ------------------------------------------------------------------------------

TEST_F(PrpTest, Prp1Only) {
  PrpChannel ch(mem_, kPage, A(3), /*prp2=*/0xdead0000beef);  // PRP2 unused: not read
  auto data = PatternBuffer(kPage, 1);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  EXPECT_EQ(ch.Length(), kPage);
  ExpectHost(A(3), data, 0, kPage);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].offset, 0u);
  EXPECT_EQ(calls[0].len, kPage);
  // Bytes around it untouched.
  EXPECT_EQ(*Host(A(3) - 1), 0xee);
  EXPECT_EQ(*Host(A(4)), 0xee);
  // And back.
  std::vector<uint8_t> out;
  ASSERT_EQ(Pull(ch, kPage, &out), Status::Success());
  EXPECT_EQ(out, data);
}

TEST_F(PrpTest, Prp1WithOffsetWithinOnePage) {
  PrpChannel ch(mem_, kPage, A(5) + 0x200, 0xdead0000beef);
  auto data = PatternBuffer(kPage - 0x200, 2);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(5) + 0x200, data, 0, data.size());
  EXPECT_EQ(*Host(A(5) + 0x1ff), 0xee);
  EXPECT_EQ(*Host(A(6)), 0xee);
}

TEST_F(PrpTest, SmallTransferAtTheEndOfAPage) {
  PrpChannel ch(mem_, kPage, A(5) + 0xffc, 0);
  auto data = PatternBuffer(4, 3);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(5) + 0xffc, data, 0, 4);
}

TEST_F(PrpTest, Prp1AndPrp2TwoPages) {
  // PRP1 page-aligned, two whole pages: PRP2 is the second data page (not a list).
  PrpChannel ch(mem_, kPage, A(10), A(2));
  auto data = PatternBuffer(2 * kPage, 4);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ExpectHost(A(10), data, 0, kPage);
  ExpectHost(A(2), data, kPage, kPage);
  EXPECT_EQ(calls.size(), 2u);
  ExpectCovers(calls, 0, 2 * kPage);
}

TEST_F(PrpTest, Prp1WithOffsetAndPrp2) {
  // 0x800 bytes in PRP1's page, the rest (0x900) at PRP2.
  PrpChannel ch(mem_, kPage, A(7) + 0x800, B(9));
  auto data = PatternBuffer(0x1100, 5);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(7) + 0x800, data, 0, 0x800);
  ExpectHost(B(9), data, 0x800, 0x900);
  EXPECT_EQ(*Host(B(9) + 0x900), 0xee);
  std::vector<uint8_t> out;
  ASSERT_EQ(Pull(ch, data.size(), &out), Status::Success());
  EXPECT_EQ(out, data);
}

TEST_F(PrpTest, PrpList) {
  // 5 pages: PRP1 + a list of 4 scattered (descending) pages.
  const std::vector<uint64_t> pages = {A(40), A(30), A(20), A(10)};
  WriteList(B(0), pages);
  PrpChannel ch(mem_, kPage, A(50), B(0));
  auto data = PatternBuffer(5 * kPage, 6);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(50), data, 0, kPage);
  for (size_t i = 0; i < pages.size(); ++i) ExpectHost(pages[i], data, (i + 1) * kPage, kPage);
  std::vector<uint8_t> out;
  ASSERT_EQ(Pull(ch, data.size(), &out), Status::Success());
  EXPECT_EQ(out, data);
}

TEST_F(PrpTest, PrpListWithPrp1OffsetAndPartialLastPage) {
  // PRP1 at offset 0x100 holds 0xf00 bytes; then 3 list entries, the last one partly used.
  const std::vector<uint64_t> pages = {A(1), A(3), A(5)};
  WriteList(B(1), pages);
  const size_t len = 0xf00 + 2 * kPage + 0x123;
  PrpChannel ch(mem_, kPage, A(9) + 0x100, B(1));
  auto data = PatternBuffer(len, 7);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(9) + 0x100, data, 0, 0xf00);
  ExpectHost(A(1), data, 0xf00, kPage);
  ExpectHost(A(3), data, 0xf00 + kPage, kPage);
  ExpectHost(A(5), data, 0xf00 + 2 * kPage, 0x123);
  EXPECT_EQ(*Host(A(5) + 0x123), 0xee);
}

TEST_F(PrpTest, PrpListPointerWithOffset) {
  // The PRP list pointer in PRP2 may start inside a page (qword aligned).
  const std::vector<uint64_t> pages = {A(60), A(62)};
  WriteList(B(2) + 0x38, pages);
  PrpChannel ch(mem_, kPage, A(61), B(2) + 0x38);
  auto data = PatternBuffer(3 * kPage, 8);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(61), data, 0, kPage);
  ExpectHost(A(60), data, kPage, kPage);
  ExpectHost(A(62), data, 2 * kPage, kPage);
}

// 1 + 600 data pages: the first list page holds 511 data entries and a chain pointer in its last
// slot; the second list page holds the other 89.
TEST_F(PrpTest, ChainedPrpList) {
  constexpr size_t kListed = 600;
  std::vector<uint64_t> pages(kListed);
  for (size_t i = 0; i < kListed; ++i) pages[i] = A((i * 7 + 3) % 1000);  // scattered, distinct
  std::vector<uint64_t> list1(pages.begin(), pages.begin() + 511);
  list1.push_back(B(20));  // chain
  std::vector<uint64_t> list2(pages.begin() + 511, pages.end());
  WriteList(B(10), list1);
  WriteList(B(20), list2);
  PrpChannel ch(mem_, kPage, A(1001), B(10));
  auto data = PatternBuffer((1 + kListed) * kPage, 9);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(1001), data, 0, kPage);
  for (size_t i = 0; i < kListed; ++i) {
    ExpectHost(pages[i], data, (i + 1) * kPage, kPage);
    if (HasFatalFailure()) return;
  }
  std::vector<uint8_t> out;
  ASSERT_EQ(Pull(ch, data.size(), &out), Status::Success());
  EXPECT_EQ(out, data);
}

// A list pointer with an offset leaves fewer slots in its page: (4096 - 0x10) / 8 = 510, so 509
// data entries and the chain.
TEST_F(PrpTest, ChainedPrpListStartingInsideAPage) {
  constexpr size_t kListed = 520;
  std::vector<uint64_t> pages(kListed);
  for (size_t i = 0; i < kListed; ++i) pages[i] = A(1000 - i);
  std::vector<uint64_t> list1(pages.begin(), pages.begin() + 509);
  list1.push_back(B(30));
  std::vector<uint64_t> list2(pages.begin() + 509, pages.end());
  WriteList(B(10) + 0x10, list1);
  WriteList(B(30), list2);
  PrpChannel ch(mem_, kPage, A(0), B(10) + 0x10);
  auto data = PatternBuffer((1 + kListed) * kPage, 10);
  ASSERT_EQ(Push(ch, data), Status::Success());
  for (size_t i = 0; i < kListed; ++i) {
    ExpectHost(pages[i], data, (i + 1) * kPage, kPage);
    if (HasFatalFailure()) return;
  }
}

// Exactly 512 listed pages fit one list page: its last entry is data, not a chain pointer.
TEST_F(PrpTest, FullListPageWithoutChain) {
  constexpr size_t kListed = 512;
  std::vector<uint64_t> pages(kListed);
  for (size_t i = 0; i < kListed; ++i) pages[i] = A(2 * i);
  WriteList(B(40), pages);
  // What follows the list page is garbage that must not be read as a pointer.
  WriteList(B(41), {0x7});
  PrpChannel ch(mem_, kPage, A(1), B(40));
  auto data = PatternBuffer((1 + kListed) * kPage, 11);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(1), data, 0, kPage);
  for (size_t i = 0; i < kListed; ++i) {
    ExpectHost(pages[i], data, (i + 1) * kPage, kPage);
    if (HasFatalFailure()) return;
  }
}

// --- Invalid PRP Offset --------------------------------------------------------------------------

TEST_F(PrpTest, Prp2DataPointerWithOffsetIsInvalidPrpOffset) {
  PrpChannel ch(mem_, kPage, A(0), A(1) + 0x200);
  auto data = PatternBuffer(2 * kPage, 12);
  EXPECT_EQ(Push(ch, data), sc::kInvalidPrpOffset);
  // Even a dword-aligned 4-byte offset.
  PrpChannel ch2(mem_, kPage, A(0) + 0x800, A(1) + 4);
  EXPECT_EQ(Push(ch2, PatternBuffer(kPage, 12)), sc::kInvalidPrpOffset);
}

TEST_F(PrpTest, ListEntryWithOffsetIsInvalidPrpOffset) {
  WriteList(B(3), {A(10), A(11) + 0x800, A(12)});
  PrpChannel ch(mem_, kPage, A(9), B(3));
  EXPECT_EQ(Push(ch, PatternBuffer(4 * kPage, 13)), sc::kInvalidPrpOffset);
  // The last, partly used entry must be page aligned too.
  WriteList(B(3), {A(10), A(11), A(12) + 8});
  PrpChannel ch2(mem_, kPage, A(9), B(3));
  std::vector<uint8_t> out;
  EXPECT_EQ(Pull(ch2, 3 * kPage + 16, &out), sc::kInvalidPrpOffset);
}

TEST_F(PrpTest, ListPointerNotQwordAlignedIsInvalidPrpOffset) {
  WriteList(B(4), {A(10), A(11)});
  for (uint64_t misalign : {1u, 2u, 4u}) {
    PrpChannel ch(mem_, kPage, A(9), B(4) + misalign);
    EXPECT_EQ(Push(ch, PatternBuffer(3 * kPage, 14)), sc::kInvalidPrpOffset) << misalign;
  }
}

TEST_F(PrpTest, ChainPointerNotQwordAlignedIsInvalidPrpOffset) {
  std::vector<uint64_t> list1;
  for (size_t i = 0; i < 511; ++i) list1.push_back(A(i));
  list1.push_back(B(21) + 4);
  WriteList(B(11), list1);
  PrpChannel ch(mem_, kPage, A(600), B(11));
  EXPECT_EQ(Push(ch, PatternBuffer(514 * kPage, 15)), sc::kInvalidPrpOffset);
}

// NVMe Base 2.0, 4.1.1: every PRP entry other than PRP1 and the PRP list pointer in the command has
// offset 0; Invalid PRP Offset (Figure 94, 13h): "a PRP entry with a non-zero offset after the
// first entry". The chain pointer in the last slot of a list page is such an entry (regression
// test for bug P1, fixed in 3a2faab).
TEST_F(PrpTest, ChainPointerWithOffsetIsInvalidPrpOffset) {
  std::vector<uint64_t> list1;
  for (size_t i = 0; i < 511; ++i) list1.push_back(A(i));
  list1.push_back(B(21) + 0x10);  // chain pointer inside a page
  WriteList(B(11), list1);
  WriteList(B(21) + 0x10, {A(700), A(701)});
  PrpChannel ch(mem_, kPage, A(600), B(11));
  EXPECT_EQ(Push(ch, PatternBuffer(514 * kPage, 15)), sc::kInvalidPrpOffset);
}

// --- Data Transfer Error (unbacked host addresses) -----------------------------------------------

TEST_F(PrpTest, Prp1InTheGapIsDataTransferError) {
  PrpChannel ch(mem_, kPage, kGap + kPage, 0);
  EXPECT_EQ(Push(ch, PatternBuffer(kPage, 16)), sc::kDataTransferError);
  std::vector<uint8_t> out;
  EXPECT_EQ(Pull(ch, 512, &out), sc::kDataTransferError);
}

TEST_F(PrpTest, Prp2InTheGapIsDataTransferError) {
  PrpChannel ch(mem_, kPage, A(0), kGap);
  EXPECT_EQ(Push(ch, PatternBuffer(2 * kPage, 17)), sc::kDataTransferError);
}

TEST_F(PrpTest, TransferRunningOffTheEndOfARegionIsDataTransferError) {
  // The last page of region A with an offset; the rest would be at the (unbacked) next page.
  PrpChannel ch(mem_, kPage, A(1023) + 0x800, kGap);
  EXPECT_EQ(Push(ch, PatternBuffer(kPage, 18)), sc::kDataTransferError);
}

TEST_F(PrpTest, PrpListInTheGapIsDataTransferError) {
  PrpChannel ch(mem_, kPage, A(0), kGap + 0x40);
  EXPECT_EQ(Push(ch, PatternBuffer(3 * kPage, 19)), sc::kDataTransferError);
}

TEST_F(PrpTest, ListEntryInTheGapIsDataTransferError) {
  WriteList(B(5), {A(1), kGap + 2 * kPage, A(3)});
  PrpChannel ch(mem_, kPage, A(0), B(5));
  EXPECT_EQ(Push(ch, PatternBuffer(4 * kPage, 20)), sc::kDataTransferError);
  std::vector<uint8_t> out;
  EXPECT_EQ(Pull(ch, 4 * kPage, &out), sc::kDataTransferError);
}

TEST_F(PrpTest, ChainPointerInTheGapIsDataTransferError) {
  std::vector<uint64_t> list1;
  for (size_t i = 0; i < 511; ++i) list1.push_back(A(i));
  list1.push_back(kGap);
  WriteList(B(12), list1);
  PrpChannel ch(mem_, kPage, A(600), B(12));
  EXPECT_EQ(Push(ch, PatternBuffer(514 * kPage, 21)), sc::kDataTransferError);
}

// A list pointer in the last qword of a page has one slot: with more than one page left, that slot
// is already the chain pointer (4.1.1: "the last entry within a memory page ... shall be a PRP List
// pointer if there is more than a single memory page of data to be transferred").
TEST_F(PrpTest, ListPointerInTheLastSlotIsAChainPointer) {
  const uint64_t last_qword = B(69) + kPage - 8;
  WriteList(last_qword, {B(70)});
  WriteList(B(70), {A(1), A(3)});
  PrpChannel ch(mem_, kPage, A(5), last_qword);
  auto data = PatternBuffer(3 * kPage, 22);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(A(5), data, 0, kPage);
  ExpectHost(A(1), data, kPage, kPage);
  ExpectHost(A(3), data, 2 * kPage, kPage);
}

TEST_F(PrpTest, ChainToTheGapFromTheLastSlotIsDataTransferError) {
  const uint64_t last_qword = kRegionB + kRegionBSize - 8;
  WriteList(last_qword, {kGap});
  PrpChannel ch(mem_, kPage, A(0), last_qword);
  EXPECT_EQ(Push(ch, PatternBuffer(3 * kPage, 22)), sc::kDataTransferError);
}

// --- Sub-ranges and chunking ---------------------------------------------------------------------

TEST_F(PrpTest, TransferOfASubRange) {
  const std::vector<uint64_t> pages = {A(70), A(72), A(74), A(76)};
  WriteList(B(6), pages);
  PrpChannel ch(mem_, kPage, A(78), B(6));
  const uint64_t total = 5 * kPage;
  ASSERT_EQ(ch.Prepare(total), Status::Success());
  EXPECT_EQ(ch.Length(), total);
  auto data = PatternBuffer(total, 23);
  const uint64_t off = 0x1800, len = 0x2000;  // pages 1..3 partly
  std::vector<Call> calls;
  ASSERT_EQ(ch.Transfer(Direction::kToHost, off, len,
                        [&](uint8_t* buf, uint64_t o, size_t n) {
                          calls.push_back({o, n});
                          std::memcpy(buf, data.data() + o, n);
                          return Status::Success();
                        }),
            Status::Success());
  ExpectCovers(calls, off, len);
  // Data offset 0x1800..0x2000 lands in page A(70) at 0x800; 0x2000..0x3000 in A(72);
  // 0x3000..0x3800 in A(74).
  ExpectHost(A(70) + 0x800, data, 0x1800, 0x800);
  ExpectHost(A(72), data, 0x2000, kPage);
  ExpectHost(A(74), data, 0x3000, 0x800);
  EXPECT_EQ(*Host(A(70) + 0x7ff), 0xee);
  EXPECT_EQ(*Host(A(74) + 0x800), 0xee);
  EXPECT_EQ(*Host(A(78)), 0xee);
  EXPECT_EQ(*Host(A(76)), 0xee);
  // Sub-range read back of the tail.
  std::vector<uint8_t> got;
  ASSERT_EQ(ch.Transfer(Direction::kFromHost, 0x3000, 0x800,
                        [&](uint8_t* buf, uint64_t o, size_t n) {
                          EXPECT_GE(o, 0x3000u);
                          got.insert(got.end(), buf, buf + n);
                          return Status::Success();
                        }),
            Status::Success());
  EXPECT_EQ(got, std::vector<uint8_t>(data.begin() + 0x3000, data.begin() + 0x3800));
}

TEST_F(PrpTest, TransferBeyondLengthIsInvalidField) {
  PrpChannel ch(mem_, kPage, A(0), A(1));
  ASSERT_EQ(ch.Prepare(2 * kPage), Status::Success());
  auto never = [](uint8_t*, uint64_t, size_t) {
    ADD_FAILURE() << "chunk called";
    return Status::Success();
  };
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 0, 2 * kPage + 1, never), sc::kInvalidField);
  EXPECT_EQ(ch.Transfer(Direction::kToHost, kPage, kPage + 1, never), sc::kInvalidField);
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 2 * kPage + 1, 0, never), sc::kInvalidField);
  // Overflowing offset + len.
  EXPECT_EQ(ch.Transfer(Direction::kToHost, kPage, UINT64_MAX, never), sc::kInvalidField);
  // Empty transfers at the end are fine and call nothing.
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 2 * kPage, 0, never), Status::Success());
  EXPECT_EQ(ch.Transfer(Direction::kFromHost, 0, 0, never), Status::Success());
}

TEST_F(PrpTest, ContiguousPagesAreCoalescedIntoOneChunk) {
  // PRP1 + list of the 3 pages that follow it in host memory: one chunk of 4 pages.
  WriteList(B(7), {A(101), A(102), A(103)});
  PrpChannel ch(mem_, kPage, A(100), B(7));
  auto data = PatternBuffer(4 * kPage, 24);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].offset, 0u);
  EXPECT_EQ(calls[0].len, 4 * kPage);
  ExpectHost(A(100), data, 0, 4 * kPage);
}

TEST_F(PrpTest, CoalescingWithPrp1OffsetAndPartialLastPage) {
  PrpChannel ch(mem_, kPage, A(200) + 0x600, A(201));
  auto data = PatternBuffer(0xa00 + 0x300, 25);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ASSERT_EQ(calls.size(), 1u);
  ExpectHost(A(200) + 0x600, data, 0, data.size());
}

TEST_F(PrpTest, DiscontiguousRunsGiveOneChunkEach) {
  // Runs: [A(110), A(111)] [A(120)] [A(130), A(131), A(132)] -> 3 chunks.
  WriteList(B(8), {A(111), A(120), A(130), A(131), A(132)});
  PrpChannel ch(mem_, kPage, A(110), B(8));
  auto data = PatternBuffer(6 * kPage, 26);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].len, 2 * kPage);
  EXPECT_EQ(calls[1].len, kPage);
  EXPECT_EQ(calls[2].len, 3 * kPage);
  ExpectCovers(calls, 0, 6 * kPage);
  ExpectHost(A(110), data, 0, 2 * kPage);
  ExpectHost(A(120), data, 2 * kPage, kPage);
  ExpectHost(A(130), data, 3 * kPage, 3 * kPage);
}

TEST_F(PrpTest, ChunkErrorStopsTheTransfer) {
  WriteList(B(8), {A(120), A(130)});
  PrpChannel ch(mem_, kPage, A(110), B(8));
  ASSERT_EQ(ch.Prepare(3 * kPage), Status::Success());
  int n = 0;
  Status st = ch.Transfer(Direction::kFromHost, 0, 3 * kPage, [&](uint8_t*, uint64_t, size_t) {
    ++n;
    return n == 2 ? sc::kUnrecoveredReadError : Status::Success();
  });
  EXPECT_EQ(st, sc::kUnrecoveredReadError);
  EXPECT_EQ(n, 2);
}

// --- Bounce path (HostMemory without Map) --------------------------------------------------------

TEST_F(PrpTest, UnmappableMemoryToHostUsesTheBouncePath) {
  UnmappableMemory um(mem_);
  WriteList(B(9), {A(301), A(302), A(250)});
  PrpChannel ch(um, kPage, A(300) + 0x400, B(9));
  const size_t len = 0xc00 + 2 * kPage + 0x80;
  auto data = PatternBuffer(len, 27);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ExpectCovers(calls, 0, len);
  for (const Call& c : calls) EXPECT_LE(c.len, 4096u);
  EXPECT_GT(um.writes, 0);
  ExpectHost(A(300) + 0x400, data, 0, 0xc00 + 2 * kPage);
  ExpectHost(A(250), data, 0xc00 + 2 * kPage, 0x80);
  EXPECT_EQ(*Host(A(250) + 0x80), 0xee);
}

TEST_F(PrpTest, UnmappableMemoryFromHostUsesTheBouncePath) {
  UnmappableMemory um(mem_);
  WriteList(B(9), {A(401), A(350), A(351)});
  const size_t len = 4 * kPage;
  auto data = PatternBuffer(len, 28);
  FillHost(A(400), data, 0, kPage);
  FillHost(A(401), data, kPage, kPage);
  FillHost(A(350), data, 2 * kPage, 2 * kPage);
  PrpChannel ch(um, kPage, A(400), B(9));
  std::vector<uint8_t> out;
  std::vector<Call> calls;
  ASSERT_EQ(Pull(ch, len, &out, &calls), Status::Success());
  EXPECT_EQ(out, data);
  ExpectCovers(calls, 0, len);
  EXPECT_GT(um.reads, 0);
}

TEST_F(PrpTest, UnmappableMemoryGapIsDataTransferError) {
  UnmappableMemory um(mem_);
  PrpChannel ch(um, kPage, A(0), kGap);
  EXPECT_EQ(Push(ch, PatternBuffer(2 * kPage, 29)), sc::kDataTransferError);
  std::vector<uint8_t> out;
  EXPECT_EQ(Pull(ch, 2 * kPage, &out), sc::kDataTransferError);
}

// Two regions that touch: [X, X+8K) and [X+8K, X+16K) from different buffers. Every byte of a
// transfer from X+4K+0x800 to X+8K+0x800 is backed, so it must succeed (HostMemory::Read/Write
// promise failure only "when any byte ... is not backed"). Regression test for bug P2 (3a2faab).
TEST(PrpAdjacentRegionsTest, TransferAcrossTwoAdjacentRegions) {
  constexpr uint64_t kX = 0x40000000;
  std::vector<uint8_t> r1(2 * kPage, 0), r2(2 * kPage, 0);
  RegionHostMemory mem;
  ASSERT_TRUE(mem.AddRegion(kX, r1.data(), r1.size()));
  ASSERT_TRUE(mem.AddRegion(kX + 2 * kPage, r2.data(), r2.size()));
  PrpChannel ch(mem, kPage, kX + kPage + 0x800, kX + 2 * kPage);
  auto data = PatternBuffer(kPage, 30);
  ASSERT_EQ(ch.Prepare(kPage), Status::Success());
  Status st = ch.Transfer(Direction::kToHost, 0, kPage, [&](uint8_t* buf, uint64_t o, size_t n) {
    std::memcpy(buf, data.data() + o, n);
    return Status::Success();
  });
  EXPECT_EQ(st, Status::Success());
  EXPECT_EQ(std::memcmp(r1.data() + kPage + 0x800, data.data(), 0x800), 0);
  EXPECT_EQ(std::memcmp(r2.data(), data.data() + 0x800, 0x800), 0);
}

// --- 8 KiB memory pages (CC.MPS = 1) -------------------------------------------------------------

constexpr uint64_t k8K = 8192;

TEST_F(PrpTest, EightKiBPagesPrp1AndPrp2) {
  // PRP1 at offset 0x1800 of an 8 KiB page: 0x800 bytes there, then PRP2 (8 KiB aligned).
  PrpChannel ch(mem_, k8K, kRegionA + 3 * k8K + 0x1800, kRegionA + 10 * k8K);
  auto data = PatternBuffer(0x800 + k8K, 31);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ExpectHost(kRegionA + 3 * k8K + 0x1800, data, 0, 0x800);
  ExpectHost(kRegionA + 10 * k8K, data, 0x800, k8K);
  EXPECT_EQ(calls.size(), 2u);
}

TEST_F(PrpTest, EightKiBPagesList) {
  const std::vector<uint64_t> pages = {kRegionA + 20 * k8K, kRegionA + 5 * k8K,
                                       kRegionA + 40 * k8K};
  WriteList(B(50), pages);
  PrpChannel ch(mem_, k8K, kRegionA + 30 * k8K + 0x1000, B(50));
  const size_t len = 0x1000 + 2 * k8K + 0x10;
  auto data = PatternBuffer(len, 32);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(kRegionA + 30 * k8K + 0x1000, data, 0, 0x1000);
  ExpectHost(pages[0], data, 0x1000, k8K);
  ExpectHost(pages[1], data, 0x1000 + k8K, k8K);
  ExpectHost(pages[2], data, 0x1000 + 2 * k8K, 0x10);
}

TEST_F(PrpTest, EightKiBPagesRequireEightKiBAlignment) {
  // 4 KiB aligned is not 8 KiB aligned: invalid for PRP2 as a data pointer ...
  PrpChannel ch(mem_, k8K, kRegionA, kRegionA + 5 * k8K + kPage);
  EXPECT_EQ(Push(ch, PatternBuffer(2 * k8K, 33)), sc::kInvalidPrpOffset);
  // ... and for a list entry.
  WriteList(B(51), {kRegionA + 7 * k8K, kRegionA + 9 * k8K + kPage});
  PrpChannel ch2(mem_, k8K, kRegionA, B(51));
  EXPECT_EQ(Push(ch2, PatternBuffer(3 * k8K, 34)), sc::kInvalidPrpOffset);
}

TEST_F(PrpTest, EightKiBPagesFirstPageHoldsUpToEightKiB) {
  // 8 KiB in PRP1 alone (aligned): PRP2 must not be used.
  PrpChannel ch(mem_, k8K, kRegionA + 2 * k8K, kGap);
  auto data = PatternBuffer(k8K, 35);
  ASSERT_EQ(Push(ch, data), Status::Success());
  ExpectHost(kRegionA + 2 * k8K, data, 0, k8K);
}

TEST_F(PrpTest, EightKiBPagesChainedList) {
  // 8 KiB list pages hold 1024 entries: 1023 data + chain.
  constexpr size_t kListed = 1030;
  // 1030 8 KiB pages do not fit region A (512 of them); reuse pages: placement checks use the last
  // writer, so use distinct pages for the checked tail only.
  std::vector<uint64_t> pages(kListed);
  for (size_t i = 0; i < kListed; ++i) pages[i] = kRegionA + (i % 500) * k8K;
  for (size_t i = 1023; i < kListed; ++i) pages[i] = kRegionA + (500 + (i - 1023)) * k8K;
  std::vector<uint64_t> list1(pages.begin(), pages.begin() + 1023);
  list1.push_back(kRegionB + 4 * k8K);
  std::vector<uint64_t> list2(pages.begin() + 1023, pages.end());
  WriteList(kRegionB + 2 * k8K, list1);
  WriteList(kRegionB + 4 * k8K, list2);
  PrpChannel ch(mem_, k8K, kRegionA + 510 * k8K, kRegionB + 2 * k8K);
  auto data = PatternBuffer((1 + kListed) * k8K, 36);
  ASSERT_EQ(Push(ch, data), Status::Success());
  for (size_t i = 1023; i < kListed; ++i) ExpectHost(pages[i], data, (i + 1) * k8K, k8K);
  // Pages 500..999 of the list were written last at 500..999 -> check a few.
  for (size_t i = 1000; i < 1023; ++i) ExpectHost(pages[i], data, (i + 1) * k8K, k8K);
}

// --- ContiguousChannel ---------------------------------------------------------------------------

TEST_F(PrpTest, ContiguousChannelBasics) {
  ContiguousChannel ch(mem_, A(500) + 0x40, 3 * kPage);
  EXPECT_EQ(ch.Length(), 3 * kPage);
  EXPECT_EQ(ch.Prepare(3 * kPage + 1), sc::kInvalidField);
  auto data = PatternBuffer(3 * kPage, 37);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ASSERT_EQ(calls.size(), 1u);  // one mapped range
  ExpectHost(A(500) + 0x40, data, 0, data.size());
  std::vector<uint8_t> out;
  ASSERT_EQ(Pull(ch, 3 * kPage, &out), Status::Success());
  EXPECT_EQ(out, data);
  // A smaller Prepare is fine (the buffer is an upper bound).
  EXPECT_EQ(ch.Prepare(16), Status::Success());
}

TEST_F(PrpTest, ContiguousChannelSubRangeAndBounds) {
  ContiguousChannel ch(mem_, B(60), 0x1000);
  ASSERT_EQ(ch.Prepare(0x1000), Status::Success());
  auto data = PatternBuffer(0x1000, 38);
  std::vector<Call> calls;
  ASSERT_EQ(ch.Transfer(Direction::kToHost, 0x100, 0x200,
                        [&](uint8_t* buf, uint64_t o, size_t n) {
                          calls.push_back({o, n});
                          std::memcpy(buf, data.data() + o, n);
                          return Status::Success();
                        }),
            Status::Success());
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].offset, 0x100u);
  EXPECT_EQ(calls[0].len, 0x200u);
  ExpectHost(B(60) + 0x100, data, 0x100, 0x200);
  EXPECT_EQ(*Host(B(60) + 0xff), 0xee);
  EXPECT_EQ(*Host(B(60) + 0x300), 0xee);
  auto never = [](uint8_t*, uint64_t, size_t) {
    ADD_FAILURE() << "chunk called";
    return Status::Success();
  };
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 0x800, 0x801, never), sc::kInvalidField);
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 0x1001, 0, never), sc::kInvalidField);
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 0x10, UINT64_MAX, never), sc::kInvalidField);
  EXPECT_EQ(ch.Transfer(Direction::kToHost, 0x1000, 0, never), Status::Success());
}

TEST_F(PrpTest, ContiguousChannelUnbackedIsDataTransferError) {
  ContiguousChannel gap(mem_, kGap, 64);
  EXPECT_EQ(Push(gap, PatternBuffer(64, 39)), sc::kDataTransferError);
  // Crossing the end of a region.
  ContiguousChannel edge(mem_, kRegionB + kRegionBSize - 32, 64);
  std::vector<uint8_t> out;
  EXPECT_EQ(Pull(edge, 64, &out), sc::kDataTransferError);
}

TEST_F(PrpTest, ContiguousChannelBounceInFourKiBPieces) {
  UnmappableMemory um(mem_);
  ContiguousChannel ch(um, A(600) + 0x10, 3 * kPage);
  auto data = PatternBuffer(3 * kPage, 40);
  std::vector<Call> calls;
  ASSERT_EQ(Push(ch, data, &calls), Status::Success());
  ASSERT_EQ(calls.size(), 3u);
  ExpectCovers(calls, 0, 3 * kPage);
  ExpectHost(A(600) + 0x10, data, 0, data.size());
  std::vector<uint8_t> out;
  ASSERT_EQ(Pull(ch, 3 * kPage, &out), Status::Success());
  EXPECT_EQ(out, data);
}

// --- RegionHostMemory ----------------------------------------------------------------------------

TEST(RegionHostMemoryTest, RejectsOverlapsAndEmptyRegions) {
  std::vector<uint8_t> buf(0x3000);
  RegionHostMemory m;
  EXPECT_TRUE(m.AddRegion(0x1000, buf.data(), 0x1000));
  EXPECT_FALSE(m.AddRegion(0x1800, buf.data() + 0x1000, 0x1000));  // overlaps
  EXPECT_FALSE(m.AddRegion(0x0800, buf.data() + 0x1000, 0x1000));  // overlaps the start
  EXPECT_TRUE(m.AddRegion(0x2000, buf.data() + 0x1000, 0x1000));   // adjacent is fine
  EXPECT_FALSE(m.AddRegion(0x9000, buf.data(), 0));
  EXPECT_FALSE(m.AddRegion(0x9000, nullptr, 16));
  EXPECT_FALSE(m.AddRegion(UINT64_MAX - 8, buf.data(), 0x100));  // wraps
  EXPECT_EQ(m.Map(0x1000, 0x1000), buf.data());
  EXPECT_EQ(m.Map(0x2000, 0x10), buf.data() + 0x1000);
  EXPECT_EQ(m.Map(0x0fff, 2), nullptr);
  EXPECT_EQ(m.Map(0x3000, 1), nullptr);
  uint8_t x = 0;
  EXPECT_FALSE(m.Read(0x3000, &x, 1));
  EXPECT_TRUE(m.Write(0x1fff, &x, 1));
}

// --- CopyToHost with a copy batch (pcie/copy_batch.h) -------------------------------------------

TEST_F(PrpTest, CopyToHostQueuesTheCopyUntilTheBatchRuns) {
  CopyBatch batch;
  PrpChannel ch(mem_, kPage, A(3) + 512, 0, &batch);
  const auto data = PatternBuffer(kPage - 512, 20);
  ASSERT_EQ(ch.Prepare(data.size()), Status::Success());
  ASSERT_EQ(ch.CopyToHost(0, data.data(), data.size()), Status::Success());
  EXPECT_EQ(batch.size(), 1u);
  EXPECT_EQ(Host(A(3) + 512)[0], 0xee);  // nothing copied yet
  batch.Run();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(batch.copies_run(), 1u);
  ExpectHost(A(3) + 512, data, 0, data.size());
}

TEST_F(PrpTest, CopyToHostQueuesOnePiecePerHostContiguousRun) {
  // Five pages: PRP1 A(10), then through the PRP list A(11), A(40), A(41), B(9).
  WriteList(B(0), {A(11), A(40), A(41), B(9)});
  CopyBatch batch;
  PrpChannel ch(mem_, kPage, A(10), B(0), &batch);
  const auto data = PatternBuffer(5 * kPage, 21);
  ASSERT_EQ(ch.Prepare(data.size()), Status::Success());
  // Part of the data, from an offset: pages 1..3 of the command (A(11) from 100, A(40), A(41)).
  ASSERT_EQ(ch.CopyToHost(kPage + 100, data.data() + kPage + 100, 3 * kPage - 100),
            Status::Success());
  EXPECT_EQ(batch.size(), 2u);  // A(11)+100.., then A(40)-A(41) coalesced
  ASSERT_EQ(ch.CopyToHost(4 * kPage, data.data() + 4 * kPage, kPage), Status::Success());
  EXPECT_EQ(batch.size(), 3u);
  batch.Run();
  EXPECT_EQ(Host(A(11) + 99)[0], 0xee);  // before the range: untouched
  ExpectHost(A(11) + 100, data, kPage + 100, kPage - 100);
  ExpectHost(A(40), data, 2 * kPage, 2 * kPage);
  ExpectHost(B(9), data, 4 * kPage, kPage);
  EXPECT_EQ(Host(A(10))[0], 0xee);  // page 0 was never asked for
}

TEST_F(PrpTest, CopyToHostCopiesAtOnceWithoutBatchRoomOrMapping) {
  const auto data = PatternBuffer(2 * kPage, 22);
  // Full batch: the command copies inline and leaves the batch as it was.
  CopyBatch batch;
  uint8_t scratch[8];
  while (batch.Add(scratch, scratch, 0)) {
  }
  PrpChannel full(mem_, kPage, A(5), A(9), &batch);
  ASSERT_EQ(full.Prepare(data.size()), Status::Success());
  ASSERT_EQ(full.CopyToHost(0, data.data(), data.size()), Status::Success());
  EXPECT_EQ(batch.size(), CopyBatch::kCapacity);
  ExpectHost(A(5), data, 0, kPage);
  ExpectHost(A(9), data, kPage, kPage);
  // One free entry for two runs: all or nothing, so none stays queued.
  batch.Truncate(CopyBatch::kCapacity - 1);
  PrpChannel tight(mem_, kPage, A(20), A(30), &batch);
  ASSERT_EQ(tight.Prepare(data.size()), Status::Success());
  ASSERT_EQ(tight.CopyToHost(0, data.data(), data.size()), Status::Success());
  EXPECT_EQ(batch.size(), CopyBatch::kCapacity - 1);
  ExpectHost(A(20), data, 0, kPage);
  ExpectHost(A(30), data, kPage, kPage);
  // Host memory that cannot be mapped: the bounce path, as Transfer.
  CopyBatch empty;
  UnmappableMemory um(mem_);
  PrpChannel bounce(um, kPage, A(50), A(60), &empty);
  ASSERT_EQ(bounce.Prepare(data.size()), Status::Success());
  ASSERT_EQ(bounce.CopyToHost(0, data.data(), data.size()), Status::Success());
  EXPECT_TRUE(empty.empty());
  EXPECT_GT(um.writes, 0);
  ExpectHost(A(50), data, 0, kPage);
  ExpectHost(A(60), data, kPage, kPage);
}

TEST_F(PrpTest, CopyToHostErrorsAreFinalAndQueueNothing) {
  const auto data = PatternBuffer(3 * kPage, 23);
  CopyBatch batch;
  // A misaligned entry in the PRP list: Invalid PRP Offset, nothing queued or copied.
  WriteList(B(1), {A(71), A(72) + 8});
  PrpChannel bad(mem_, kPage, A(70), B(1), &batch);
  ASSERT_EQ(bad.Prepare(data.size()), Status::Success());
  EXPECT_EQ(bad.CopyToHost(0, data.data(), data.size()), sc::kInvalidPrpOffset);
  EXPECT_TRUE(batch.empty());
  // A page in the gap between the regions: Data Transfer Error.
  WriteList(B(2), {kGap, A(81)});
  PrpChannel gap(mem_, kPage, A(80), B(2), &batch);
  ASSERT_EQ(gap.Prepare(data.size()), Status::Success());
  EXPECT_EQ(gap.CopyToHost(0, data.data(), data.size()), sc::kDataTransferError);
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(Host(A(70))[0], 0xee);
  EXPECT_EQ(Host(A(81))[0], 0xee);
  // Beyond what Prepare declared: Invalid Field.
  PrpChannel small(mem_, kPage, A(90), 0, &batch);
  ASSERT_EQ(small.Prepare(kPage), Status::Success());
  EXPECT_EQ(small.CopyToHost(16, data.data(), kPage), sc::kInvalidField);
  EXPECT_TRUE(batch.empty());
  batch.Run();  // an empty batch runs nothing
  EXPECT_EQ(batch.copies_run(), 0u);
}

TEST(CopyBatchTest, RunsCopiesInQueueOrderAndHoldsAtMostItsCapacity) {
  std::vector<uint8_t> src(3 * 4096), dst(2 * 4096, 0);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 5 + 3);
  CopyBatch b;
  // Two copies into the same bytes: the later one wins, as inline copies would.
  ASSERT_TRUE(b.Add(dst.data(), src.data(), 4096));
  ASSERT_TRUE(b.Add(dst.data(), src.data() + 4096, 4096));
  ASSERT_TRUE(b.Add(dst.data() + 4096, src.data() + 8192, 4096));
  b.Run();
  EXPECT_EQ(std::memcmp(dst.data(), src.data() + 4096, 8192), 0);
  EXPECT_EQ(b.copies_run(), 3u);
  for (uint32_t i = 0; i < CopyBatch::kCapacity; ++i) ASSERT_TRUE(b.Add(dst.data(), src.data(), 1));
  EXPECT_FALSE(b.Add(dst.data(), src.data(), 1));
  EXPECT_EQ(b.room(), 0u);
  b.Truncate(5);
  EXPECT_EQ(b.size(), 5u);
  b.Truncate(9);  // never grows
  EXPECT_EQ(b.size(), 5u);
}

TEST(RegionHostMemoryTest, ReadWriteSpanAdjacentRegionsMapDoesNot) {
  std::vector<uint8_t> r1(0x1000), r2(0x800), r3(0x1000);
  RegionHostMemory m;
  ASSERT_TRUE(m.AddRegion(0x10000, r1.data(), r1.size()));
  ASSERT_TRUE(m.AddRegion(0x11000, r2.data(), r2.size()));
  ASSERT_TRUE(m.AddRegion(0x11800, r3.data(), r3.size()));  // three touching regions
  std::vector<uint8_t> src(0x1800);
  for (size_t i = 0; i < src.size(); ++i) src[i] = static_cast<uint8_t>(i * 13 + 1);
  ASSERT_TRUE(m.Write(0x10c00, src.data(), src.size()));  // 0x400 + 0x800 + 0xc00
  EXPECT_EQ(std::memcmp(r1.data() + 0xc00, src.data(), 0x400), 0);
  EXPECT_EQ(std::memcmp(r2.data(), src.data() + 0x400, 0x800), 0);
  EXPECT_EQ(std::memcmp(r3.data(), src.data() + 0xc00, 0xc00), 0);
  std::vector<uint8_t> dst(src.size());
  ASSERT_TRUE(m.Read(0x10c00, dst.data(), dst.size()));
  EXPECT_EQ(dst, src);
  EXPECT_EQ(m.Map(0x10c00, 0x800), nullptr);  // Map needs one region
  EXPECT_EQ(m.Map(0x11000, 0x800), r2.data());
  // A range running off the last region, or over a gap, fails.
  EXPECT_FALSE(m.Read(0x12000, dst.data(), 0x900));
  RegionHostMemory gap;
  ASSERT_TRUE(gap.AddRegion(0x10000, r1.data(), r1.size()));
  ASSERT_TRUE(gap.AddRegion(0x11001, r2.data(), r2.size()));
  EXPECT_FALSE(gap.Read(0x10f00, dst.data(), 0x200));
  EXPECT_FALSE(gap.Write(0x10f00, src.data(), 0x200));
}

}  // namespace
}  // namespace nvemu::pcie
