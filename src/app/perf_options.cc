#include "app/perf_options.h"

#include <fmt/format.h>

#include <array>
#include <bit>

namespace nvemu::app {
namespace {

struct PatternName {
  PerfPattern pattern;
  std::string_view name;
};
constexpr std::array<PatternName, 5> kPatterns = {{
    {PerfPattern::kRead, "read"},
    {PerfPattern::kWrite, "write"},
    {PerfPattern::kRandRead, "randread"},
    {PerfPattern::kRandWrite, "randwrite"},
    {PerfPattern::kRandRw, "randrw"},
}};

constexpr std::array<std::string_view, 4> kPriorities = {"urgent", "high", "medium", "low"};

}  // namespace

std::string_view PatternName(PerfPattern p) {
  for (const auto& e : kPatterns) {
    if (e.pattern == p) return e.name;
  }
  return "?";
}

Result<PerfPattern> ParsePattern(std::string_view name) {
  for (const auto& e : kPatterns) {
    if (e.name == name) return e.pattern;
  }
  return Error{
      fmt::format("unknown pattern '{}' (read, write, randread, randwrite, randrw)", name)};
}

Result<uint8_t> ParseQueuePriority(std::string_view name) {
  for (size_t i = 0; i < kPriorities.size(); ++i) {
    if (kPriorities[i] == name) return static_cast<uint8_t>(i);
  }
  return Error{fmt::format("unknown queue priority '{}' (urgent, high, medium, low)", name)};
}

std::string_view QueuePriorityName(uint8_t qprio) { return kPriorities[qprio & 3]; }

bool PatternReads(PerfPattern p) {
  return p == PerfPattern::kRead || p == PerfPattern::kRandRead || p == PerfPattern::kRandRw;
}
bool PatternWrites(PerfPattern p) {
  return p == PerfPattern::kWrite || p == PerfPattern::kRandWrite || p == PerfPattern::kRandRw;
}
bool PatternRandom(PerfPattern p) {
  return p == PerfPattern::kRandRead || p == PerfPattern::kRandWrite || p == PerfPattern::kRandRw;
}

Result<void> ValidatePerfOptions(const PerfOptions& o) {
  if (o.block_size == 0 || o.block_size % 512 != 0) {
    return Error{fmt::format("--bs {} is not a positive multiple of 512", o.block_size)};
  }
  if (o.queue_depth == 0 || o.queue_depth > 4095) return Error{"--qd must be in 1..4095"};
  if (o.queues == 0 || o.queues > 65535) return Error{"--queues must be in 1..65535"};
  if (o.threads == 0 || o.threads > o.queues) return Error{"--threads must be in 1..--queues"};
  if (o.ios == 0 && !(o.time_s > 0)) return Error{"--time must be positive (or give --ios)"};
  if (o.warmup_s < 0) return Error{"--warmup must not be negative"};
  if (o.read_percent > 100) return Error{"--mix must be in 0..100"};
  if (o.weights.size() != 3) return Error{"--weights takes three values: high,medium,low"};
  for (uint32_t w : o.weights) {
    if (w < 1 || w > 256) return Error{"--weights values must be in 1..256"};
  }
  if (o.burst != 0 && (!std::has_single_bit(o.burst) || o.burst > 64)) {
    return Error{"--burst must be a power of two up to 64, or 0 for no limit"};
  }
  if (o.coalesce_thr > 255 || o.coalesce_time > 255) {
    return Error{"--coalesce THR,TIME: each in 0..255"};
  }
  if (o.nsid == 0) return Error{"--namespace must be at least 1"};
  if (o.copy_limit && !(o.copy_limit_s > 0)) return Error{"--limit-time must be positive"};
  if (o.limit_slices > 1000) return Error{"--limit-slices must be in 0..1000"};
  return {};
}

}  // namespace nvemu::app
