// LatencyHistogram: a fixed-size log-linear histogram of nanosecond values (as HdrHistogram): every
// power-of-two range is split into kSubBuckets linear buckets, so a recorded value is known within
// 1/kSubBuckets (3.1 %) of itself from 1 ns up to 2^kMaxExponent ns (about 18 minutes; larger
// values land in the last bucket). Record() is a few instructions and never allocates; min, max
// and the sum are exact.
//
// Threading: one writer; merge copies after the writer is done.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace nvemu::app {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBucketBits = 5;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr unsigned kMaxExponent = 40;
  static constexpr size_t kBuckets = (kMaxExponent - kSubBucketBits + 2) * kSubBuckets;

  void Record(uint64_t ns) {
    ++counts_[Index(ns)];
    ++count_;
    sum_ += ns;
    if (ns < min_) min_ = ns;
    if (ns > max_) max_ = ns;
  }
  void Merge(const LatencyHistogram& other);
  void Reset() { *this = LatencyHistogram{}; }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ ? static_cast<double>(sum_) / count_ : 0.0; }
  // The value below which `fraction` (0..1) of the recorded values fall: the upper edge of the
  // bucket that holds that rank, clamped to [min, max]. 0 when empty.
  uint64_t Percentile(double fraction) const;

  // Bucket geometry (for tests): the bucket of `ns` and its value range [lower, upper].
  static size_t Index(uint64_t ns);
  static uint64_t BucketLower(size_t index);
  static uint64_t BucketUpper(size_t index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace nvemu::app
