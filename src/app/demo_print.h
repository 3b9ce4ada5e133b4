// How `nvemu demo` reports: a readable summary, or one JSON document (--json). Pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "app/demo.h"

namespace nvemu::app {

// The summary: controller identity, namespaces, queues, traffic, verification, timing, and a last
// line "RESULT: PASS" or "RESULT: FAIL".
std::string FormatDemoText(const DemoReport& report);

// {"result": "pass"|"fail", "controller": {...}, "namespaces": [...], "io": {...},
//  "verification": {...}, "timing": {...}, "shutdown": ...}
nlohmann::ordered_json DemoJson(const DemoReport& report);

// {"result": "error", "error": message}: the demo could not run to the end.
nlohmann::ordered_json DemoErrorJson(const std::string& message);

}  // namespace nvemu::app
