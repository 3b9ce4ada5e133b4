// NVM I/O commands (NVM Command Set 1.0, 3.2.2 Flush, 3.2.4 Read, 3.2.6 Write) and their data
// pointers (NVMe Base 2.0, 4.1.1 PRP Entry and PRP List; 4.1.2 PSDT; 3.4.2 fused operations).
//
// Most tests build PRP1/PRP2 and PRP lists by hand from deliberately scattered pages so that the
// controller's PRP walk is checked on its own, not the host library's PRP builder.
#include "fixture.h"

namespace nvemu::conformance {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kPage = 4096;

class IoTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Start(Options()));
    q_ = MakeQueue(1, 64);
    ASSERT_NE(q_, nullptr);
  }
  virtual DriverOptions Options() { return SmallOptions(); }

  // `n` page-aligned pages, none adjacent to the next one (a spacer page is freed in between), in
  // descending address order.
  std::vector<DmaBuffer> ScatteredPages(size_t n) {
    std::vector<DmaBuffer> pages, spacers;
    for (size_t i = 0; i < n; ++i) {
      pages.push_back(Alloc(kPage));
      spacers.push_back(Alloc(kPage));
    }
    for (auto& s : spacers) drv().dma().Free(s);
    std::reverse(pages.begin(), pages.end());
    return pages;
  }

  // Executes `sqe` with PRP fields exactly as given (no library PRP building).
  Result<Cqe> Raw(const Sqe& sqe) { return q_->Execute(sqe, kTimeout); }

  // Writes `bytes` of pattern `stream` at LBA `slba` of nsid 1 through the library (contiguous
  // buffer), then checks them by reading through the library.
  void WriteThroughLibrary(uint64_t slba, size_t bytes, uint64_t stream) {
    DmaBuffer b = Alloc(bytes);
    FillPattern(b.ptr, bytes, stream, 0);
    ASSERT_SUCCESS(Exec(q_, WriteCmd(1, slba, bytes / 512), &b, bytes));
    drv().dma().Free(b);
  }
  void ExpectThroughLibrary(uint64_t slba, size_t bytes, uint64_t stream) {
    DmaBuffer b = Alloc(bytes);
    ASSERT_SUCCESS(Exec(q_, ReadCmd(1, slba, bytes / 512), &b, bytes));
    EXPECT_EQ(CheckPattern(b.ptr, bytes, stream, 0), -1);
    drv().dma().Free(b);
  }

  IoQueue* q_ = nullptr;
};

// ---- PRP forms (4.1.1) ----

TEST_F(IoTest, Prp1OnlyWholePage) {
  DmaBuffer b = Alloc(kPage);
  FillPattern(b.ptr, kPage, 1, 0);
  Sqe w = WriteCmd(1, 0, 8);
  w.prp1 = b.addr;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(0, kPage, 1);
  std::memset(b.ptr, 0, kPage);
  Sqe r = ReadCmd(1, 0, 8);
  r.prp1 = b.addr;
  ASSERT_SUCCESS(Raw(r));
  EXPECT_EQ(CheckPattern(b.ptr, kPage, 1, 0), -1);
}

TEST_F(IoTest, Prp2IgnoredWhenDataFitsInPrp1Page) {
  // 4.1.1: PRP2 is not used (reserved) when the transfer ends in PRP1's page; garbage in it must
  // not fail the command.
  DmaBuffer b = Alloc(kPage);
  FillPattern(b.ptr, kPage, 16, 0);
  Sqe w = WriteCmd(1, 300, 8);
  w.prp1 = b.addr;
  w.prp2 = 0xdead'beef'0123ull;
  ASSERT_SUCCESS(Raw(w));
  Sqe r = ReadCmd(1, 300, 1);
  r.prp1 = b.addr + 0xe00;  // 512 bytes that end exactly at the page boundary
  r.prp2 = 0x7;
  ASSERT_SUCCESS(Raw(r));
  EXPECT_EQ(CheckPattern(b.ptr + 0xe00, 512, 16, 0), -1);
}

TEST_F(IoTest, Prp1OnlyWithOffsetInsidePage) {
  DmaBuffer b = Alloc(kPage);
  std::memset(b.ptr, 0xee, kPage);
  FillPattern(b.ptr + 0x200, 1024, 2, 0);
  Sqe w = WriteCmd(1, 16, 2);
  w.prp1 = b.addr + 0x200;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(16, 1024, 2);
  std::memset(b.ptr, 0xee, kPage);
  Sqe r = ReadCmd(1, 16, 2);
  r.prp1 = b.addr + 0x200;
  ASSERT_SUCCESS(Raw(r));
  EXPECT_EQ(CheckPattern(b.ptr + 0x200, 1024, 2, 0), -1);
  for (size_t i = 0; i < 0x200; ++i) ASSERT_EQ(b.ptr[i], 0xee) << "byte " << i;
  for (size_t i = 0x600; i < kPage; ++i) ASSERT_EQ(b.ptr[i], 0xee) << "byte " << i;
}

TEST_F(IoTest, Prp1AndPrp2NonAdjacentPages) {
  auto pages = ScatteredPages(2);
  FillPattern(pages[0].ptr, kPage, 3, 0);
  FillPattern(pages[1].ptr, kPage, 3, kPage);
  Sqe w = WriteCmd(1, 100, 16);
  w.prp1 = pages[0].addr;
  w.prp2 = pages[1].addr;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(100, 2 * kPage, 3);
  for (auto& p : pages) std::memset(p.ptr, 0, kPage);
  Sqe r = ReadCmd(1, 100, 16);
  r.prp1 = pages[0].addr;
  r.prp2 = pages[1].addr;
  ASSERT_SUCCESS(Raw(r));
  EXPECT_EQ(CheckPattern(pages[0].ptr, kPage, 3, 0), -1);
  EXPECT_EQ(CheckPattern(pages[1].ptr, kPage, 3, kPage), -1);
}

TEST_F(IoTest, Prp1OffsetSpillsIntoPrp2) {
  // 4 KiB from offset 800h: 2 KiB in PRP1's page, 2 KiB at the start of PRP2's page.
  auto pages = ScatteredPages(2);
  FillPattern(pages[0].ptr + 0x800, 0x800, 4, 0);
  FillPattern(pages[1].ptr, 0x800, 4, 0x800);
  Sqe w = WriteCmd(1, 200, 8);
  w.prp1 = pages[0].addr + 0x800;
  w.prp2 = pages[1].addr;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(200, kPage, 4);
  for (auto& p : pages) std::memset(p.ptr, 0x11, kPage);
  Sqe r = ReadCmd(1, 200, 8);
  r.prp1 = pages[0].addr + 0x800;
  r.prp2 = pages[1].addr;
  ASSERT_SUCCESS(Raw(r));
  EXPECT_EQ(CheckPattern(pages[0].ptr + 0x800, 0x800, 4, 0), -1);
  EXPECT_EQ(CheckPattern(pages[1].ptr, 0x800, 4, 0x800), -1);
  EXPECT_EQ(pages[1].ptr[0x800], 0x11) << "read past the end of the transfer";
}

TEST_F(IoTest, PrpListMdtsSizedTransfer) {
  // MDTS 7: 2^7 * 4 KiB = 512 KiB = 128 pages: PRP1 + a list of 127 entries.
  auto id = drv().IdentifyController();
  ASSERT_OK(id);
  ASSERT_EQ(id->mdts, 7);
  const size_t n = 128;
  auto pages = ScatteredPages(n);
  DmaBuffer list = Alloc(kPage);
  for (size_t i = 1; i < n; ++i) std::memcpy(list.ptr + 8 * (i - 1), &pages[i].addr, 8);
  for (size_t i = 0; i < n; ++i) FillPattern(pages[i].ptr, kPage, 5, i * kPage);
  Sqe w = WriteCmd(1, 1024, n * 8);
  w.prp1 = pages[0].addr;
  w.prp2 = list.addr;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(1024, n * kPage, 5);
  for (auto& p : pages) std::memset(p.ptr, 0, kPage);
  Sqe r = ReadCmd(1, 1024, n * 8);
  r.prp1 = pages[0].addr;
  r.prp2 = list.addr;
  ASSERT_SUCCESS(Raw(r));
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(CheckPattern(pages[i].ptr, kPage, 5, i * kPage), -1) << "page " << i;
  }
}

TEST_F(IoTest, PrpListPointerWithOffsetChains) {
  // A PRP list that starts 0xf00 into its page has 32 slots there: 31 data entries, then a
  // pointer to the next list page (4.1.1: the last entry of a list page points to the next).
  const size_t n = 40;  // PRP1 + 39 list entries
  auto pages = ScatteredPages(n);
  auto lists = ScatteredPages(2);
  uint8_t* l0 = lists[0].ptr + 0xf00;
  for (size_t i = 0; i < 31; ++i) std::memcpy(l0 + 8 * i, &pages[1 + i].addr, 8);
  std::memcpy(l0 + 8 * 31, &lists[1].addr, 8);
  for (size_t i = 0; i < n - 32; ++i) std::memcpy(lists[1].ptr + 8 * i, &pages[32 + i].addr, 8);
  for (size_t i = 0; i < n; ++i) FillPattern(pages[i].ptr, kPage, 6, i * kPage);
  Sqe w = WriteCmd(1, 4096, n * 8);
  w.prp1 = pages[0].addr;
  w.prp2 = lists[0].addr + 0xf00;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(4096, n * kPage, 6);
}

class UnlimitedMdtsIoTest : public IoTest {
 protected:
  DriverOptions Options() override {
    DriverOptions o = SmallOptions();
    o.controller.mdts = 0;
    o.dma_bytes = 56ull << 20;
    return o;
  }
};

TEST_F(UnlimitedMdtsIoTest, ChainedPrpListsFourMiB) {
  // 4 MiB = 1024 pages: PRP1 + 1023 list entries over three chained list pages (511 + 511 + 1).
  const size_t bytes = 4u << 20;
  WriteThroughLibrary(8192, bytes, 7);
  ExpectThroughLibrary(8192, bytes, 7);
  // And with hand-built chained lists over scattered pages.
  const size_t n = 1024;
  auto pages = ScatteredPages(n);
  auto lists = ScatteredPages(3);
  size_t page = 1;
  for (size_t l = 0; l < 3 && page < n; ++l) {
    for (size_t slot = 0; slot < 512 && page < n; ++slot) {
      bool chain = slot == 511 && n - page > 1;
      const uint64_t& v = chain ? lists[l + 1].addr : pages[page++].addr;
      std::memcpy(lists[l].ptr + 8 * slot, &v, 8);
      if (chain) break;
    }
  }
  for (auto& p : pages) std::memset(p.ptr, 0, kPage);
  Sqe r = ReadCmd(1, 8192, n * 8);
  r.prp1 = pages[0].addr;
  r.prp2 = lists[0].addr;
  ASSERT_SUCCESS(Raw(r));
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(CheckPattern(pages[i].ptr, kPage, 7, i * kPage), -1) << "page " << i;
  }
}

TEST_F(UnlimitedMdtsIoTest, MaximumNlb) {
  // NLB is 0's based: FFFFh means 65536 blocks (32 MiB of 512-byte LBAs).
  const size_t bytes = 65536 * 512;
  DmaBuffer b = Alloc(bytes);
  FillPattern(b.ptr, bytes, 8, 0);
  ASSERT_SUCCESS(Exec(q_, WriteCmd(1, 0, 65536), &b, bytes));
  std::memset(b.ptr, 0, bytes);
  ASSERT_SUCCESS(Exec(q_, ReadCmd(1, 0, 65536), &b, bytes));
  EXPECT_EQ(CheckPattern(b.ptr, bytes, 8, 0), -1);
}

TEST_F(IoTest, BufferStartNotPageAligned) {
  // Dword-aligned starts inside a page: PRP1 carries the offset, the list entries do not.
  for (size_t offset : {size_t{0x204}, size_t{4}, size_t{0xffc}}) {
    EXPECT_EQ(RoundTrip(q_, 1, 3000, 128, 512, 9, offset), "") << "offset " << offset;
    EXPECT_EQ(RoundTrip(q_, 1, 3000, 3, 512, 10, offset), "") << "offset " << offset;
  }
}

TEST_F(IoTest, CompletionEntryFields) {
  DmaBuffer b = Alloc(kPage);
  for (int i = 0; i < 3; ++i) {
    auto cid = q_->Submit(ReadCmd(1, 0, 8), &b, kPage);
    ASSERT_OK(cid);
    auto c = q_->Wait(*cid, kTimeout);
    ASSERT_SUCCESS(c);
    EXPECT_EQ(c->cid, *cid);
    EXPECT_EQ(c->sqid, 1);
    EXPECT_EQ(c->sqhd, i + 1) << "SQ head after fetching the command";
  }
}

// ---- MDTS (5.17.2.2: a larger transfer fails with Invalid Field in Command) ----

TEST_F(IoTest, MdtsEnforced) {
  const size_t max = 512 * 1024;  // MDTS 7 with CAP.MPSMIN 0
  DmaBuffer b = Alloc(max + kPage);
  EXPECT_SUCCESS(Exec(q_, WriteCmd(1, 0, max / 512), &b, max));
  EXPECT_STATUS(Exec(q_, WriteCmd(1, 0, max / 512 + 1), &b, max + 512), sc::kInvalidField);
  EXPECT_STATUS(Exec(q_, ReadCmd(1, 0, max / 512 + 1), &b, max + 512), sc::kInvalidField);
  EXPECT_STATUS(Exec(q_, ReadCmd(1, 0, 65536), &b, max + kPage), sc::kInvalidField);
}

class MdtsMpsminIoTest : public IoTest {
 protected:
  DriverOptions Options() override {
    DriverOptions o = SmallOptions();
    o.controller.mpsmin = 1;  // 8 KiB minimum page: MDTS is in units of it
    o.controller.mdts = 2;    // 4 * 8 KiB = 32 KiB
    o.mps = 1;
    return o;
  }
};

TEST_F(MdtsMpsminIoTest, MdtsInUnitsOfMpsmin) {
  DmaBuffer b = Alloc(64 * 1024, 8192);
  EXPECT_SUCCESS(Exec(q_, WriteCmd(1, 0, 64), &b, 32 * 1024));
  EXPECT_STATUS(Exec(q_, WriteCmd(1, 0, 65), &b, 32 * 1024 + 512), sc::kInvalidField);
}

TEST_F(MdtsMpsminIoTest, PrpEntriesFollowTheMemoryPageSize) {
  // CC.MPS = 1: PRP entries address 8 KiB pages. 24 KiB from a page start = PRP1 + a list of two.
  auto page = [&] { return Alloc(8192, 8192); };
  DmaBuffer p0 = page(), p1 = page(), p2 = page(), list = page();
  FillPattern(p0.ptr, 8192, 20, 0);
  FillPattern(p1.ptr, 8192, 20, 8192);
  FillPattern(p2.ptr, 8192, 20, 16384);
  std::memcpy(list.ptr, &p1.addr, 8);
  std::memcpy(list.ptr + 8, &p2.addr, 8);
  Sqe w = WriteCmd(1, 0, 48);
  w.prp1 = p0.addr;
  w.prp2 = list.addr;
  ASSERT_SUCCESS(Raw(w));
  ExpectThroughLibrary(0, 24576, 20);
  // A list entry aligned to 4 KiB but not to the 8 KiB memory page has an offset.
  uint64_t bad = p2.addr + 4096;
  std::memcpy(list.ptr + 8, &bad, 8);
  EXPECT_STATUS(Raw(w), sc::kInvalidPrpOffset);
  // PRP2 as the second data page must be 8 KiB aligned too (16 KiB transfer).
  Sqe w2 = WriteCmd(1, 0, 32);
  w2.prp1 = p0.addr;
  w2.prp2 = p1.addr + 4096;
  EXPECT_STATUS(Raw(w2), sc::kInvalidPrpOffset);
  // PRP1 with an offset: data up to the end of its 8 KiB page, then PRP2.
  Sqe r = ReadCmd(1, 0, 16);  // 8 KiB from offset 1000h of p0
  r.prp1 = p0.addr + 4096;
  r.prp2 = p1.addr;
  std::memset(p0.ptr, 0, 8192);
  std::memset(p1.ptr, 0, 8192);
  ASSERT_SUCCESS(Raw(r));
  EXPECT_EQ(CheckPattern(p0.ptr + 4096, 4096, 20, 0), -1);
  EXPECT_EQ(CheckPattern(p1.ptr, 4096, 20, 4096), -1);
}

class FourKIoTest : public IoTest {
 protected:
  DriverOptions Options() override {
    DriverOptions o = SmallOptions();
    o.controller.namespaces[0].lba_size = 4096;
    return o;
  }
};

TEST_F(FourKIoTest, RoundTrip) {
  EXPECT_EQ(RoundTrip(q_, 1, 100, 16, 4096, 11), "");
  EXPECT_EQ(RoundTrip(q_, 1, 0, 1, 4096, 12), "");
  uint64_t nsze = (64ull << 20) / 4096;
  EXPECT_EQ(RoundTrip(q_, 1, nsze - 2, 2, 4096, 13), "");
  DmaBuffer b = Alloc(2 * 4096);
  EXPECT_STATUS(Exec(q_, ReadCmd(1, nsze - 1, 2), &b, 2 * 4096), sc::kLbaOutOfRange);
  // MDTS counts bytes: 128 blocks of 4 KiB = 512 KiB is the limit.
  DmaBuffer big = Alloc(129 * 4096);
  EXPECT_SUCCESS(Exec(q_, ReadCmd(1, 0, 128), &big, 128 * 4096));
  EXPECT_STATUS(Exec(q_, ReadCmd(1, 0, 129), &big, 129 * 4096), sc::kInvalidField);
}

// ---- LBA range and NSID ----

TEST_F(IoTest, LbaOutOfRange) {
  const uint64_t nsze = (64ull << 20) / 512;
  DmaBuffer b = Alloc(8 * kPage);
  EXPECT_SUCCESS(Exec(q_, ReadCmd(1, nsze - 1, 1), &b, 512));
  EXPECT_SUCCESS(Exec(q_, WriteCmd(1, nsze - 8, 8), &b, kPage));
  EXPECT_STATUS(Exec(q_, ReadCmd(1, nsze - 1, 2), &b, 1024), sc::kLbaOutOfRange);
  EXPECT_STATUS(Exec(q_, WriteCmd(1, nsze, 1), &b, 512), sc::kLbaOutOfRange);
  EXPECT_STATUS(Exec(q_, WriteCmd(1, nsze + 1000, 8), &b, kPage), sc::kLbaOutOfRange);
  // SLBA + NLB overflows 64 bits.
  EXPECT_STATUS(Exec(q_, ReadCmd(1, UINT64_MAX, 1), &b, 512), sc::kLbaOutOfRange);
  EXPECT_STATUS(Exec(q_, ReadCmd(1, UINT64_MAX - 2, 8), &b, kPage), sc::kLbaOutOfRange);
  EXPECT_STATUS(Exec(q_, WriteCmd(1, UINT64_MAX - 6, 8), &b, kPage), sc::kLbaOutOfRange);
  EXPECT_STATUS(Exec(q_, WriteCmd(1, 1ull << 63, 8), &b, kPage), sc::kLbaOutOfRange);
}

TEST_F(IoTest, InvalidNamespace) {
  DmaBuffer b = Alloc(kPage);
  for (uint32_t nsid : {0u, 2u, 0xfffffffeu, 0xffffffffu}) {
    EXPECT_STATUS(Exec(q_, ReadCmd(nsid, 0, 1), &b, 512), sc::kInvalidNamespaceOrFormat) << nsid;
    EXPECT_STATUS(Exec(q_, WriteCmd(nsid, 0, 1), &b, 512), sc::kInvalidNamespaceOrFormat) << nsid;
  }
  EXPECT_STATUS(Exec(q_, Cmd(io::kFlush, 0)), sc::kInvalidNamespaceOrFormat);
  EXPECT_STATUS(Exec(q_, Cmd(io::kFlush, 2)), sc::kInvalidNamespaceOrFormat);
}

TEST_F(IoTest, FlushNsidBroadcastAndSingle) {
  EXPECT_SUCCESS(Exec(q_, Cmd(io::kFlush, 0xffffffff)));
  EXPECT_SUCCESS(Exec(q_, Cmd(io::kFlush, 1)));
}

TEST_F(IoTest, ForceUnitAccess) {
  DmaBuffer b = Alloc(kPage);
  FillPattern(b.ptr, kPage, 14, 0);
  Sqe w = WriteCmd(1, 40, 8);
  w.cdw12 |= 1u << 30;  // FUA
  ASSERT_SUCCESS(Exec(q_, w, &b, kPage));
  Sqe r = ReadCmd(1, 40, 8);
  r.cdw12 |= 1u << 30;
  std::memset(b.ptr, 0, kPage);
  ASSERT_SUCCESS(Exec(q_, r, &b, kPage));
  EXPECT_EQ(CheckPattern(b.ptr, kPage, 14, 0), -1);
}

// ---- Bad data pointers ----

TEST_F(IoTest, PrpListEntryWithOffsetIsInvalid) {
  auto pages = ScatteredPages(3);
  DmaBuffer list = Alloc(kPage);
  uint64_t e1 = pages[1].addr, e2 = pages[2].addr + 0x200;
  std::memcpy(list.ptr, &e1, 8);
  std::memcpy(list.ptr + 8, &e2, 8);
  Sqe r = ReadCmd(1, 0, 24);
  r.prp1 = pages[0].addr;
  r.prp2 = list.addr;
  EXPECT_STATUS(Raw(r), sc::kInvalidPrpOffset);
  Sqe w = WriteCmd(1, 0, 24);
  w.prp1 = pages[0].addr;
  w.prp2 = list.addr;
  EXPECT_STATUS(Raw(w), sc::kInvalidPrpOffset);
}

TEST_F(IoTest, Prp2DataPageWithOffsetIsInvalid) {
  auto pages = ScatteredPages(2);
  Sqe r = ReadCmd(1, 0, 16);
  r.prp1 = pages[0].addr;
  r.prp2 = pages[1].addr + 0x100;
  EXPECT_STATUS(Raw(r), sc::kInvalidPrpOffset);
}

TEST_F(IoTest, PrpListPointerNotQwordAlignedIsInvalid) {
  auto pages = ScatteredPages(3);
  DmaBuffer list = Alloc(kPage);
  std::memcpy(list.ptr + 4, &pages[1].addr, 8);
  std::memcpy(list.ptr + 12, &pages[2].addr, 8);
  Sqe r = ReadCmd(1, 0, 24);
  r.prp1 = pages[0].addr;
  r.prp2 = list.addr + 4;
  EXPECT_STATUS(Raw(r), sc::kInvalidPrpOffset);
}

TEST_F(IoTest, PrpOutsideHostMemoryIsDataTransferError) {
  const uint64_t outside = 0x2000;  // not backed by the driver's DMA arena
  const uint64_t past_end = drv().options().dma_base + drv().options().dma_bytes;
  for (uint8_t opc : {io::kRead, io::kWrite}) {
    SCOPED_TRACE(opc == io::kRead ? "Read" : "Write");
    Sqe s = RwCmd(opc, 1, 0, 8);
    s.prp1 = outside;
    EXPECT_STATUS(Raw(s), sc::kDataTransferError) << "PRP1";
    s.prp1 = past_end;
    EXPECT_STATUS(Raw(s), sc::kDataTransferError) << "PRP1 past the end";
    auto pages = ScatteredPages(2);
    s = RwCmd(opc, 1, 0, 16);
    s.prp1 = pages[0].addr;
    s.prp2 = outside;
    EXPECT_STATUS(Raw(s), sc::kDataTransferError) << "PRP2 data page";
    s = RwCmd(opc, 1, 0, 24);
    s.prp1 = pages[0].addr;
    s.prp2 = outside;
    EXPECT_STATUS(Raw(s), sc::kDataTransferError) << "PRP list pointer";
    DmaBuffer list = Alloc(kPage);
    std::memcpy(list.ptr, &pages[1].addr, 8);
    std::memcpy(list.ptr + 8, &outside, 8);
    s.prp2 = list.addr;
    EXPECT_STATUS(Raw(s), sc::kDataTransferError) << "PRP list entry";
  }
  EXPECT_EQ(RoundTrip(q_, 1, 0, 8, 512, 15), "") << "the queue keeps working";
}

TEST_F(IoTest, SglDataPointer) {
  // 4.1.2: PSDT selects PRPs (00b) or SGLs (01b, 10b); 11b is reserved. Without SGL support
  // (Identify SGLS bits 1:0 = 00b) any PSDT other than 00b is an Invalid Field.
  auto id = drv().IdentifyController();
  ASSERT_OK(id);
  DmaBuffer b = Alloc(kPage);
  if ((id->sgls & 3) == 0) {
    for (uint8_t psdt : {1, 2, 3}) {
      Sqe s = ReadCmd(1, 0, 8);
      s.flags = static_cast<uint8_t>(psdt << 6);
      s.prp1 = b.addr;
      EXPECT_STATUS(Raw(s), sc::kInvalidField) << "PSDT " << +psdt;
      s.opc = io::kWrite;
      EXPECT_STATUS(Raw(s), sc::kInvalidField) << "PSDT " << +psdt;
    }
    return;
  }
  // SGL1 in DPTR: address (bytes 0-7), length (8-11), SGL identifier (byte 15: type << 4 |
  // subtype). One Data Block descriptor (type 0h, subtype 0h) describing the whole transfer.
  auto sgl = [](Sqe s, uint64_t addr, uint32_t len, uint8_t type = 0) {
    s.flags = 1u << 6;
    s.prp1 = addr;
    s.prp2 = len | (uint64_t{static_cast<uint8_t>(type << 4)} << 56);
    return s;
  };
  FillPattern(b.ptr, kPage, 17, 0);
  ASSERT_SUCCESS(Raw(sgl(WriteCmd(1, 500, 8), b.addr, kPage)));
  ExpectThroughLibrary(500, kPage, 17);
  std::memset(b.ptr, 0, kPage);
  ASSERT_SUCCESS(Raw(sgl(ReadCmd(1, 500, 8), b.addr, kPage)));
  EXPECT_EQ(CheckPattern(b.ptr, kPage, 17, 0), -1);
  // Fewer bytes described than the command moves.
  EXPECT_STATUS(Raw(sgl(ReadCmd(1, 500, 8), b.addr, kPage - 512)), sc::kDataSglLengthInvalid);
  // Vendor specific descriptor type Fh is not supported.
  EXPECT_STATUS(Raw(sgl(ReadCmd(1, 500, 8), b.addr, kPage, 0xf)), sc::kSglTypeInvalid);
  // Data outside host memory.
  EXPECT_STATUS(Raw(sgl(ReadCmd(1, 500, 8), 0x3000, kPage)), sc::kDataTransferError);
  // PSDT 11b is reserved.
  Sqe s = ReadCmd(1, 500, 8);
  s.flags = 3u << 6;
  s.prp1 = b.addr;
  EXPECT_STATUS(Raw(s), sc::kInvalidField);
}

TEST_F(IoTest, FusedOperations) {
  // 3.4.2 Fused Operations. Without support (Identify FUSES bit 0 = 0) every FUSE value other
  // than 00b is an Invalid Field.
  auto id = drv().IdentifyController();
  ASSERT_OK(id);
  DmaBuffer b = Alloc(kPage);
  auto fused = [&](uint8_t opc, uint8_t fuse, uint64_t slba = 600) {
    Sqe s = RwCmd(opc, 1, slba, 8);
    if (opc == io::kFlush) s = Cmd(io::kFlush, 1);
    s.flags = fuse;
    s.prp1 = b.addr;
    return s;
  };
  if ((id->fuses & 1) == 0) {
    for (uint8_t fuse : {1, 2, 3}) {
      for (uint8_t opc : {io::kRead, io::kWrite, io::kFlush}) {
        EXPECT_STATUS(Raw(fused(opc, fuse)), sc::kInvalidField)
            << "FUSE " << +fuse << " opcode " << +opc;
      }
    }
    return;
  }
  constexpr uint8_t kCompare = 0x05;
  // FUSE 11b is reserved.
  EXPECT_STATUS(Raw(fused(io::kRead, 3)), sc::kInvalidField);
  EXPECT_STATUS(Raw(fused(io::kFlush, 3)), sc::kInvalidField);
  // A second command without a first one.
  EXPECT_STATUS(Raw(fused(io::kWrite, 2)), sc::kAbortMissingFused);
  // A first command that is not Compare fails; its second is aborted as Failed Fused.
  ASSERT_OK(q_->Submit(fused(io::kRead, 1), nullptr, 0, 0, /*ring=*/false));
  ASSERT_OK(q_->Submit(fused(io::kWrite, 2), nullptr, 0, 0, /*ring=*/false));
  q_->Ring();
  std::vector<Cqe> done;
  ASSERT_TRUE(WaitUntil([&] {
    q_->Reap([&](const Cqe& c) { done.push_back(c); });
    return done.size() == 2;
  }));
  EXPECT_TRUE(StatusOf(done[0]).same_code(sc::kInvalidField)) << StatusOf(done[0]).ToString();
  EXPECT_TRUE(StatusOf(done[1]).same_code(sc::kAbortFailedFused)) << StatusOf(done[1]).ToString();

  // Compare and Write: a matching Compare lets the Write through; a mismatch aborts it.
  FillPattern(b.ptr, kPage, 18, 0);
  ASSERT_SUCCESS(Raw(fused(io::kWrite, 0)));
  auto pair = [&](uint64_t compare_stream, uint64_t write_stream) {
    DmaBuffer cmp = Alloc(kPage), wr = Alloc(kPage);
    FillPattern(cmp.ptr, kPage, compare_stream, 0);
    FillPattern(wr.ptr, kPage, write_stream, 0);
    Sqe c = RwCmd(kCompare, 1, 600, 8), w = WriteCmd(1, 600, 8);
    c.flags = 1;
    w.flags = 2;
    std::vector<Cqe> out;
    EXPECT_TRUE(q_->Submit(c, &cmp, kPage, 0, false).ok());
    EXPECT_TRUE(q_->Submit(w, &wr, kPage, 0, false).ok());
    q_->Ring();
    EXPECT_TRUE(WaitUntil([&] {
      q_->Reap([&](const Cqe& e) { out.push_back(e); });
      return out.size() == 2;
    }));
    return out;
  };
  auto ok = pair(18, 19);
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_TRUE(StatusOf(ok[0]).ok()) << "Compare: " << StatusOf(ok[0]).ToString();
  EXPECT_TRUE(StatusOf(ok[1]).ok()) << "Write: " << StatusOf(ok[1]).ToString();
  ExpectThroughLibrary(600, kPage, 19);
  auto bad = pair(18, 20);  // the data is now stream 19: the Compare fails
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_TRUE(StatusOf(bad[0]).same_code(Status::Media(0x85)))
      << "Compare Failure expected, got " << StatusOf(bad[0]).ToString();
  EXPECT_TRUE(StatusOf(bad[1]).same_code(sc::kAbortFailedFused)) << StatusOf(bad[1]).ToString();
  ExpectThroughLibrary(600, kPage, 19);
}

// ---- Namespaces ----

class MultiNamespaceIoTest : public IoTest {
 protected:
  DriverOptions Options() override {
    DriverOptions o = SmallOptions();
    NamespaceConfig a, b, c;
    a.size_bytes = 16ull << 20;
    b.size_bytes = 8ull << 20;
    b.lba_size = 4096;
    c.size_bytes = 4ull << 20;
    o.controller.namespaces = {a, b, c};
    return o;
  }
};

TEST_F(MultiNamespaceIoTest, NamespacesAreIsolated) {
  // The same byte range of every namespace gets a different pattern.
  const size_t bytes = 64 * 1024;
  const uint32_t lba[3] = {512, 4096, 512};
  for (uint32_t nsid = 1; nsid <= 3; ++nsid) {
    DmaBuffer b = Alloc(bytes);
    FillPattern(b.ptr, bytes, 100 + nsid, 0);
    ASSERT_SUCCESS(Exec(q_, WriteCmd(nsid, 0, bytes / lba[nsid - 1]), &b, bytes));
  }
  for (uint32_t nsid = 1; nsid <= 3; ++nsid) {
    DmaBuffer b = Alloc(bytes);
    ASSERT_SUCCESS(Exec(q_, ReadCmd(nsid, 0, bytes / lba[nsid - 1]), &b, bytes));
    EXPECT_EQ(CheckPattern(b.ptr, bytes, 100 + nsid, 0), -1) << "nsid " << nsid;
  }
  // Ranges are per namespace: LBA 2048 exists in nsid 1 (32768 LBAs) but not in nsid 2 (2048).
  DmaBuffer b = Alloc(4096);
  EXPECT_SUCCESS(Exec(q_, ReadCmd(1, 2048, 1), &b, 512));
  EXPECT_STATUS(Exec(q_, ReadCmd(2, 2048, 1), &b, 4096), sc::kLbaOutOfRange);
  EXPECT_STATUS(Exec(q_, ReadCmd(3, 8192, 1), &b, 512), sc::kLbaOutOfRange);
  EXPECT_SUCCESS(Exec(q_, Cmd(io::kFlush, 3)));
  EXPECT_STATUS(Exec(q_, Cmd(io::kFlush, 4)), sc::kInvalidNamespaceOrFormat);
}

}  // namespace
}  // namespace nvemu::conformance
