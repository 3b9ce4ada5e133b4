// Get/Set Features (NVMe Base 2.0, 5.15 and 5.27): SEL (current, default, saved, capabilities),
// SV, validation of each feature, and restore at Controller Level Reset.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

struct SaveCase {
  uint8_t fid;
  uint32_t cdw11;   // value set (and, for keyed features, the key)
  uint32_t expect;  // Get Features current/saved Dword 0
  uint32_t def;     // default Dword 0
};

// Every saveable feature, table-driven.
const SaveCase kSaveable[] = {
    {0x01, 0x04030201, 0x04030201, 0x7},        // Arbitration
    {0x02, 0x1 | (1u << 5), 0x21, 0},           // Power Management PS1, WH 1
    {0x04, 300, 300, 343},                      // Temperature Threshold (over, composite)
    {0x05, 0x20, 0x20, 0},                      // Error Recovery TLER
    {0x06, 0, 0, 1},                            // Volatile Write Cache off
    {0x08, 0x0a05, 0x0a05, 0},                  // Interrupt Coalescing
    {0x09, 3 | (1u << 16), 3 | (1u << 16), 3},  // Interrupt Vector Configuration IV 3, CD
    {0x0a, 1, 1, 0},                            // Write Atomicity Normal
    {0x0b, 0x100, 0x100, 0x3ff},                // Async Event Configuration
};

TEST_F(AdminTest, SaveableFeaturesCurrentDefaultSavedCapabilities) {
  Start();
  for (const SaveCase& c : kSaveable) {
    SCOPED_TRACE(testing::Message() << "FID " << std::hex << +c.fid);
    uint32_t key = c.fid == 0x09 ? (c.cdw11 & 0xffff) : 0;
    EXPECT_EQ(GetFeature(c.fid, 1, key).dw0, c.def) << "default";
    EXPECT_EQ(GetFeature(c.fid, 2, key).dw0, c.def) << "saved = default before any save";
    EXPECT_EQ(GetFeature(c.fid, 3, key).dw0 & 0x7, 0x5u) << "saveable, changeable";
    ASSERT_EQ(Code(SetFeature(c.fid, c.cdw11, /*save=*/true)), st::kSuccess);
    EXPECT_EQ(GetFeature(c.fid, 0, key).dw0, c.expect) << "current";
    EXPECT_EQ(GetFeature(c.fid, 2, key).dw0, c.expect) << "saved";
  }
  // A Controller Level Reset restores saved values, and defaults where nothing was saved.
  ASSERT_EQ(Code(SetFeature(0x01, 0x7, /*save=*/false)), st::kSuccess);
  ASSERT_EQ(Code(SetFeature(0x07, 0x00010001)), st::kSuccess);
  Reset();
  EXPECT_EQ(GetFeature(0x01).dw0, 0x04030201u) << "saved arbitration back";
  EXPECT_EQ(GetFeature(0x06).dw0, 0u) << "saved VWC back";
  EXPECT_EQ(GetFeature(0x07).dw0, 7u | (7u << 16)) << "Number of Queues back to default";
  EXPECT_EQ(ctrl().arbitration(), 0x04030201u) << "the queue engine sees the value";
  EXPECT_TRUE(ctrl().coalescing_disabled(3));
}

TEST_F(AdminTest, FeatureErrors) {
  Start();
  // Not saveable: Number of Queues, Keep Alive Timer, Timestamp, Host Identifier.
  for (uint8_t fid : {0x07, 0x0f, 0x0e, 0x81}) {
    EXPECT_EQ(Code(SetFeature(fid, 0, /*save=*/true)), st::kNotSaveable) << +fid;
  }
  EXPECT_EQ(GetFeature(0x07, 3).dw0 & 0x7, 0x4u) << "changeable, not saveable";
  EXPECT_EQ(Code(SetFeature(0x03, 0)), st::kInvalidField) << "LBA Range Type: not supported";
  EXPECT_EQ(Code(GetFeature(0x7f)), st::kInvalidField);
  EXPECT_EQ(Code(GetFeature(0x01, 4)), st::kInvalidField) << "SEL 100b is reserved";
  EXPECT_EQ(Code(SetFeature(0x02, 2)), st::kInvalidField) << "PS above NPSS";
  EXPECT_EQ(Code(SetFeature(0x02, 3u << 5)), st::kInvalidField) << "WH 3";
  EXPECT_EQ(Code(SetFeature(0x04, 300 | (1u << 16))), st::kInvalidField) << "sensor 1";
  EXPECT_EQ(Code(SetFeature(0x04, 300 | (2u << 20))), st::kInvalidField) << "THSEL 10b";
  EXPECT_EQ(Code(GetFeature(0x04, 0, 0xfu << 16)), st::kInvalidField) << "TMPSEL Fh on Get";
  EXPECT_EQ(Code(SetFeature(0x05, 1u << 16)), st::kInvalidField) << "DULBE unsupported";
  EXPECT_EQ(Code(SetFeature(0x09, 9)), st::kInvalidField) << "IV beyond the MSI-X vectors";
  EXPECT_EQ(Code(SetFeature(0x07, 0xffff)), st::kInvalidField);
  EXPECT_EQ(Code(SetFeature(0x06, 1, false, 1)), 0x10f) << "Feature Not Namespace Specific";
  ASSERT_NE(IoQ(), nullptr);
  EXPECT_EQ(Code(SetFeature(0x07, 0)), st::kCommandSequence) << "I/O queues exist";
}

TEST_F(AdminTest, TemperatureThresholdUnderAndOver) {
  Start();
  ASSERT_EQ(Code(SetFeature(0x04, 250 | (1u << 20))), st::kSuccess);
  EXPECT_EQ(GetFeature(0x04, 0, 1u << 20).dw0 & 0xffff, 250u) << "under threshold";
  EXPECT_EQ(GetFeature(0x04, 0, 0).dw0 & 0xffff, 343u) << "over threshold unchanged";
  ASSERT_EQ(Code(SetFeature(0x04, 320 | (0xfu << 16))), st::kSuccess) << "TMPSEL Fh: all";
  EXPECT_EQ(GetFeature(0x04).dw0 & 0xffff, 320u);
}

TEST_F(AdminTest, TimestampCountsFromTheHostValue) {
  Start();
  DmaBuffer b = Alloc(4096);
  uint64_t ms = 1'700'000'000'000ull;
  std::memcpy(b.ptr, &ms, 6);
  ASSERT_EQ(Status(Cmd(op::kSetFeatures, 0, 0x0e), &b, 8), st::kSuccess);
  clock().Advance(5'000'000'000ull);
  std::memset(b.ptr, 0, 8);
  ASSERT_EQ(Status(Cmd(op::kGetFeatures, 0, 0x0e), &b, 8), st::kSuccess);
  uint64_t got = 0;
  std::memcpy(&got, b.ptr, 6);
  EXPECT_EQ(got, ms + 5000);
  EXPECT_EQ((b.ptr[6] >> 1) & 0x7, 1) << "origin: set by Set Features";
  Reset();
  ASSERT_EQ(Status(Cmd(op::kGetFeatures, 0, 0x0e), &b, 8), st::kSuccess);
  EXPECT_EQ((b.ptr[6] >> 1) & 0x7, 0) << "origin after a reset";
}

TEST_F(AdminTest, HostIdentifierAndKeepAliveTimer) {
  Start();
  DmaBuffer b = Alloc(4096);
  for (int i = 0; i < 16; ++i) b.ptr[i] = static_cast<uint8_t>(0xa0 + i);
  ASSERT_EQ(Status(Cmd(op::kSetFeatures, 0, 0x81, 1), &b, 16), st::kSuccess);
  std::memset(b.ptr, 0, 16);
  ASSERT_EQ(Status(Cmd(op::kGetFeatures, 0, 0x81, 1), &b, 16), st::kSuccess);
  EXPECT_EQ(b.ptr[0], 0xa0);
  EXPECT_EQ(b.ptr[15], 0xaf);
  EXPECT_EQ(ctrl().host_id()[15], 0xaf) << "reservations see it";
  ASSERT_EQ(Code(SetFeature(0x0f, 150)), st::kSuccess);
  EXPECT_EQ(GetFeature(0x0f).dw0, 200u) << "KATO rounded up to KAS (100 ms)";
  EXPECT_EQ(Status(Cmd(op::kKeepAlive)), st::kSuccess);
}

}  // namespace
}  // namespace nvemu::admin_test
