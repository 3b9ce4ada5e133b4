// The copy limit of `nvemu perf` (app/perf_copy_limit.h): the loops over memory they are given,
// and the second limit RunPerf takes over the RAM namespace's own memory on the device's reactor
// thread (when it applies, and why not when it does not). Counts and presence only: no timing.
// (A namespace with metadata is not covered: perf's prefill writes carry no metadata buffer.)
#include "app/perf_copy_limit.h"

#include <gtest/gtest.h>

#include <vector>

#include "app/perf_report.h"
#include "app/perf_run.h"

namespace nvemu::app {
namespace {

TEST(CopyLimit, CopiesOutOfGivenMemory) {
  std::vector<uint8_t> mem(1 << 20, 0x11);
  CopyLimitSpec spec;
  spec.range = mem.size();
  spec.ring_blocks = 4;
  spec.seconds = 0.02;
  spec.source = mem.data();
  spec.spinner = false;
  auto l = MeasureCopyLimit(spec);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_GT(l->plain.copies, 0u);
  EXPECT_GT(l->look_ahead.copies, 0u);
  EXPECT_GT(l->copies_per_s(), 0);
  // Only read: the given memory is unchanged.
  for (uint8_t b : mem) ASSERT_EQ(b, 0x11);
}

TEST(CopyLimit, GivenMemoryIsNeverWritten) {
  std::vector<uint8_t> mem(1 << 20);
  CopyLimitSpec spec;
  spec.range = mem.size();
  spec.seconds = 0.01;
  spec.source = mem.data();
  spec.read_percent = 50;  // would copy into it
  EXPECT_FALSE(MeasureCopyLimit(spec).ok());
}

ControllerConfig RamDevice(ProcessingMode mode) {
  ControllerConfig c;
  c.mode = mode;
  c.namespaces[0].backend = BackendKind::kRam;
  c.namespaces[0].size_bytes = 8ull << 20;
  return c;
}

PerfOptions ShortRun(PerfPattern pattern) {
  PerfOptions o;
  o.pattern = pattern;
  o.time_s = 0.1;
  o.warmup_s = 0;
  o.queue_depth = 8;
  o.copy_limit_s = 0.02;
  o.progress = false;
  return o;
}

TEST(PerfNamespaceLimit, ReadRunMeasuresOverTheNamespaceMemory) {
  auto r = RunPerf(RamDevice(ProcessingMode::kNotify), ShortRun(PerfPattern::kRandRead), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->copy_limit.has_value());
  ASSERT_TRUE(r->ns_copy_limit.has_value()) << r->ns_copy_limit_note;
  EXPECT_GT(r->ns_copy_limit->plain.copies, 0u);
  EXPECT_EQ(r->limit(), &*r->ns_copy_limit) << "the ratio uses the namespace-memory limit";
  EXPECT_GT(r->ratio_to_limit(), 0);
  EXPECT_GT(r->ratio_to_buffer_limit(), 0);
  EXPECT_NE(FormatPerfText(*r).find("over the namespace's own memory:"), std::string::npos);
  auto j = PerfJson(*r);
  EXPECT_EQ(j["copy_limit"]["ratio_basis"], "namespace_memory");
  EXPECT_GT(j["copy_limit"]["namespace_memory"]["copies_per_s"].get<double>(), 0);
}

// --limit-slices: the namespace limit runs in slices between stretches of the load, and the time
// they take is not load time. The slices (2 x 2 loops of 0.2 s) take at least 0.8 s of a window
// planned as 0.1 s of load plus those 0.8 s: were they counted, the load would seem to last
// about 0.9 s.
TEST(PerfNamespaceLimit, SlicesInterleaveWithTheLoadAndAreNotLoadTime) {
  PerfOptions o = ShortRun(PerfPattern::kRandRead);
  o.time_s = 0.1;
  o.copy_limit_s = 0.4;
  o.limit_slices = 2;
  auto r = RunPerf(RamDevice(ProcessingMode::kNotify), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->ns_copy_limit.has_value()) << r->ns_copy_limit_note;
  EXPECT_EQ(r->ns_copy_limit_slices, 2u);
  EXPECT_GT(r->ns_copy_limit->look_ahead.copies, 0u);
  EXPECT_GT(r->ns_copy_limit->plain.copies, 0u);
  EXPECT_GE(r->ns_copy_limit->plain.seconds, 0.4);  // both slices' plain loops
  EXPECT_GT(r->elapsed_s, 0);
  EXPECT_LE(r->elapsed_s, 0.1 + 1e-3);
  EXPECT_GT(r->ios, 0u);
  EXPECT_EQ(r->errors, 0u);
  EXPECT_NE(FormatPerfText(*r).find("2 slices between the load's stretches"), std::string::npos);
  EXPECT_EQ(PerfJson(*r)["copy_limit"]["namespace_memory"]["slices"], 2);
}

// Slices need one host thread that drains every queue; with --limit-slices 0, or several host
// threads, the limit runs once, apart from the load.
TEST(PerfNamespaceLimit, OnceApartFromTheLoadWithoutSlicesOrWithSeveralHostThreads) {
  PerfOptions o = ShortRun(PerfPattern::kRandRead);
  o.limit_slices = 0;
  auto r = RunPerf(RamDevice(ProcessingMode::kNotify), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->ns_copy_limit.has_value()) << r->ns_copy_limit_note;
  EXPECT_EQ(r->ns_copy_limit_slices, 0u);
  EXPECT_NE(FormatPerfText(*r).find("measured apart from the load"), std::string::npos);

  o = ShortRun(PerfPattern::kRandRead);
  o.queues = 2;
  o.threads = 2;
  r = RunPerf(RamDevice(ProcessingMode::kNotify), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->ns_copy_limit.has_value()) << r->ns_copy_limit_note;
  EXPECT_EQ(r->ns_copy_limit_slices, 0u);
  EXPECT_GT(r->ios, 0u);
}

TEST(PerfNamespaceLimit, WriteRunKeepsTheOwnBufferLimitAndSaysWhy) {
  auto r = RunPerf(RamDevice(ProcessingMode::kNotify), ShortRun(PerfPattern::kRandWrite), nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->copy_limit.has_value());
  EXPECT_FALSE(r->ns_copy_limit.has_value());
  EXPECT_NE(r->ns_copy_limit_note.find("writes"), std::string::npos) << r->ns_copy_limit_note;
  EXPECT_EQ(r->limit(), &*r->copy_limit);
  EXPECT_EQ(PerfJson(*r)["copy_limit"]["ratio_basis"], "own_buffer");
}

TEST(PerfNamespaceLimit, NotWithoutPrefillNorWithSeveralPollingReactors) {
  PerfOptions o = ShortRun(PerfPattern::kRandRead);
  o.prefill = false;
  auto r = RunPerf(RamDevice(ProcessingMode::kNotify), o, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->ns_copy_limit.has_value());
  EXPECT_NE(r->ns_copy_limit_note.find("--no-prefill"), std::string::npos);

  ControllerConfig c = RamDevice(ProcessingMode::kPoll);
  c.io_reactors = 2;
  o = ShortRun(PerfPattern::kRandRead);
  o.queues = 2;
  r = RunPerf(c, o, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->ns_copy_limit.has_value());
  EXPECT_NE(r->ns_copy_limit_note.find("more than one spinning reactor"), std::string::npos);
}

}  // namespace
}  // namespace nvemu::app
