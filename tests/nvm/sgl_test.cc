// SGL data transfer (NVMe Base 2.0, 4.1.2): every descriptor type and every SGL error status, on
// SglChannel over host memory, and the PSDT selection of WithDataChannels.
#include "pcie/sgl.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "nvemu/host_memory.h"

namespace nvemu::pcie {
namespace {

constexpr uint64_t kBase = 0x100000;

class SglTest : public testing::Test {
 protected:
  SglTest() : mem_(1 << 20) { host_.AddRegion(kBase, mem_.data(), mem_.size()); }

  // Writes descriptors at host offset `off`; returns their host address.
  uint64_t Put(uint64_t off, std::vector<SglDescriptor> d) {
    std::memcpy(mem_.data() + off, d.data(), d.size() * sizeof(SglDescriptor));
    return kBase + off;
  }
  static SglDescriptor D(uint8_t type, uint64_t addr, uint32_t len, uint8_t sub = 0) {
    SglDescriptor d{};
    d.addr = addr;
    d.length = len;
    d.id = static_cast<uint8_t>(type << 4 | sub);
    return d;
  }
  // Reads `len` bytes to the host through `ch`, filling byte i with i & 0xff.
  Status ReadToHost(SglChannel& ch, uint64_t len) {
    if (Status st = ch.Prepare(len); !st.ok()) return st;
    return ch.Transfer(Direction::kToHost, 0, len, [](uint8_t* b, uint64_t off, size_t n) {
      for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(off + i);
      return Status::Success();
    });
  }

  std::vector<uint8_t> mem_;
  RegionHostMemory host_;
};

TEST_F(SglTest, DataBlockSegmentsLastSegmentAndBitBucket) {
  // SGL1: Segment -> [DataBlock 100 @0x8000, BitBucket 50, LastSegment] -> [DataBlock 150 @0x9000]
  uint64_t last = Put(0x2000, {D(kSglDataBlock, kBase + 0x9000, 150)});
  uint64_t seg = Put(0x1000, {D(kSglDataBlock, kBase + 0x8000, 100), D(kSglBitBucket, 0, 50),
                              D(kSglLastSegment, last, 16)});
  SglChannel ch(host_, D(kSglSegment, seg, 48));
  ASSERT_EQ(ReadToHost(ch, 300), Status::Success());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(mem_[0x8000 + i], i);
  for (int i = 0; i < 150; ++i) EXPECT_EQ(mem_[0x9000 + i], static_cast<uint8_t>(150 + i));
  // Host to controller: a Bit Bucket cannot supply data.
  SglChannel wr(host_, D(kSglSegment, seg, 48));
  ASSERT_EQ(wr.Prepare(300), Status::Success());
  EXPECT_EQ(wr.Transfer(Direction::kFromHost, 0, 300,
                        [](uint8_t*, uint64_t, size_t) { return Status::Success(); }),
            sc::kSglTypeInvalid);
  // A partial range that avoids the Bit Bucket is fine; longer SGLs than the data are allowed.
  EXPECT_EQ(wr.Transfer(Direction::kFromHost, 0, 100,
                        [](uint8_t*, uint64_t, size_t) { return Status::Success(); }),
            Status::Success());
  SglChannel longer(host_, D(kSglDataBlock, kBase + 0x8000, 4096));
  EXPECT_EQ(ReadToHost(longer, 512), Status::Success());
}

TEST_F(SglTest, EveryErrorStatus) {
  // Keyed, Transport, reserved and vendor types; a non-Address subtype.
  for (uint8_t t : {kSglKeyedDataBlock, kSglTransportDataBlock, uint8_t{0x6}, uint8_t{0xf}}) {
    SglChannel ch(host_, D(t, kBase, 512));
    EXPECT_EQ(ReadToHost(ch, 512), sc::kSglTypeInvalid) << int(t);
  }
  SglChannel offset_sub(host_, D(kSglDataBlock, kBase, 512, 1));
  EXPECT_EQ(ReadToHost(offset_sub, 512), sc::kSglTypeInvalid);
  // Too little data: Data SGL Length Invalid; on the metadata channel Metadata SGL Length Invalid.
  SglChannel shortd(host_, D(kSglDataBlock, kBase, 511));
  EXPECT_EQ(ReadToHost(shortd, 512), sc::kDataSglLengthInvalid);
  uint64_t mdesc = Put(0x3000, {D(kSglDataBlock, kBase + 0x4000, 7)});
  SglChannel shortm(host_, mdesc, /*metadata=*/true);
  EXPECT_EQ(shortm.Prepare(8), sc::kMetadataSglLengthInvalid);
  SglChannel okm(host_, mdesc, true);
  EXPECT_EQ(okm.Prepare(7), Status::Success());
  // A Segment descriptor that is not the last of its segment.
  uint64_t bad = Put(0x1000, {D(kSglSegment, kBase + 0x2000, 16), D(kSglDataBlock, kBase, 512)});
  SglChannel mid(host_, D(kSglSegment, bad, 32));
  EXPECT_EQ(ReadToHost(mid, 512), sc::kInvalidSglDescriptor);
  // A Segment inside a Last Segment's list.
  uint64_t inner = Put(0x2000, {D(kSglDataBlock, kBase, 512)});
  uint64_t lastlist = Put(0x1000, {D(kSglSegment, inner, 16)});
  SglChannel nested(host_, D(kSglLastSegment, lastlist, 16));
  EXPECT_EQ(ReadToHost(nested, 512), sc::kInvalidSglDescriptor);
  // Segment lengths of 0 or not a multiple of 16.
  SglChannel zero(host_, D(kSglSegment, inner, 0));
  EXPECT_EQ(ReadToHost(zero, 512), sc::kInvalidSglDescriptor);
  SglChannel odd(host_, D(kSglLastSegment, inner, 24));
  EXPECT_EQ(ReadToHost(odd, 512), sc::kInvalidSglDescriptor);
  // Too many descriptors: a segment that chains to itself.
  uint64_t loop = kBase + 0x5000;
  Put(0x5000, {D(kSglDataBlock, kBase, 1), D(kSglSegment, loop, 32)});
  SglChannel cyc(host_, D(kSglSegment, loop, 32));
  EXPECT_EQ(ReadToHost(cyc, 1 << 20), sc::kInvalidNumberOfSgl);
  // Unreadable segment or data address: Data Transfer Error.
  SglChannel gone(host_, D(kSglSegment, 0xdead0000, 16));
  EXPECT_EQ(ReadToHost(gone, 512), sc::kDataTransferError);
  SglChannel gone_data(host_, D(kSglDataBlock, 0xdead0000, 512));
  EXPECT_EQ(ReadToHost(gone_data, 512), sc::kDataTransferError);
}

TEST_F(SglTest, PsdtSelectsTheChannels) {
  Request req{};
  req.sqe.flags = 0x3 << 6;  // PSDT 11b: reserved
  auto run = [&] { return Status::Success(); };
  EXPECT_EQ(WithDataChannels(host_, 4096, req, false, run), sc::kInvalidField);
  req.sqe.flags = 0x1 << 6;
  EXPECT_EQ(WithDataChannels(host_, 4096, req, true, run), sc::kInvalidField);  // admin: PRP only
  SglDescriptor d = D(kSglDataBlock, kBase + 0x6000, 8);
  std::memcpy(&req.sqe.prp1, &d, sizeof(d));
  req.sqe.mptr = kBase + 0x7000;
  EXPECT_EQ(WithDataChannels(host_, 4096, req, false,
                             [&] {
                               uint64_t v = 0x1122334455667788;
                               if (Status st = req.data->Push(&v, 8); !st.ok()) return st;
                               return req.metadata->Push(&v, 8);  // contiguous MPTR
                             }),
            Status::Success());
  EXPECT_EQ(mem_[0x6000], 0x88);
  EXPECT_EQ(mem_[0x7000], 0x88);
  req.sqe.flags = 0x2 << 6;  // PSDT 10b: MPTR -> one SGL descriptor
  req.sqe.mptr = Put(0x3000, {D(kSglDataBlock, kBase + 0x7100, 8)});
  EXPECT_EQ(WithDataChannels(host_, 4096, req, false,
                             [&] {
                               uint64_t v = 0x99;
                               return req.metadata->Push(&v, 8);
                             }),
            Status::Success());
  EXPECT_EQ(mem_[0x7100], 0x99);
}

}  // namespace
}  // namespace nvemu::pcie
