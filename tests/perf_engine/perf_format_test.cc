// `nvemu perf` on namespaces with metadata and end-to-end protection (app/perf_format.h): every
// command carries the metadata the format needs (a separate MPTR buffer, or extended LBAs) and
// PRINFO for protected namespaces, so that a load over such a namespace completes without errors.
// Before, every command of such a run failed (and the prefill refused to start).
#include "app/perf_format.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "app/perf_run.h"

namespace nvemu::app {
namespace {

constexpr uint8_t kPract = 1u << 3, kGuard = 1u << 2, kRef = 1u << 0;

NamespaceConfig Format(uint32_t ms, bool extended, uint8_t pi_type = 0, bool pi_64b = false) {
  NamespaceConfig ns;
  ns.metadata_size = ms;
  ns.extended_lba = extended;
  ns.pi_type = pi_type;
  ns.pi_64b_guard = pi_64b;
  return ns;
}

TEST(PerfFormat, BuffersFollowTheFormat) {
  struct Case {
    NamespaceConfig ns;
    uint32_t lba_shift, data_per_lba, meta_per_lba;
    uint8_t prinfo;
  } cases[] = {
      {Format(0, false), 9, 512, 0, 0},
      {Format(8, false), 9, 512, 8, 0},
      {Format(8, true), 9, 520, 0, 0},
      {Format(64, false), 12, 4096, 64, 0},
      // PRACT = 1 with PI-only metadata: nothing on the wire.
      {Format(8, false, 1), 9, 512, 0, kPract | kGuard | kRef},
      {Format(8, true, 2), 9, 512, 0, kPract | kGuard | kRef},
      {Format(16, true, 3, true), 9, 512, 0, kPract | kGuard},
      // Metadata beyond the PI travels (the controller inserts the PI into it).
      {Format(64, false, 1), 9, 512, 64, kPract | kGuard | kRef},
      {Format(64, true, 3), 9, 576, 0, kPract | kGuard},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "ms " << c.ns.metadata_size << " extended "
                                    << c.ns.extended_lba << " pi " << int{c.ns.pi_type});
    const BlockFormat f = BlockFormatFor(c.ns, c.lba_shift, /*checks=*/true);
    EXPECT_EQ(f.data_per_lba, c.data_per_lba);
    EXPECT_EQ(f.meta_per_lba, c.meta_per_lba);
    EXPECT_EQ(f.prinfo, c.prinfo);
    // Without checks (blocks never written), PRACT stays and PRCHK goes.
    EXPECT_EQ(BlockFormatFor(c.ns, c.lba_shift, false).prinfo, c.prinfo & kPract);
  }
}

TEST(PerfFormat, SlotsNeverStraddlePagesUnevenly) {
  const BlockFormat plain = BlockFormatFor(Format(0, false), 9, true);
  EXPECT_EQ(plain.SlotStride(8), 4096u);
  EXPECT_EQ(plain.SlotStride(1), 512u);
  const BlockFormat ext = BlockFormatFor(Format(8, true), 9, true);
  EXPECT_EQ(ext.DataBytes(8), 4160u);
  EXPECT_EQ(ext.SlotStride(8), 8192u);  // two pages: PRP1 + PRP2, no list
  EXPECT_EQ(ext.SlotStride(1), 4096u);
}

TEST(PerfFormat, ApplyFillsPrinfoReferenceTagAndMptr) {
  Sqe sqe{};
  sqe.cdw12 = 7;
  BlockFormatFor(Format(64, false, 1), 9, true).Apply(sqe, 0x1234'5678'9abcull, 0x10000);
  EXPECT_EQ(sqe.mptr, 0x10000u);
  EXPECT_EQ(sqe.cdw12, 7u | (uint32_t{kPract | kGuard | kRef} << 26));
  EXPECT_EQ(sqe.cdw14, 0x5678'9abcu);
  EXPECT_EQ(sqe.cdw3, 0u);  // 16b Guard: CDW3 stays reserved

  Sqe wide{};
  BlockFormatFor(Format(16, false, 1, true), 9, true).Apply(wide, 0x1234'5678'9abcull, 0x10000);
  EXPECT_EQ(wide.mptr, 0u);  // PI-only metadata: no buffer
  EXPECT_EQ(wide.cdw14, 0x5678'9abcu);
  EXPECT_EQ(wide.cdw3, 0x1234u);  // 64b Guard: ILBRT bits 47:32
}

// A short in-process run per format: every command completes successfully (RAM namespace, the
// prefill writes the range first, so reads of protected namespaces check the PI it generated).
class PerfFormatRun
    : public testing::TestWithParam<std::tuple<uint32_t, bool, uint8_t, bool, PerfPattern>> {};

TEST_P(PerfFormatRun, CompletesWithoutErrors) {
  const auto [ms, extended, pi_type, pi_64b, pattern] = GetParam();
  ControllerConfig c;
  c.mode = ProcessingMode::kNotify;
  c.namespaces[0] = Format(ms, extended, pi_type, pi_64b);
  c.namespaces[0].backend = BackendKind::kRam;
  c.namespaces[0].size_bytes = 4ull << 20;
  PerfOptions o;
  o.pattern = pattern;
  o.ios = 600;
  o.queue_depth = 8;
  o.copy_limit = false;
  o.progress = false;
  auto r = RunPerf(c, o, nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ios, 600u);
  EXPECT_EQ(r->errors, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, PerfFormatRun,
    testing::Values(std::make_tuple(8u, false, uint8_t{0}, false, PerfPattern::kRandRead),
                    std::make_tuple(8u, true, uint8_t{0}, false, PerfPattern::kRandRw),
                    std::make_tuple(64u, false, uint8_t{0}, false, PerfPattern::kRandWrite),
                    std::make_tuple(8u, false, uint8_t{1}, false, PerfPattern::kRandRw),
                    std::make_tuple(64u, true, uint8_t{2}, false, PerfPattern::kRandRead),
                    std::make_tuple(16u, false, uint8_t{1}, true, PerfPattern::kRandRw),
                    std::make_tuple(16u, true, uint8_t{3}, true, PerfPattern::kRandRead)),
    [](const auto& info) {
      const auto& p = info.param;
      return "ms" + std::to_string(std::get<0>(p)) + (std::get<1>(p) ? "_extended" : "_separate") +
             "_pi" + std::to_string(std::get<2>(p)) + (std::get<3>(p) ? "_64b" : "") + "_pattern" +
             std::to_string(static_cast<int>(std::get<4>(p)));
    });

}  // namespace
}  // namespace nvemu::app
