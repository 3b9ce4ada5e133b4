// Asynchronous Event Request (NVMe Base 2.0, 5.2): AERL, event-driven completion, masking by
// feature 0Bh, events retained until their log page is read with RAE = 0, and error events from
// invalid doorbell writes.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

using std::chrono::milliseconds;

TEST_F(AdminTest, AsyncEventRequestLimit) {
  Start();
  for (int i = 0; i < 4; ++i) Submit(Cmd(op::kAer));  // AERL = 3: four may be outstanding
  Cqe c = Admin(Cmd(op::kAer));
  EXPECT_EQ(Code(c), st::kAerLimit);
  EXPECT_EQ(ctrl().async_events().outstanding(), 4u);
}

TEST_F(AdminTest, SmartEventsAreDeliveredAndRetainedUntilTheLogIsRead) {
  Start();
  uint16_t a1 = Submit(Cmd(op::kAer));
  uint16_t a2 = Submit(Cmd(op::kAer));
  Cqe c;
  EXPECT_FALSE(Wait(a1, &c, milliseconds(50))) << "no event yet";
  // Over-temperature threshold below the current temperature: SMART event, temperature (01h).
  ASSERT_EQ(Code(SetFeature(0x04, 300)), st::kSuccess);
  ASSERT_TRUE(Wait(a1, &c));
  EXPECT_EQ(Code(c), st::kSuccess);
  EXPECT_EQ(c.dw0, 0x1u | (0x01u << 8) | (0x02u << 16)) << "type SMART, info 01h, log 02h";
  // A spare event is of the same type: held until the SMART log is read with RAE = 0.
  ctrl().admin_state().health.set_available_spare(1);
  ASSERT_EQ(Code(SetFeature(0x04, 301)), st::kSuccess);  // re-evaluates the health
  EXPECT_FALSE(Wait(a2, &c, milliseconds(50))) << "SMART events are masked";
  std::vector<uint8_t> v;
  ASSERT_EQ(GetLog(0x02, 512, &v, 0, /*rae=*/true), st::kSuccess);
  EXPECT_FALSE(Wait(a2, &c, milliseconds(50))) << "RAE = 1 retains the event";
  ASSERT_EQ(GetLog(0x02, 512, &v, 0, /*rae=*/false), st::kSuccess);
  ASSERT_TRUE(Wait(a2, &c));
  EXPECT_EQ(c.dw0, 0x1u | (0x02u << 8) | (0x02u << 16)) << "spare below threshold";
}

// ControllerConfig::composite_temperature / available_spare: model values from power-on. Beyond
// the Temperature Threshold (04h) or below the spare threshold they are conditions from the start:
// Critical Warning bits 1 and 0, and SMART events waiting for the first AERs (NVMe Base 2.0, 5.2,
// Figure 207).
TEST_F(AdminTest, ConfiguredTemperatureAndSpareAreConditionsFromPowerOn) {
  config().composite_temperature = 350;  // above the default over threshold (WCTEMP, 343 K)
  config().available_spare = 5;          // below the 10% threshold
  Start();
  std::vector<uint8_t> v;
  ASSERT_EQ(GetLog(0x02, 512, &v, 0, /*rae=*/true), st::kSuccess);
  auto log = As<nvme_smart_log>(v);
  EXPECT_EQ(log.temperature[0] | log.temperature[1] << 8, 350);
  EXPECT_EQ(log.temp_sensor[0], 350);
  EXPECT_EQ(log.avail_spare, 5);
  EXPECT_EQ(log.critical_warning, 0x3);
  uint16_t a1 = Submit(Cmd(op::kAer));
  Cqe c;
  ASSERT_TRUE(Wait(a1, &c));
  EXPECT_EQ(c.dw0, 0x1u | (0x01u << 8) | (0x02u << 16)) << "temperature above threshold";
  ASSERT_EQ(GetLog(0x02, 512, &v, 0, /*rae=*/false), st::kSuccess);
  uint16_t a2 = Submit(Cmd(op::kAer));
  ASSERT_TRUE(Wait(a2, &c));
  EXPECT_EQ(c.dw0, 0x1u | (0x02u << 8) | (0x02u << 16)) << "spare below threshold";
  ASSERT_EQ(GetLog(0x02, 512, &v, 0, /*rae=*/false), st::kSuccess);
  // A threshold above the configured temperature clears bit 1; lowering it again is a new event.
  ASSERT_EQ(Code(SetFeature(0x04, 360)), st::kSuccess);
  ASSERT_EQ(GetLog(0x02, 512, &v, 0, /*rae=*/true), st::kSuccess);
  EXPECT_EQ(As<nvme_smart_log>(v).critical_warning, 0x1);
  uint16_t a3 = Submit(Cmd(op::kAer));
  ASSERT_EQ(Code(SetFeature(0x04, 345)), st::kSuccess);
  ASSERT_TRUE(Wait(a3, &c));
  EXPECT_EQ(c.dw0, 0x1u | (0x01u << 8) | (0x02u << 16));
}

TEST(ControllerConfigHealth, TemperatureAndSpareRanges) {
  ControllerConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.available_spare = 101;
  EXPECT_FALSE(c.Validate().ok());
  c.available_spare = 0;
  EXPECT_TRUE(c.Validate().ok());
  c.composite_temperature = 0;
  EXPECT_FALSE(c.Validate().ok());
}

TEST_F(AdminTest, EventsDisabledByFeature0BhAreNotReported) {
  Start();
  ASSERT_EQ(Code(SetFeature(0x0b, 0x300)), st::kSuccess);  // notices only, no SMART
  EXPECT_EQ(GetFeature(0x0b).dw0, 0x300u);
  uint16_t a = Submit(Cmd(op::kAer));
  ASSERT_EQ(Code(SetFeature(0x04, 300)), st::kSuccess);
  Cqe c;
  EXPECT_FALSE(Wait(a, &c, milliseconds(100)));
  EXPECT_TRUE(ctrl().async_events().Pending().empty()) << "dropped, not queued";
}

TEST_F(AdminTest, InvalidDoorbellWriteIsAnErrorEvent) {
  Start();
  uint16_t a = Submit(Cmd(op::kAer));
  drv().device().MmioWrite(0x1000 + 2 * 5 * 4, 4, 1);  // SQ 5 tail: no such queue
  Cqe c;
  ASSERT_TRUE(Wait(a, &c));
  EXPECT_EQ(c.dw0, 0x0u | (0x00u << 8) | (0x01u << 16)) << "error, invalid doorbell, log 01h";
  std::vector<uint8_t> page;
  ASSERT_EQ(GetLog(0x01, 64, &page), st::kSuccess);
  auto e = As<nvme_error_log_page>(page);
  EXPECT_EQ(e.error_count, 1u);
  EXPECT_EQ(e.sqid, 0xffff) << "not tied to a command";
}

TEST_F(AdminTest, ControllerResetDropsOutstandingRequests) {
  Start();
  Submit(Cmd(op::kAer));
  Submit(Cmd(op::kAer));
  EXPECT_TRUE(WaitOutstandingAers(2));
  Reset();
  EXPECT_EQ(ctrl().async_events().outstanding(), 0u);
  ASSERT_EQ(Code(SetFeature(0x04, 300)), st::kSuccess);  // event pending, nobody to receive it
  uint16_t a = Submit(Cmd(op::kAer));
  Cqe c;
  ASSERT_TRUE(Wait(a, &c)) << "the pending event completes the new request";
  EXPECT_EQ(c.dw0 & 0x7, 1u);
}

}  // namespace
}  // namespace nvemu::admin_test
