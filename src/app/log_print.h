// Text printers for the log pages `nvemu log` shows (NVMe Base 2.0, 5.16.1), in the spirit of
// nvme-cli's supported-log-pages / error-log / smart-log / fw-log / effects-log / self-test-log.
#pragma once

#include <nvme/types.h>

#include <string>
#include <vector>

namespace nvemu::app {

std::string FormatSupportedLogPages(const nvme_supported_log_pages& log);
std::string FormatErrorLog(const std::vector<nvme_error_log_page>& entries);
std::string FormatSmartLog(const nvme_smart_log& log);
std::string FormatFirmwareLog(const nvme_firmware_slot& log, unsigned slots);
std::string FormatChangedNamespaces(const nvme_ns_list& list);
std::string FormatEffectsLog(const nvme_cmd_effects_log& log);
std::string FormatSelfTestLog(const nvme_self_test_log& log);

}  // namespace nvemu::app
