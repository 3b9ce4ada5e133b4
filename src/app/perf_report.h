// Printing a `nvemu perf` result: the human summary (totals, per-queue breakdown, the machine's
// copy limit and the ratio, engine counters) and the JSON document (--json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "app/perf_run.h"

namespace nvemu::app {

std::string FormatPerfText(const PerfResult& r);
nlohmann::ordered_json PerfJson(const PerfResult& r);

}  // namespace nvemu::app
