// Get Log Page (NVMe Base 2.0, 5.16): NUMD/LPO/RAE, unsupported pages, and the contents of logs
// 00h (Supported Log Pages), 01h (Error Information), 02h (SMART / Health) and 05h (Commands
// Supported and Effects).
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

uint64_t Lo64(const uint8_t (&v)[16]) {
  uint64_t x;
  std::memcpy(&x, v, 8);
  return x;
}

TEST_F(AdminTest, GetLogPageOffsetsAndErrors) {
  Start();
  std::vector<uint8_t> whole, part;
  ASSERT_EQ(GetLog(0x05, 4096, &whole), st::kSuccess);
  ASSERT_EQ(GetLog(0x05, 64, &part, 1024), st::kSuccess) << "LPO 1024, NUMD 15";
  EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + 1024));
  EXPECT_EQ(GetLog(0x05, 64, &part, 2), st::kInvalidField) << "LPO not dword aligned";
  EXPECT_EQ(GetLog(0x02, 64, &part, 512), st::kInvalidField) << "LPO beyond the SMART log";
  EXPECT_EQ(GetLog(0x02, 64, &part, 0, false, 0xffffffff, 1u << 23), st::kInvalidField)
      << "index offsets (OT) are not supported";
  for (uint8_t lid : {0x07, 0x0c, 0x12, 0x13, 0x70, 0xc0}) {
    EXPECT_EQ(GetLog(lid, 512, &part), st::kInvalidLogPage) << +lid;
  }
  EXPECT_EQ(GetLog(0x02, 512, &part, 0, false, 1), st::kInvalidField)
      << "SMART is controller-wide (LPA bit 0 = 0)";
  EXPECT_EQ(GetLog(0x05, 4096, &part, 0, false, 0, 2u << 24), st::kInvalidField) << "CSI 2";
  // A request longer than the page reads zeroes past its end.
  ASSERT_EQ(GetLog(0x02, 1024, &part), st::kSuccess);
  EXPECT_TRUE(std::all_of(part.begin() + 512, part.end(), [](uint8_t b) { return b == 0; }));
}

// 5.16.1.1: one LID Supported and Effects dword per LID; LSUPP (bit 0) exactly for the pages
// Get Log Page returns, IOS (bit 1) exactly where OT = 1 is accepted, the rest reserved.
TEST_F(AdminTest, SupportedLogPagesListsExactlyWhatGetLogPageReturns) {
  Start();
  std::vector<uint8_t> page;
  ASSERT_EQ(GetLog(0x00, 1024, &page), st::kSuccess);
  auto entry = [&](unsigned lid) {
    uint32_t v;
    std::memcpy(&v, page.data() + lid * 4, 4);
    return v;
  };
  const std::vector<unsigned> expected = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06};
  std::vector<uint8_t> out;
  for (unsigned lid = 0; lid < 256; ++lid) {
    const bool listed = std::find(expected.begin(), expected.end(), lid) != expected.end();
    EXPECT_EQ(entry(lid) & 1, listed ? 1u : 0u) << "LSUPP of LID " << lid;
    EXPECT_EQ(entry(lid) & ~3u, 0u) << "reserved bits / LIDSP of LID " << lid;
    // Get Log Page agrees with LSUPP (RAE = 1: nothing is cleared).
    uint16_t got = GetLog(static_cast<uint8_t>(lid), 64, &out, 0, true);
    EXPECT_EQ(got, listed ? st::kSuccess : st::kInvalidLogPage) << "LID " << lid;
    if (!listed) continue;
    // IOS = 0 everywhere: an index offset (OT = 1) is Invalid Field for every supported page.
    EXPECT_EQ(entry(lid) & 2, 0u) << "IOS of LID " << lid;
    EXPECT_EQ(GetLog(static_cast<uint8_t>(lid), 64, &out, 0, true, 0xffffffff, 1u << 23),
              st::kInvalidField)
        << "OT = 1 on LID " << lid;
  }
  // The page is 1024 bytes: a window reads the same dwords; an offset at its end is Invalid Field.
  ASSERT_EQ(GetLog(0x00, 8, &out, 4 * 5), st::kSuccess);
  EXPECT_TRUE(std::equal(out.begin(), out.end(), page.begin() + 4 * 5));
  EXPECT_EQ(GetLog(0x00, 4, &out, 1024), st::kInvalidField);
  // Identify LPA and the effects log say the same: bit 1 (log 05h) is set and 05h is listed; bit
  // 5 (logs 00h, 12h and 13h together, and the command scope in log 05h) is not advertised,
  // since 12h and 13h are not supported.
  nvme_id_ctrl id = IdCtrl();
  EXPECT_EQ(id.lpa & (1u << 1), 1u << 1);
  EXPECT_EQ(id.lpa & (1u << 5), 0u);
  auto effects = Log<nvme_cmd_effects_log>(0x05);
  EXPECT_EQ(effects.acs[0x02] & 1, 1u) << "Get Log Page: CSUPP";
  EXPECT_EQ(effects.acs[0x02] & ~1u, 0u) << "Get Log Page changes nothing (LBCC/NCC/NIC/CCC 0)";
}

TEST_F(AdminTest, CommandsSupportedAndEffects) {
  Start();
  auto log = Log<nvme_cmd_effects_log>(0x05);
  for (uint8_t opc : {0x00, 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x10, 0x11,
                      0x14, 0x15, 0x18, 0x80}) {
    EXPECT_EQ(log.acs[opc] & 1, 1u) << "admin opcode " << +opc;
  }
  EXPECT_EQ(log.acs[0x03], 0u) << "reserved opcode";
  EXPECT_EQ(log.acs[0x80] & 0x6, 0x6u) << "Format NVM: LBCC and NCC";
  EXPECT_EQ(log.acs[0x15] & 0x8, 0x8u) << "Namespace Attachment: NIC";
  EXPECT_EQ(log.iocs[0x01], 0x3u) << "Write: CSUPP | LBCC";
  EXPECT_EQ(log.iocs[0x02], 0x1u) << "Read: CSUPP";
  EXPECT_EQ(log.iocs[0x7f], 0u);
}

TEST_F(AdminTest, SmartHealthCountsIoTimeAndTemperature) {
  Start();
  DmaBuffer b = Alloc(64 * 1024);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  ASSERT_EQ(Io(op::kRead, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  clock().Advance(2 * 3600 * 1'000'000'000ull + 1);
  ctrl().admin_state().health.set_temperature(330, ctrl().clock().NowNs());
  auto log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(Lo64(log.host_writes), 3u);
  EXPECT_EQ(Lo64(log.host_reads), 1u);
  EXPECT_EQ(Lo64(log.data_units_written), 1u) << "384 units of 512 B, in thousands rounded up";
  EXPECT_EQ(Lo64(log.data_units_read), 1u);
  EXPECT_EQ(Lo64(log.power_on_hours), 2u);
  EXPECT_EQ(Lo64(log.power_cycles), 1u);
  EXPECT_EQ(Lo64(log.unsafe_shutdowns), 0u);
  EXPECT_EQ(log.temperature[0] | log.temperature[1] << 8, 330);
  EXPECT_EQ(log.avail_spare, 100);
  EXPECT_EQ(log.spare_thresh, 10);
  EXPECT_EQ(log.critical_warning, 0);
  // Over the threshold and below the spare threshold: critical warning bits 1 and 0.
  ctrl().admin_state().health.set_available_spare(5);
  ASSERT_EQ(Code(SetFeature(0x04, 320)), st::kSuccess);
  log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(log.critical_warning, 0x3);
  // 2000 writes of 1000 x 512 B: exactly 2000 data units... of which the first 3 already counted.
  EXPECT_EQ(Lo64(log.media_errors), 0u);
}

// Percentage Used from data written over the configured endurance; Warning / Critical Composite
// Temperature Time from the time spent at or above WCTEMP / CCTEMP (ManualClock); Temperature
// Sensor 1 = the composite; Controller Busy Time from the subsystem's BusyClock (the union of the
// intervals in which some source has an I/O command outstanding; tests/admin/busy_time_test.cc
// drives it through the PCIe queue engine).
TEST_F(AdminTest, SmartWearTemperatureTimesAndBusyTime) {
  config().endurance_bytes = 1ull << 20;  // 1 MiB
  Start();
  nvme_id_ctrl id = IdCtrl();
  ASSERT_EQ(id.wctemp, 343);
  ASSERT_EQ(id.cctemp, 358);
  auto log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(log.percent_used, 0);
  EXPECT_EQ(log.warning_temp_time, 0u);
  EXPECT_EQ(log.critical_comp_time, 0u);
  EXPECT_EQ(log.temp_sensor[0], log.temperature[0] | log.temperature[1] << 8);
  DmaBuffer b = Alloc(64 * 1024);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  EXPECT_EQ(Log<nvme_smart_log>(0x02).percent_used, 25) << "256 KiB of 1 MiB";
  for (int i = 0; i < 12; ++i) ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  EXPECT_EQ(Log<nvme_smart_log>(0x02).percent_used, 100);
  for (int i = 0; i < 200; ++i) ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  EXPECT_EQ(Log<nvme_smart_log>(0x02).percent_used, 255) << "saturates at 255";

  const uint64_t min = 60'000'000'000ull;
  Health& h = ctrl().admin_state().health;
  clock().Advance(10 * min);  // below WCTEMP: not counted
  h.set_temperature(345, clock().NowNs());
  clock().Advance(2 * min);
  h.set_temperature(360, clock().NowNs());
  clock().Advance(3 * min);
  log = Log<nvme_smart_log>(0x02);  // still at 360: the current span counts too
  EXPECT_EQ(log.warning_temp_time, 5u);
  EXPECT_EQ(log.critical_comp_time, 3u);
  EXPECT_EQ(log.temp_sensor[0], 360);
  h.set_temperature(300, clock().NowNs());
  clock().Advance(30 * min);
  log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(log.warning_temp_time, 5u);
  EXPECT_EQ(log.critical_comp_time, 3u);

  EXPECT_EQ(Lo64(log.ctrl_busy_time), 0u) << "45 idle minutes and I/O that took no clock time";
  const uint64_t sec = 1'000'000'000ull;
  h.busy().Enter(clock().NowNs());
  clock().Advance(90 * sec);
  EXPECT_EQ(Lo64(Log<nvme_smart_log>(0x02).ctrl_busy_time), 1u) << "open interval; rounded down";
  h.busy().Enter(clock().NowNs());  // a second source, overlapping: counted once
  clock().Advance(30 * sec);
  h.busy().Leave(clock().NowNs());
  h.busy().Leave(clock().NowNs());
  EXPECT_EQ(Lo64(Log<nvme_smart_log>(0x02).ctrl_busy_time), 2u);
  clock().Advance(10 * min);
  EXPECT_EQ(Lo64(Log<nvme_smart_log>(0x02).ctrl_busy_time), 2u) << "idle again";
}

TEST_F(AdminTest, ErrorInformationLogRecordsFailedCommands) {
  Start();
  std::vector<uint8_t> v;
  ASSERT_EQ(Identify(0x04, 0, &v), st::kInvalidField);  // fails at CDW10 byte 0
  DmaBuffer b = Alloc(4096);
  uint64_t beyond = (16ull << 20) / 512;
  ASSERT_EQ(Io(op::kRead, 1, beyond, 1, &b, 512), st::kLbaOutOfRange);
  std::vector<uint8_t> page;
  ASSERT_EQ(GetLog(0x01, 4096, &page), st::kSuccess);
  auto* e = reinterpret_cast<const nvme_error_log_page*>(page.data());
  // Newest first: the read, then the Identify.
  EXPECT_EQ(e[0].error_count, 2u);
  EXPECT_EQ(e[0].sqid, 1);
  EXPECT_EQ((e[0].status_field >> 1) & 0x7ff, st::kLbaOutOfRange);
  EXPECT_EQ(e[0].lba, beyond);
  EXPECT_EQ(e[0].nsid, 1u);
  EXPECT_EQ(e[1].error_count, 1u);
  EXPECT_EQ(e[1].sqid, 0);
  EXPECT_EQ((e[1].status_field >> 1) & 0x7ff, st::kInvalidField);
  EXPECT_EQ(e[1].parm_error_location, 40) << "CDW10 byte 0 (CNS)";
  EXPECT_EQ(e[2].error_count, 0u) << "unused entries";
  EXPECT_EQ(Lo64(Log<nvme_smart_log>(0x02).num_err_log_entries), 2u);
}

}  // namespace
}  // namespace nvemu::admin_test
