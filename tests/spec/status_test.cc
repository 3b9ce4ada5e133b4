// Tests of the NVMe Status value (NVMe Base 2.0, 4.6.1 Status Field) and the SQE/CQE accessors
// (4.2 Figure 88, 4.6 Figure 90).
#include "nvemu/status.h"

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>

#include "nvemu/command.h"

namespace nvemu {
// gtest prints Status values as text.
inline void PrintTo(const Status& s, std::ostream* os) { *os << s.ToString(); }
}  // namespace nvemu

namespace nvemu {
namespace {

// Status Field layout (Figure 92): SC 7:0, SCT 10:8, CRD 12:11, M 13, DNR 14.
constexpr uint16_t kDnrBit = 1u << 14;
constexpr uint16_t kMoreBit = 1u << 13;

TEST(StatusTest, DefaultIsSuccess) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.field(), 0);
  EXPECT_EQ(s.sc(), 0);
  EXPECT_EQ(s.sct(), Sct::kGeneric);
  EXPECT_FALSE(s.dnr());
  EXPECT_FALSE(s.more());
  EXPECT_EQ(s, Status::Success());
  EXPECT_EQ(sc::kSuccess, Status::Success());
}

TEST(StatusTest, ConstructorPacksScSctAndDnrByDefault) {
  Status s(Sct::kCommandSpecific, 0x0d);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.sc(), 0x0d);
  EXPECT_EQ(s.sct(), Sct::kCommandSpecific);
  EXPECT_TRUE(s.dnr());
  EXPECT_FALSE(s.more());
  EXPECT_EQ(s.field(), 0x0d | (1u << 8) | kDnrBit);
}

TEST(StatusTest, ConstructorWithoutDnr) {
  Status s(Sct::kMediaError, 0x81, /*dnr=*/false);
  EXPECT_EQ(s.field(), 0x81 | (2u << 8));
  EXPECT_FALSE(s.dnr());
  EXPECT_EQ(s.sct(), Sct::kMediaError);
  EXPECT_EQ(s.sc(), 0x81);
}

TEST(StatusTest, NamedConstructors) {
  EXPECT_EQ(Status::Generic(0x02), Status(Sct::kGeneric, 0x02, true));
  EXPECT_EQ(Status::Generic(0x04, false).field(), 0x04);
  EXPECT_EQ(Status::CommandSpecific(0x01).field(), 0x0101 | kDnrBit);
  EXPECT_EQ(Status::Media(0x81, false).field(), 0x0281);
  EXPECT_EQ(Status(Sct::kPathRelated, 0x00).sct(), Sct::kPathRelated);
  EXPECT_EQ(Status(Sct::kVendor, 0xff, false).field(), 0x07ff);
}

TEST(StatusTest, NamedStatusValuesMatchTheSpecFigures) {
  // Figure 94 (Generic), Figure 95 (Command Specific), Figure 96 (Media).
  EXPECT_EQ(sc::kInvalidOpcode.field(), 0x01 | kDnrBit);
  EXPECT_EQ(sc::kInvalidField.field(), 0x02 | kDnrBit);
  EXPECT_EQ(sc::kDataTransferError.field(), 0x04);  // retryable
  EXPECT_EQ(sc::kInternalError.field(), 0x06);
  EXPECT_EQ(sc::kInvalidNamespaceOrFormat.field(), 0x0b | kDnrBit);
  EXPECT_EQ(sc::kCommandSequenceError.field(), 0x0c | kDnrBit);
  EXPECT_EQ(sc::kInvalidPrpOffset.field(), 0x13 | kDnrBit);
  EXPECT_EQ(sc::kLbaOutOfRange.field(), 0x80 | kDnrBit);
  EXPECT_EQ(sc::kNamespaceNotReady.field(), 0x82);
  EXPECT_EQ(sc::kInvalidQueueIdentifier.field(), 0x101 | kDnrBit);
  EXPECT_EQ(sc::kFeatureIdNotSaveable.field(), 0x10d | kDnrBit);
  EXPECT_EQ(sc::kFeatureNotNamespaceSpecific.field(), 0x10f | kDnrBit);
  EXPECT_EQ(sc::kUnrecoveredReadError.field(), 0x281);
}

TEST(StatusTest, OkIgnoresMoreAndDnr) {
  // ok() looks at SCT/SC only: a success with More (e.g. a Get Log Page hint) is still a success.
  EXPECT_TRUE(Status::FromField(kMoreBit).ok());
  EXPECT_TRUE(Status::FromField(kDnrBit).ok());
  EXPECT_FALSE(Status::FromField(0x100).ok());  // SCT 1, SC 0: Completion Queue Invalid
  EXPECT_FALSE(Status::FromField(0x001).ok());
}

TEST(StatusTest, WithMoreAndWithoutDnr) {
  Status s = sc::kInvalidField.with_more();
  EXPECT_TRUE(s.more());
  EXPECT_TRUE(s.dnr());
  EXPECT_EQ(s.sc(), 0x02);
  EXPECT_EQ(s.field(), 0x02 | kDnrBit | kMoreBit);
  Status t = s.without_dnr();
  EXPECT_FALSE(t.dnr());
  EXPECT_TRUE(t.more());
  EXPECT_EQ(t.field(), 0x02 | kMoreBit);
  // Original values are unchanged (value semantics).
  EXPECT_FALSE(sc::kInvalidField.more());
  EXPECT_TRUE(sc::kInvalidField.dnr());
}

TEST(StatusTest, SameCodeComparesOnlyScAndSct) {
  EXPECT_TRUE(sc::kInvalidField.same_code(sc::kInvalidField.without_dnr()));
  EXPECT_TRUE(sc::kInvalidField.same_code(sc::kInvalidField.with_more()));
  EXPECT_FALSE(sc::kInvalidField.same_code(sc::kInvalidOpcode));
  // Same SC, different SCT.
  EXPECT_FALSE(Status::Generic(0x01).same_code(Status::CommandSpecific(0x01)));
  EXPECT_NE(sc::kInvalidField, sc::kInvalidField.without_dnr());
}

TEST(StatusTest, FromFieldRoundTripsAndMasksBit15) {
  for (uint32_t f = 0; f < 0x8000; f += 0x0b3) {
    Status s = Status::FromField(static_cast<uint16_t>(f));
    EXPECT_EQ(s.field(), f);
    EXPECT_EQ(s.sc(), f & 0xff);
    EXPECT_EQ(static_cast<uint8_t>(s.sct()), (f >> 8) & 0x7);
    EXPECT_EQ(s.more(), ((f >> 13) & 1) != 0);
    EXPECT_EQ(s.dnr(), ((f >> 14) & 1) != 0);
  }
  // The Status Field is 15 bits: bit 15 of a uint16 is not part of it.
  EXPECT_EQ(Status::FromField(0xffff).field(), 0x7fff);
  EXPECT_EQ(Status::FromField(0x8000), Status::Success());
}

TEST(StatusTest, FromFieldMatchesCqeStatusField) {
  Cqe cqe{};
  Status st = sc::kLbaOutOfRange;
  cqe.status = static_cast<uint16_t>((st.field() << 1) | 1);  // phase tag in bit 0
  EXPECT_TRUE(cqe.phase());
  EXPECT_EQ(cqe.status_field(), st.field());
  EXPECT_EQ(Status::FromField(cqe.status_field()), st);
  cqe.status = static_cast<uint16_t>(st.field() << 1);
  EXPECT_FALSE(cqe.phase());
  EXPECT_EQ(Status::FromField(cqe.status_field()), st);
}

TEST(StatusTest, ToString) {
  EXPECT_EQ(Status::Success().ToString(), "Success");
  EXPECT_EQ(Status::FromField(kMoreBit).ToString(), "Success");
  EXPECT_EQ(sc::kInvalidField.ToString(), "Generic/0x02 DNR");
  EXPECT_EQ(sc::kDataTransferError.ToString(), "Generic/0x04");
  EXPECT_EQ(sc::kInvalidField.with_more().ToString(), "Generic/0x02 DNR M");
  EXPECT_EQ(sc::kInvalidField.with_more().without_dnr().ToString(), "Generic/0x02 M");
  EXPECT_EQ(sc::kInvalidQueueIdentifier.ToString(), "CommandSpecific/0x01 DNR");
  EXPECT_EQ(sc::kUnrecoveredReadError.ToString(), "Media/0x81");
  EXPECT_EQ(Status(Sct::kPathRelated, 0x71, false).ToString(), "Path/0x71");
  EXPECT_EQ(Status(Sct::kVendor, 0xc0, false).ToString(), "Vendor/0xc0");
  // SCT 4h..6h are reserved.
  EXPECT_EQ(Status::FromField(0x0405).ToString(), "Reserved/0x05");
  EXPECT_EQ(Status::FromField(0x0600).ToString(), "Reserved/0x00");
}

TEST(StatusTest, IsConstexprAndSmall) {
  static_assert(sizeof(Status) == 2);
  static_assert(Status::Generic(0x02).sc() == 0x02);
  static_assert(!sc::kInvalidOpcode.ok());
  static_assert(sc::kInvalidOpcode.with_more().more());
  SUCCEED();
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(*ok, 5);
  Result<int> bad = Error{"boom"};
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "boom");
  Result<void> v;
  EXPECT_TRUE(v.ok());
  Result<void> e = Error{"nope"};
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "nope");
}

// Figure 88: CDW0 bits 09:08 FUSE, bits 15:14 PSDT (the `flags` byte holds CDW0 bits 15:8).
TEST(SqeTest, FuseAndPsdtAccessors) {
  Sqe sqe{};
  EXPECT_EQ(sqe.fuse(), 0);
  EXPECT_EQ(sqe.psdt(), 0);
  sqe.flags = 0x01;
  EXPECT_EQ(sqe.fuse(), 1);  // first command of a fused operation
  EXPECT_EQ(sqe.psdt(), 0);
  sqe.flags = 0x02;
  EXPECT_EQ(sqe.fuse(), 2);  // second command
  sqe.flags = 0x40;
  EXPECT_EQ(sqe.fuse(), 0);
  EXPECT_EQ(sqe.psdt(), 1);  // SGL, MPTR a contiguous buffer
  sqe.flags = 0x80;
  EXPECT_EQ(sqe.psdt(), 2);  // SGL, MPTR an SGL segment
  sqe.flags = 0xff;
  EXPECT_EQ(sqe.fuse(), 3);
  EXPECT_EQ(sqe.psdt(), 3);
  sqe.flags = 0x3c;  // bits 13:10 reserved: neither FUSE nor PSDT
  EXPECT_EQ(sqe.fuse(), 0);
  EXPECT_EQ(sqe.psdt(), 0);
}

TEST(SqeTest, WireLayoutOfCdw0) {
  // A host writes CDW0 as one little-endian dword: OPC 7:0, FUSE 9:8, PSDT 15:14, CID 31:16.
  uint8_t raw[64] = {};
  uint32_t cdw0 = 0x02u | (1u << 8) | (2u << 14) | (0xbeefu << 16);
  std::memcpy(raw, &cdw0, sizeof(cdw0));
  uint32_t nsid = 7;
  std::memcpy(raw + 4, &nsid, 4);
  uint32_t cdw10 = 0x12345678;
  std::memcpy(raw + 40, &cdw10, 4);
  Sqe sqe;
  std::memcpy(&sqe, raw, sizeof(sqe));
  EXPECT_EQ(sqe.opc, 0x02);
  EXPECT_EQ(sqe.fuse(), 1);
  EXPECT_EQ(sqe.psdt(), 2);
  EXPECT_EQ(sqe.cid, 0xbeef);
  EXPECT_EQ(sqe.nsid, 7u);
  EXPECT_EQ(sqe.cdw10, 0x12345678u);
}

TEST(CqeTest, WireLayout) {
  // Figure 90: DW2 SQHD 15:0 / SQID 31:16; DW3 CID 15:0, P 16, Status 31:17.
  uint8_t raw[16] = {};
  uint32_t dw2 = 0x0003u | (0x0005u << 16);
  uint32_t dw3 = 0x1234u | (1u << 16) | (uint32_t{sc::kInvalidField.field()} << 17);
  std::memcpy(raw + 8, &dw2, 4);
  std::memcpy(raw + 12, &dw3, 4);
  Cqe cqe;
  std::memcpy(&cqe, raw, sizeof(cqe));
  EXPECT_EQ(cqe.sqhd, 3);
  EXPECT_EQ(cqe.sqid, 5);
  EXPECT_EQ(cqe.cid, 0x1234);
  EXPECT_TRUE(cqe.phase());
  EXPECT_EQ(Status::FromField(cqe.status_field()), sc::kInvalidField);
}

}  // namespace
}  // namespace nvemu
