#include "app/perf_cli.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "app/cli_options.h"
#include "app/commands.h"
#include "app/perf_report.h"
#include "app/perf_run.h"
#include "app/perf_tcp.h"
#include "app/size_parse.h"
#include "app/tcp_host.h"

namespace nvemu::app {
namespace {

constexpr const char* kWorkload = "Workload";
constexpr const char* kEngine = "Arbitration and interrupts";

CLI::Validator PatternValidator() {
  return CLI::Validator(
      [](std::string& s) {
        auto r = ParsePattern(s);
        return r.ok() ? std::string() : r.error().message;
      },
      "PATTERN");
}

}  // namespace

void AddPerf(CLI::App& app, PerfArgs& a) {
  CLI::App* perf = app.add_subcommand(
      "perf",
      "Load generator (fio / spdk_nvme_perf style) against an in-process controller, or with "
      "--tcp against any NVMe/TCP target: IOPS, MiB/s, latency percentiles, per-queue breakdown, "
      "and (in-process) achieved / the machine's copy limit");
  perf->fallthrough();
  AddConfigOptions(*perf, a.overrides);
  PerfOptions& o = a.options;
  perf->add_option_function<std::string>(
          "-p,--pattern,--rw", [&o](const std::string& s) { o.pattern = ParsePattern(s).value(); },
          "read, write, randread, randwrite, randrw (default randread)")
      ->check(PatternValidator())
      ->group(kWorkload);
  perf->add_option("--mix", o.read_percent, "randrw: percentage of reads (default 50)")
      ->check(CLI::Range(0u, 100u))
      ->group(kWorkload);
  perf->add_option_function<std::string>(
          "--bs",
          [&o](const std::string& s) {
            o.block_size = static_cast<uint32_t>(ParseSize(s).value());
          },
          "bytes per command (default 4KiB; a multiple of the LBA size, at most MDTS)")
      ->check(SizeValidator())
      ->group(kWorkload);
  perf->add_option("--qd", o.queue_depth, "commands outstanding per queue (default 32)")
      ->check(CLI::Range(1u, 4095u))
      ->group(kWorkload);
  perf->add_option("--queues", o.queues, "I/O queue pairs (default 1)")
      ->check(CLI::Range(1u, 65535u))
      ->group(kWorkload);
  perf->add_option("--threads", o.threads,
                   "host threads driving the queues (default 1: one thread polls every queue)")
      ->check(CLI::Range(1u, 1024u))
      ->group(kWorkload);
  perf->add_option("-t,--time", o.time_s, "measured seconds (default 5)")->group(kWorkload);
  perf->add_option("--ios", o.ios, "commands per queue instead of --time")->group(kWorkload);
  perf->add_option("--warmup", o.warmup_s, "seconds run before measuring (default 0.5)")
      ->group(kWorkload);
  perf->add_option("-n,--namespace", o.nsid, "NSID (default 1)")
      ->check(CLI::Range(1u, 0xffffffffu))
      ->group(kWorkload);
  perf->add_option_function<std::string>(
          "--size", [&o](const std::string& s) { o.size = ParseSize(s).value(); },
          "bytes of the namespace used, from LBA 0 (default: all of it)")
      ->check(SizeValidator())
      ->group(kWorkload);
  perf->add_option_function<uint32_t>(
          "--reactors", [&a](uint32_t n) { a.overrides.io_reactors = n; },
          "I/O reactor threads of the device (same as --io-reactors)")
      ->check(CLI::Range(1u, 256u))
      ->group(kWorkload);
  perf->add_flag_callback(
          "--no-prefill", [&o] { o.prefill = false; },
          "do not write the range before a read workload (sparse RAM then reads zero pages)")
      ->group(kWorkload);
  perf->add_flag_callback(
          "--no-limit", [&o] { o.copy_limit = false; },
          "skip measuring the machine's copy limit (never measured with --tcp)")
      ->group(kWorkload);
  perf->add_option(
          "--limit-time", o.copy_limit_s,
          "seconds per copy-limit loop (plain and look-ahead: twice this; read patterns of a RAM "
          "namespace repeat both over the namespace's memory on the device's core; default 1)")
      ->group(kWorkload);
  perf->add_option("--limit-slices", o.limit_slices,
                   "the namespace-memory copy limit runs in this many slices interleaved with a "
                   "timed load of one host thread (the queues drain before each), so that limit "
                   "and load see the same moments of a noisy machine; 0: once, before the load "
                   "(default 10)")
      ->group(kWorkload);
  perf->add_option("--seed", o.seed, "random offsets seed (default 1)")->group(kWorkload);
  perf->add_flag("--json", o.json, "print one JSON document instead of the summary");
  perf->add_flag_callback(
      "--no-progress", [&o] { o.progress = false; },
      "no live progress line (it is shown only on a terminal anyway)");
  perf->add_flag("--irq", o.interrupts,
                 "MSI-X interrupts per queue (default: CQs without interrupts, completions polled)")
      ->group(kEngine);
  perf->add_option_function<std::string>(
          "--arb", [&o](const std::string& s) { o.wrr = s == "wrr"; },
          "arbitration: rr (round robin, default) or wrr (weighted round robin + urgent; CC.AMS=1)")
      ->check(CLI::IsMember({"rr", "wrr"}))
      ->group(kEngine);
  perf->add_option("--weights", o.weights,
                   "wrr weights high,medium,low in commands per round (1..256; default 1,1,1)")
      ->delimiter(',')
      ->expected(3)
      ->group(kEngine);
  perf->add_option("--burst", o.burst,
                   "arbitration burst: 1, 2, 4 ... 64 commands, or 0 = no limit (default)")
      ->group(kEngine);
  perf->add_option_function<std::vector<std::string>>(
          "--qprio",
          [&o](const std::vector<std::string>& v) {
            o.qprio.clear();
            for (const auto& s : v) o.qprio.push_back(ParseQueuePriority(s).value());
          },
          "SQ priorities cycled over the queues: urgent, high, medium, low (default urgent)")
      ->delimiter(',')
      ->check(CLI::IsMember({"urgent", "high", "medium", "low"}))
      ->group(kEngine);
  perf->add_option_function<std::vector<uint32_t>>(
          "--coalesce",
          [&o](const std::vector<uint32_t>& v) {
            o.coalesce_thr = static_cast<int32_t>(v[0]);
            o.coalesce_time = v[1];
          },
          "interrupt coalescing THR,TIME (feature 08h: THR+1 entries, TIME x 100 us)")
      ->delimiter(',')
      ->expected(2)
      ->group(kEngine);
  // Last: --tcp excludes the device options registered above (--irq, --arb, ... and --reactors).
  AddTcpHostOptions(*perf, a.tcp, {kEngine});
  perf->get_option("--tcp")->excludes(perf->get_option("--reactors"));
}

int PerfCommand(const PerfArgs& a, std::ostream& out, std::ostream& err) {
  const bool live = a.options.progress && !a.options.json && isatty(STDOUT_FILENO);
  Result<PerfResult> result = Error{""};
  if (auto c = CheckTcpOnlyOptions(a.tcp); !c.ok()) {
    err << "nvemu perf: " << c.error().message << "\n";
    return kExitConfig;
  }
  if (a.tcp.enabled()) {
    auto target = TcpDriverOptionsFor(a.tcp);
    if (auto v = ValidateTcpPerfOptions(a.options); target.ok() && !v.ok()) target = v.error();
    if (!target.ok()) {
      err << "nvemu perf: " << target.error().message << "\n";
      return kExitConfig;
    }
    result = RunPerfTcp(*target, a.options, live ? &out : nullptr);
  } else {
    auto config = BuildConfig(a.overrides);
    if (!config.ok()) {
      err << "nvemu perf: configuration error:\n" << config.error().message << "\n";
      return kExitConfig;
    }
    if (auto v = ValidatePerfOptions(a.options); !v.ok()) {
      err << "nvemu perf: " << v.error().message << "\n";
      return kExitConfig;
    }
    result = RunPerf(*config, a.options, live ? &out : nullptr);
  }
  if (!result.ok()) {
    err << "nvemu perf: FAILED: " << result.error().message << "\n";
    return kExitFailure;
  }
  if (a.options.json) {
    out << PerfJson(*result).dump(2) << "\n";
  } else {
    out << FormatPerfText(*result);
  }
  return result->errors == 0 ? kExitOk : kExitFailure;
}

}  // namespace nvemu::app
