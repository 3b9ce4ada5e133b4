#include "app/perf_report.h"

#include <fmt/format.h>

namespace nvemu::app {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

const char* ModeName(ProcessingMode m) {
  switch (m) {
    case ProcessingMode::kPoll:
      return "poll";
    case ProcessingMode::kNotify:
      return "notify";
    case ProcessingMode::kTimer:
      return "timer";
  }
  return "?";
}

double Us(uint64_t ns) { return ns / 1000.0; }

std::string LatencyRow(const std::string& label, double iops, double mibs,
                       const LatencyHistogram& h) {
  return fmt::format("{:<12} {:>12.0f} {:>10.1f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f}\n",
                     label, iops, mibs, h.mean() / 1000.0, Us(h.Percentile(0.5)),
                     Us(h.Percentile(0.99)), Us(h.Percentile(0.999)), Us(h.max()));
}

nlohmann::ordered_json LatencyJson(const LatencyHistogram& h) {
  nlohmann::ordered_json j;
  j["mean_ns"] = h.mean();
  j["min_ns"] = h.min();
  j["p50_ns"] = h.Percentile(0.5);
  j["p99_ns"] = h.Percentile(0.99);
  j["p99_9_ns"] = h.Percentile(0.999);
  j["max_ns"] = h.max();
  return j;
}

}  // namespace

std::string FormatPerfText(const PerfResult& r) {
  const PerfOptions& o = r.options;
  std::string s;
  s += fmt::format("nvemu perf: {} bs={} qd={} queues={} threads={}", PatternName(o.pattern),
                   o.block_size, o.queue_depth, o.queues, o.threads);
  if (o.pattern == PerfPattern::kRandRw) s += fmt::format(" mix={}%read", o.read_percent);
  s += o.ios ? fmt::format(" ios={}/queue", o.ios)
             : fmt::format(" time={:.1f}s warmup={:.1f}s", o.time_s, o.warmup_s);
  if (!r.target.empty()) {
    s += fmt::format("\ntarget: {} namespace {} ({:.0f} MiB used, LBA {}{}{})", r.target, o.nsid,
                     r.range_bytes / kMiB, r.lba_size, r.format.empty() ? "" : ", ", r.format);
  } else {
    s += fmt::format(
        "\ndevice: mode={} io_reactors={} backend={} namespace {} ({:.0f} MiB used, LBA {}{}{})",
        ModeName(r.mode), r.io_reactors, r.backend, o.nsid, r.range_bytes / kMiB, r.lba_size,
        r.format.empty() ? "" : ", ", r.format);
  }
  if (r.target.empty() && r.mode == ProcessingMode::kTimer) {
    s += fmt::format(" tick={}us entries_per_tick={}", r.timer_period_us, r.entries_per_tick);
  }
  if (o.wrr) {
    s += fmt::format(" arbitration=wrr weights={},{},{} burst={}", o.weights[0], o.weights[1],
                     o.weights[2], o.burst ? std::to_string(o.burst) : "unlimited");
  }
  if (r.prefill_s > 0) s += fmt::format("\nprefill: {:.2f} s", r.prefill_s);
  s += fmt::format("\n\n{:<12} {:>12} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "", "IOPS", "MiB/s",
                   "mean us", "p50 us", "p99 us", "p99.9 us", "max us");
  s += LatencyRow("total", r.iops(), r.bytes_per_s() / kMiB, r.latency);
  if (r.queues.size() > 1 || o.wrr) {
    for (const QueueResult& q : r.queues) {
      const double iops = r.elapsed_s > 0 ? q.stats.ios / r.elapsed_s : 0;
      std::string label = fmt::format("q{}", q.qid);
      if (o.wrr) label += fmt::format(" {}", QueuePriorityName(q.qprio));
      s += LatencyRow(label, iops, iops * o.block_size / kMiB, q.stats.latency);
    }
  }
  s += fmt::format("\ncompleted {} commands in {:.3f} s ({} reads, {} writes, {} errors)\n", r.ios,
                   r.elapsed_s, r.reads, r.writes, r.errors);
  if (r.copy_limit) {
    const CopyLimit& l = *r.copy_limit;
    s += fmt::format(
        "machine limit: {:.0f} {}-byte {} copies/s on one core ({:.1f} MiB/s, {:.0f} MiB buffer)\n",
        l.copies_per_s(), o.block_size, PatternRandom(o.pattern) ? "random" : "sequential",
        l.bytes_per_s(o.block_size) / kMiB, r.range_bytes / kMiB);
    s += fmt::format(
        "  (the faster of: look-ahead prefetch loop {:.0f}/s, plain memcpy loop {:.0f}/s)\n",
        l.look_ahead.copies_per_s(), l.plain.copies_per_s());
    if (r.ns_copy_limit) {
      const CopyLimit& n = *r.ns_copy_limit;
      s += fmt::format(
          "  over the namespace's own memory: {:.0f}/s (look-ahead {:.0f}/s, plain {:.0f}/s; {})\n",
          n.copies_per_s(), n.look_ahead.copies_per_s(), n.plain.copies_per_s(),
          r.ns_copy_limit_slices != 0
              ? fmt::format("{} slices between the load's stretches", r.ns_copy_limit_slices)
              : std::string("measured apart from the load"));
      s += fmt::format("achieved / limit: {:.3f} (namespace memory; own buffer: {:.3f})\n",
                       r.ratio_to_limit(), r.ratio_to_buffer_limit());
    } else {
      s += fmt::format("  over the namespace's own memory: {}\n", r.ns_copy_limit_note);
      s += fmt::format("achieved / limit: {:.3f}\n", r.ratio_to_limit());
    }
  } else {
    s += fmt::format("machine limit: {}\n", r.copy_limit_note);
  }
  for (const ReactorResult& e : r.reactors) {
    const double secs = r.elapsed_s > 0 ? r.elapsed_s : 1;
    s += fmt::format("engine {}: {:.0f} commands/s, {} idle polls, {} sleeps, {} CQ-full stalls",
                     e.name, e.entries / secs, e.idle_polls, e.sleeps, e.cq_full_stalls);
    if (r.mode == ProcessingMode::kTimer) {
      s += fmt::format(", {:.0f} ticks/s (nominal {:.0f}), max {} entries/tick, {} late ticks",
                       e.ticks / secs, 1e6 / r.timer_period_us, e.max_tick_entries, e.late_ticks);
    }
    if (o.interrupts) s += fmt::format(", {} interrupts", e.interrupts);
    s += "\n";
  }
  if (o.interrupts) {
    s += fmt::format("host: {} interrupts ({:.3f} per command)\n", r.host_interrupts,
                     r.ios ? static_cast<double>(r.host_interrupts) / r.ios : 0.0);
  }
  return s;
}

nlohmann::ordered_json PerfJson(const PerfResult& r) {
  const PerfOptions& o = r.options;
  nlohmann::ordered_json j;
  j["pattern"] = std::string(PatternName(o.pattern));
  j["block_size"] = o.block_size;
  j["queue_depth"] = o.queue_depth;
  j["queues"] = o.queues;
  j["threads"] = o.threads;
  if (o.pattern == PerfPattern::kRandRw) j["read_percent"] = o.read_percent;
  if (!r.target.empty()) {
    j["target"] = r.target;
  } else {
    j["mode"] = ModeName(r.mode);
    j["io_reactors"] = r.io_reactors;
    j["backend"] = r.backend;
  }
  j["namespace"] = o.nsid;
  j["range_bytes"] = r.range_bytes;
  j["lba_size"] = r.lba_size;
  if (!r.format.empty()) j["format"] = r.format;
  if (o.wrr) {
    j["arbitration"] = {{"mechanism", "wrr"}, {"weights", o.weights}, {"burst", o.burst}};
  }
  j["elapsed_s"] = r.elapsed_s;
  j["ios"] = r.ios;
  j["reads"] = r.reads;
  j["writes"] = r.writes;
  j["errors"] = r.errors;
  j["iops"] = r.iops();
  j["mib_per_s"] = r.bytes_per_s() / kMiB;
  j["latency"] = LatencyJson(r.latency);
  nlohmann::ordered_json qs = nlohmann::ordered_json::array();
  for (const QueueResult& q : r.queues) {
    nlohmann::ordered_json e;
    e["qid"] = q.qid;
    e["qprio"] = std::string(QueuePriorityName(q.qprio));
    e["ios"] = q.stats.ios;
    e["iops"] = r.elapsed_s > 0 ? q.stats.ios / r.elapsed_s : 0;
    e["errors"] = q.stats.errors;
    e["latency"] = LatencyJson(q.stats.latency);
    qs.push_back(e);
  }
  j["per_queue"] = qs;
  if (r.copy_limit) {
    j["copy_limit"] = {{"copies_per_s", r.copy_limit->copies_per_s()},
                       {"mib_per_s", r.copy_limit->bytes_per_s(o.block_size) / kMiB},
                       {"look_ahead_copies_per_s", r.copy_limit->look_ahead.copies_per_s()},
                       {"plain_copies_per_s", r.copy_limit->plain.copies_per_s()},
                       {"ratio", r.ratio_to_limit()},
                       {"ratio_basis", r.ns_copy_limit ? "namespace_memory" : "own_buffer"},
                       {"ratio_own_buffer", r.ratio_to_buffer_limit()}};
    if (r.ns_copy_limit) {
      j["copy_limit"]["namespace_memory"] = {
          {"copies_per_s", r.ns_copy_limit->copies_per_s()},
          {"look_ahead_copies_per_s", r.ns_copy_limit->look_ahead.copies_per_s()},
          {"plain_copies_per_s", r.ns_copy_limit->plain.copies_per_s()},
          {"slices", r.ns_copy_limit_slices}};
    } else {
      j["copy_limit"]["namespace_memory"] = {{"note", r.ns_copy_limit_note}};
    }
  } else {
    j["copy_limit"] = {{"note", r.copy_limit_note}};
  }
  nlohmann::ordered_json eng = nlohmann::ordered_json::array();
  for (const ReactorResult& e : r.reactors) {
    eng.push_back({{"reactor", e.name},
                   {"commands", e.entries},
                   {"idle_polls", e.idle_polls},
                   {"sleeps", e.sleeps},
                   {"ticks", e.ticks},
                   {"late_ticks", e.late_ticks},
                   {"max_tick_entries", e.max_tick_entries},
                   {"cq_full_stalls", e.cq_full_stalls},
                   {"interrupts", e.interrupts}});
  }
  j["engine"] = eng;
  if (o.interrupts) j["host_interrupts"] = r.host_interrupts;
  return j;
}

}  // namespace nvemu::app
