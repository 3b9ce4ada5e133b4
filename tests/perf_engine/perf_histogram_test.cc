// nvemu perf's latency histogram: log-linear buckets (exact below 32 ns, within 1/32 above),
// percentiles, merge; and the options' validation.
#include "app/perf_histogram.h"

#include <gtest/gtest.h>

#include "app/perf_options.h"

namespace nvemu::app {
namespace {

TEST(PerfHistogram, BucketsCoverEveryValueWithinOneThirtySecond) {
  for (uint64_t v : {0ull, 1ull, 31ull, 32ull, 33ull, 63ull, 64ull, 1000ull, 123456ull,
                     999'999'999ull, 1ull << 39, (1ull << 41) - 1}) {
    const size_t i = LatencyHistogram::Index(v);
    ASSERT_LT(i, LatencyHistogram::kBuckets);
    EXPECT_LE(LatencyHistogram::BucketLower(i), v) << v;
    EXPECT_GE(LatencyHistogram::BucketUpper(i), v) << v;
    if (v >= 32 && i + 1 < LatencyHistogram::kBuckets) {  // the last bucket is open-ended
      const uint64_t width = LatencyHistogram::BucketUpper(i) - LatencyHistogram::BucketLower(i);
      EXPECT_LE(width, v / 32) << v;
    }
  }
  // Consecutive buckets tile the range.
  for (size_t i = 0; i + 2 < LatencyHistogram::kBuckets; ++i) {
    EXPECT_EQ(LatencyHistogram::BucketUpper(i) + 1, LatencyHistogram::BucketLower(i + 1)) << i;
  }
  EXPECT_EQ(LatencyHistogram::Index(UINT64_MAX), LatencyHistogram::kBuckets - 1);
}

TEST(PerfHistogram, PercentilesMeanMinMax) {
  LatencyHistogram h;
  EXPECT_EQ(h.Percentile(0.5), 0u);
  for (uint64_t v = 1; v <= 1000; ++v) h.Record(v * 1000);  // 1 us .. 1 ms
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.min(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_DOUBLE_EQ(h.mean(), 500'500.0);
  auto near = [](uint64_t got, uint64_t want) { return got >= want && got <= want + want / 32; };
  EXPECT_TRUE(near(h.Percentile(0.5), 500'000)) << h.Percentile(0.5);
  EXPECT_TRUE(near(h.Percentile(0.99), 990'000)) << h.Percentile(0.99);
  EXPECT_TRUE(near(h.Percentile(0.999), 999'000)) << h.Percentile(0.999);
  EXPECT_EQ(h.Percentile(1.0), 1'000'000u);
  EXPECT_EQ(h.Percentile(0.0), LatencyHistogram::BucketUpper(LatencyHistogram::Index(1000)))
      << "upper edge of the minimum's bucket";
}

TEST(PerfHistogram, Merge) {
  LatencyHistogram a, b;
  a.Record(10);
  b.Record(5000);
  b.Record(7);
  a.Merge(b);
  EXPECT_EQ(a.count(), 3u);
  EXPECT_EQ(a.min(), 7u);
  EXPECT_EQ(a.max(), 5000u);
  EXPECT_EQ(a.Percentile(0.5), 10u);
}

TEST(PerfOptions, Validation) {
  PerfOptions o;
  EXPECT_TRUE(ValidatePerfOptions(o).ok());
  o.block_size = 1000;
  EXPECT_FALSE(ValidatePerfOptions(o).ok());
  o = PerfOptions{};
  o.threads = 2;  // more threads than queues
  EXPECT_FALSE(ValidatePerfOptions(o).ok());
  o = PerfOptions{};
  o.burst = 3;
  EXPECT_FALSE(ValidatePerfOptions(o).ok());
  o.burst = 64;
  EXPECT_TRUE(ValidatePerfOptions(o).ok());
  o = PerfOptions{};
  o.copy_limit_s = 0;
  EXPECT_FALSE(ValidatePerfOptions(o).ok());
  o.copy_limit = false;  // --no-limit: the loop time does not matter
  EXPECT_TRUE(ValidatePerfOptions(o).ok());
  o = PerfOptions{};
  o.limit_slices = 1001;
  EXPECT_FALSE(ValidatePerfOptions(o).ok());
  o.limit_slices = 0;
  EXPECT_TRUE(ValidatePerfOptions(o).ok());
  EXPECT_EQ(ParsePattern("randrw").value(), PerfPattern::kRandRw);
  EXPECT_FALSE(ParsePattern("sideways").ok());
  EXPECT_EQ(ParseQueuePriority("medium").value(), 2);
}

}  // namespace
}  // namespace nvemu::app
