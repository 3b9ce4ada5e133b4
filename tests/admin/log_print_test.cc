// `nvemu log` printers (app/log_print.h): the log pages in readable text, and CollectLogs end to
// end against an in-process controller.
#include "app/log_print.h"

#include <gtest/gtest.h>
#include <nvme/types.h>

#include <cstring>

#include "app/log_cmd.h"

namespace nvemu::app {
namespace {

TEST(LogPrint, SmartShowsCountersAndWarnings) {
  nvme_smart_log log{};
  log.critical_warning = 0x2;
  log.temperature[0] = 0x41;  // 321 K
  log.temperature[1] = 0x01;
  log.avail_spare = 100;
  uint64_t v = 42;
  std::memcpy(log.power_cycles, &v, 8);
  std::string s = FormatSmartLog(log);
  EXPECT_NE(s.find("(temperature threshold)"), std::string::npos) << s;
  EXPECT_NE(s.find("321 K (48 C)"), std::string::npos) << s;
  EXPECT_NE(s.find("power_cycles               : 42"), std::string::npos) << s;
  EXPECT_EQ(s.find("temperature_sensor_1"), std::string::npos) << "sensor not reported: " << s;
  log.warning_temp_time = 7;
  log.critical_comp_time = 2;
  log.temp_sensor[0] = 360;
  v = 5;
  std::memcpy(log.ctrl_busy_time, &v, 8);
  s = FormatSmartLog(log);
  EXPECT_NE(s.find("controller_busy_time       : 5 min"), std::string::npos) << s;
  EXPECT_NE(s.find("warning_temp_time          : 7 min"), std::string::npos) << s;
  EXPECT_NE(s.find("critical_comp_temp_time    : 2 min"), std::string::npos) << s;
  EXPECT_NE(s.find("temperature_sensor_1       : 360 K (87 C)"), std::string::npos) << s;
}

TEST(LogPrint, ErrorLogShowsStatusText) {
  std::vector<nvme_error_log_page> entries(64);
  entries[0].error_count = 7;
  entries[0].status_field = 0x02 << 1;  // Invalid Field in Command
  entries[0].parm_error_location = 40;
  std::string s = FormatErrorLog(entries);
  EXPECT_NE(s.find("error_count 7"), std::string::npos) << s;
  EXPECT_NE(s.find("Generic/0x02"), std::string::npos) << s;
  EXPECT_EQ(FormatErrorLog(std::vector<nvme_error_log_page>(64)).find("error_count"),
            std::string::npos);
}

TEST(LogPrint, FirmwareSelfTestAndChangedNamespaces) {
  nvme_firmware_slot fw{};
  fw.afi = 0x21;
  std::memcpy(fw.frs[0], "1.0     ", 8);
  std::memcpy(fw.frs[1], "2.0     ", 8);
  std::string s = FormatFirmwareLog(fw, 3);
  EXPECT_NE(s.find("active slot : 1"), std::string::npos) << s;
  EXPECT_NE(s.find("next reset  : 2"), std::string::npos) << s;
  EXPECT_NE(s.find("slot 3      : (empty)"), std::string::npos) << s;
  nvme_self_test_log st{};
  st.current_operation = 2;
  st.completion = 30;
  for (auto& r : st.result) r.dsts = 0xf;
  st.result[0].dsts = 0x12;
  s = FormatSelfTestLog(st);
  EXPECT_NE(s.find("extended (30% done)"), std::string::npos) << s;
  EXPECT_NE(s.find("short test, aborted by a Controller Level Reset"), std::string::npos) << s;
  nvme_ns_list list{};
  list.ns[0] = 3;
  EXPECT_NE(FormatChangedNamespaces(list).find("nsid 3"), std::string::npos);
}

TEST(LogPrint, SupportedLogPagesListsTheLidsWithLsupp) {
  nvme_supported_log_pages log{};
  log.lid_support[0x00] = 1;
  log.lid_support[0x02] = 1 | 1u << 1;
  log.lid_support[0x70] = 1 | 0x5u << 16;
  log.lid_support[0x05] = 1u << 1;  // IOS without LSUPP: not supported
  std::string s = FormatSupportedLogPages(log);
  EXPECT_EQ(s, "Supported Log Pages Log (00h)\n  0x00\n  0x02 IOS\n  0x70 LIDSP:0x0005\n");
}

TEST(LogPrint, CollectLogsFromAController) {
  ControllerConfig config;
  config.namespaces[0].size_bytes = 16ull << 20;
  auto text = CollectLogs(config, {"all"});
  ASSERT_TRUE(text.ok()) << text.error().message;
  for (const char* title : {"Supported Log Pages Log (00h)", "Error Information Log (01h)",
                            "SMART / Health Information Log (02h)",
                            "Firmware Slot Information Log (03h)", "Changed Namespace List Log",
                            "Commands Supported and Effects Log (05h)", "Device Self-test Log"}) {
    EXPECT_NE(text->find(title), std::string::npos) << title;
  }
  auto smart = CollectLogs(config, {"smart"});
  ASSERT_TRUE(smart.ok());
  EXPECT_EQ(smart->find("Firmware"), std::string::npos) << "only the page asked for";
}

}  // namespace
}  // namespace nvemu::app
