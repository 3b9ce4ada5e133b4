#include "app/perf_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace nvemu::app {

// Values below kSubBuckets have one bucket each. Above, a value with highest set bit e lands in
// block (e - kSubBucketBits + 1), sub-bucket = the kSubBucketBits bits below the highest bit.
size_t LatencyHistogram::Index(uint64_t ns) {
  if (ns < kSubBuckets) return static_cast<size_t>(ns);
  const unsigned e = 63 - static_cast<unsigned>(std::countl_zero(ns));
  if (e > kMaxExponent) return kBuckets - 1;
  const unsigned shift = e - kSubBucketBits;
  const uint64_t sub = (ns >> shift) & (kSubBuckets - 1);
  return static_cast<size_t>((uint64_t{shift + 1} << kSubBucketBits) + sub);
}

uint64_t LatencyHistogram::BucketLower(size_t index) {
  if (index < kSubBuckets) return index;
  const uint64_t block = index >> kSubBucketBits;  // >= 1
  const uint64_t sub = index & (kSubBuckets - 1);
  const unsigned shift = static_cast<unsigned>(block - 1);
  return (kSubBuckets + sub) << shift;
}

uint64_t LatencyHistogram::BucketUpper(size_t index) {
  if (index + 1 >= kBuckets) return UINT64_MAX;
  return BucketLower(index + 1) - 1;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::Percentile(double fraction) const {
  if (count_ == 0) return 0;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::clamp(BucketUpper(i), min(), max_);
  }
  return max_;
}

}  // namespace nvemu::app
