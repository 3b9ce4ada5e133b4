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

NamespaceConfig Config(uint32_t ms, bool extended, uint8_t pi_type = 0, bool pi_64b = false) {
  NamespaceConfig ns;
  ns.metadata_size = ms;
  ns.extended_lba = extended;
  ns.pi_type = pi_type;
  ns.pi_64b_guard = pi_64b;
  return ns;
}

NamespaceFormat Format(uint32_t ms, bool extended, uint8_t pi_type = 0, uint32_t lba_shift = 9) {
  return NamespaceFormat{
      .lba_shift = lba_shift, .metadata_size = ms, .extended_lba = extended, .pi_type = pi_type};
}

TEST(PerfFormat, BuffersFollowTheFormat) {
  struct Case {
    NamespaceFormat ns;
    uint32_t data_per_lba, meta_per_lba;
    uint8_t prinfo;
  } cases[] = {
      {Format(0, false), 512, 0, 0},
      {Format(8, false), 512, 8, 0},
      {Format(8, true), 520, 0, 0},
      {Format(64, false, 0, 12), 4096, 64, 0},
      // PRACT = 1 with PI-only metadata: nothing on the wire.
      {Format(8, false, 1), 512, 0, kPract | kGuard | kRef},
      {Format(8, true, 2), 512, 0, kPract | kGuard | kRef},
      {Format(16, true, 3), 512, 0, kPract | kGuard},  // 64b Guard: 16 bytes of PI
      {Format(8, true, 1, 12), 4096, 0, kPract | kGuard | kRef},
      // Metadata beyond the PI travels (the controller inserts the PI into it).
      {Format(64, false, 1), 512, 64, kPract | kGuard | kRef},
      {Format(64, true, 3), 576, 0, kPract | kGuard},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "ms " << c.ns.metadata_size << " extended "
                                    << c.ns.extended_lba << " pi " << int{c.ns.pi_type});
    const BlockFormat f = BlockFormatFor(c.ns, /*checks=*/true);
    EXPECT_EQ(f.data_per_lba, c.data_per_lba);
    EXPECT_EQ(f.meta_per_lba, c.meta_per_lba);
    EXPECT_EQ(f.prinfo, c.prinfo);
    // Without checks (blocks never written), PRACT stays and PRCHK goes.
    EXPECT_EQ(BlockFormatFor(c.ns, false).prinfo, c.prinfo & kPract);
    // The sizing bound covers it.
    const BlockFormat big = LargestBlockFormat();
    for (uint64_t bytes : {512ull, 4096ull, 16384ull, 131072ull}) {
      const uint64_t nlb = bytes >> c.ns.lba_shift;
      if (nlb == 0) continue;
      EXPECT_LE(f.SlotStride(nlb), big.SlotStride(bytes >> 9));
      EXPECT_LE(f.MetaBytes(nlb), big.MetaBytes(bytes >> 9));
    }
  }
  EXPECT_EQ(FormatOf(Config(16, true, 1, true)).pi_64b(), true);
  EXPECT_EQ(FormatOf(Config(8, true, 1)).pi_64b(), false);
}

TEST(PerfFormat, SlotsNeverStraddlePagesUnevenly) {
  const BlockFormat plain = BlockFormatFor(Format(0, false), true);
  EXPECT_EQ(plain.SlotStride(8), 4096u);
  EXPECT_EQ(plain.SlotStride(1), 512u);
  const BlockFormat ext = BlockFormatFor(Format(8, true), true);
  EXPECT_EQ(ext.DataBytes(8), 4160u);
  EXPECT_EQ(ext.SlotStride(8), 8192u);  // two pages: PRP1 + PRP2, no list
  EXPECT_EQ(ext.SlotStride(1), 4096u);
  EXPECT_EQ(ext.DataBytes(32), 16640u);
  EXPECT_EQ(ext.SlotStride(32), 20480u);  // a PRP list: 5 pages, page-aligned slots
}

TEST(PerfFormat, ApplyFillsPrinfoReferenceTagAndMptr) {
  Sqe sqe{};
  sqe.cdw12 = 7;
  BlockFormatFor(Format(64, false, 1), true).Apply(sqe, 0x1234'5678'9abcull, 0x10000);
  EXPECT_EQ(sqe.mptr, 0x10000u);
  EXPECT_EQ(sqe.cdw12, 7u | (uint32_t{kPract | kGuard | kRef} << 26));
  EXPECT_EQ(sqe.cdw14, 0x5678'9abcu);
  EXPECT_EQ(sqe.cdw3, 0u);  // 16b Guard: CDW3 stays reserved

  Sqe wide{};
  BlockFormatFor(Format(16, false, 1), true).Apply(wide, 0x1234'5678'9abcull, 0x10000);
  EXPECT_EQ(wide.mptr, 0u);  // PI-only metadata: no buffer
  EXPECT_EQ(wide.cdw14, 0x5678'9abcu);
  EXPECT_EQ(wide.cdw3, 0x1234u);  // 64b Guard: ILBRT bits 47:32
}

// A short in-process run per format: every command completes successfully (RAM namespace, the
// prefill writes the range first, so reads of protected namespaces check the PI it generated).
class PerfFormatRun
    : public testing::TestWithParam<std::tuple<uint32_t, bool, uint8_t, bool, PerfPattern>> {};

ControllerConfig Device(const NamespaceConfig& ns, BackendKind backend, uint32_t lba_size = 512) {
  ControllerConfig c;
  c.mode = ProcessingMode::kNotify;
  c.namespaces[0] = ns;
  c.namespaces[0].backend = backend;
  c.namespaces[0].lba_size = lba_size;
  c.namespaces[0].size_bytes = 4ull << 20;
  return c;
}

PerfOptions ShortRun(PerfPattern pattern) {
  PerfOptions o;
  o.pattern = pattern;
  o.ios = 600;
  o.queue_depth = 8;
  o.copy_limit = false;
  o.progress = false;
  return o;
}

TEST_P(PerfFormatRun, CompletesWithoutErrors) {
  const auto [ms, extended, pi_type, pi_64b, pattern] = GetParam();
  auto r = RunPerf(Device(Config(ms, extended, pi_type, pi_64b), BackendKind::kRam),
                   ShortRun(pattern), nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->ios, 600u);
  EXPECT_EQ(r->errors, 0u);
  // Prefilled reads of a protected namespace check the PI the prefill generated.
  if (pi_type != 0 && pattern != PerfPattern::kRandWrite) {
    EXPECT_NE(r->format.find("PRCHK guard"), std::string::npos) << r->format;
  }
}

// The null backend keeps no metadata, and nothing prefills it: no PI to check, so reads of a
// protected namespace must not ask for checks.
TEST(PerfFormatRuns, NullBackendProtectedReadsCheckNothing) {
  for (uint8_t pi_type : {1, 3}) {
    auto r = RunPerf(Device(Config(8, false, pi_type), BackendKind::kNull),
                     ShortRun(PerfPattern::kRandRead), nullptr, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->errors, 0u) << "pi type " << int{pi_type};
    EXPECT_EQ(r->format.find("PRCHK"), std::string::npos) << r->format;
  }
}

// Larger commands: a PRP list per command (16 KiB of extended LBAs is five pages), and 4 KiB LBAs.
TEST(PerfFormatRuns, PrpListCommandsAnd4kLbas) {
  PerfOptions o = ShortRun(PerfPattern::kRandRw);
  o.block_size = 16384;
  o.queues = 2;
  for (uint32_t lba : {512u, 4096u}) {
    auto r = RunPerf(Device(Config(8, true, 1), BackendKind::kRam, lba), o, nullptr, nullptr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->ios, 1200u) << "lba " << lba;
    EXPECT_EQ(r->errors, 0u) << "lba " << lba;
  }
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
