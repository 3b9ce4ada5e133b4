#include "app/perf_tcp.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "app/perf_format.h"
#include "app/perf_tcp_job.h"
#include "nvm/pi.h"
#include "spec/registers.h"

namespace nvemu::app {
namespace {

constexpr uint32_t kPrefillChunk = 128 * 1024;
constexpr uint32_t kPrefillDepth = 16;
constexpr auto kPrefillWait = std::chrono::milliseconds(100);

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Writes [0, range) once, `chunk` LBA data bytes per command, so that reads return real data (and,
// on a protected namespace, PI that the controller generated: PRACT, perf_format.h).
Result<void> Prefill(host::TcpQueue& q, uint32_t nsid, const BlockFormat& format, uint64_t range,
                     uint32_t chunk) {
  const uint32_t lba_shift = format.lba_shift;
  const uint32_t depth = std::min<uint32_t>(kPrefillDepth, q.entries() - 1u);
  const size_t slot_bytes = static_cast<size_t>(format.DataBytes(chunk >> lba_shift));
  std::vector<uint8_t> buf(size_t{depth} * slot_bytes);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  std::vector<uint16_t> slot_of_cid(q.entries(), 0);
  std::vector<uint16_t> free_slots;
  for (uint32_t s = 0; s < depth; ++s) free_slots.push_back(static_cast<uint16_t>(s));
  uint64_t next = 0, errors = 0;
  while (next < range || q.outstanding() != 0) {
    while (next < range && !free_slots.empty()) {
      const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(chunk, range - next));
      const uint16_t slot = free_slots.back();
      Sqe sqe{};
      sqe.opc = 0x01;
      sqe.nsid = nsid;
      const uint64_t slba = next >> lba_shift;
      sqe.cdw10 = static_cast<uint32_t>(slba);
      sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
      sqe.cdw12 = (len >> lba_shift) - 1;
      format.Apply(sqe, slba, /*meta_addr=*/0);
      const size_t bytes = static_cast<size_t>(format.DataBytes(len >> lba_shift));
      auto cid = q.Submit(sqe, {buf.data() + size_t{slot} * slot_bytes, bytes}, {}, false);
      if (!cid.ok()) return Error{"prefill: " + cid.error().message};
      free_slots.pop_back();
      slot_of_cid[*cid] = slot;
      next += len;
    }
    auto polled = q.Poll(kPrefillWait);
    if (!polled.ok()) return Error{"prefill: " + polled.error().message};
    q.Reap([&](const Cqe& c) {
      free_slots.push_back(slot_of_cid[c.cid]);
      if (c.status_field() != 0) ++errors;
    });
  }
  if (errors != 0) return Error{fmt::format("prefill: {} writes failed", errors)};
  return {};
}

// Reads block `block` (of `block_size` LBA data bytes) once; returns its completion status field.
Result<uint16_t> ReadOne(host::TcpQueue& q, uint32_t nsid, const BlockFormat& format,
                         uint64_t block, uint32_t block_size) {
  const uint32_t nlb = block_size >> format.lba_shift;
  std::vector<uint8_t> buf(static_cast<size_t>(format.DataBytes(nlb)));
  Sqe sqe{};
  sqe.opc = 0x02;
  sqe.nsid = nsid;
  const uint64_t slba = block * nlb;
  sqe.cdw10 = static_cast<uint32_t>(slba);
  sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
  sqe.cdw12 = nlb - 1;
  format.Apply(sqe, slba, /*meta_addr=*/0);
  auto cid = q.Submit(sqe, {}, {buf.data(), buf.size()}, true);
  if (!cid.ok()) return Error{"PI probe: " + cid.error().message};
  std::optional<uint16_t> status;
  while (!status) {
    auto polled = q.Poll(kPrefillWait);
    if (!polled.ok()) return Error{"PI probe: " + polled.error().message};
    q.Reap([&](const Cqe& c) { status = c.status_field(); });
  }
  return *status;
}

// NVM Command Set 1.0, Figure 101: End-to-end Guard / Application Tag / Reference Tag Check Error
// (Media and Data Integrity Errors, 82h..84h).
bool IsEndToEndError(uint16_t status_field) {
  const uint16_t sct = (status_field >> 8) & 0x7, sc = status_field & 0xff;
  return sct == 2 && sc >= 0x82 && sc <= 0x84;
}

struct Window {
  uint64_t start = 0;
  uint64_t end = UINT64_MAX;
  bool timed = true;
};

void DriveQueues(const std::vector<TcpQueueJob*>& jobs, const Window& w) {
  for (;;) {
    uint64_t now = NowNs();
    if (w.timed && now >= w.end) {
      for (TcpQueueJob* j : jobs) j->StopSubmitting();
    }
    const bool record = now >= w.start && now < w.end;
    for (TcpQueueJob* j : jobs) j->PollAndReap(now, record);
    now = NowNs();
    bool done = true;
    for (TcpQueueJob* j : jobs) {
      j->Submit(now);
      done &= j->Done();
    }
    if (done) return;
  }
}

void PrintProgress(std::ostream& out, double t, uint64_t ios, double dt, uint64_t block) {
  const double iops = dt > 0 ? ios / dt : 0;
  out << fmt::format("\r[{:6.1f} s] {:12.0f} IOPS {:10.1f} MiB/s   ", t, iops,
                     iops * block / (1024.0 * 1024.0))
      << std::flush;
}

}  // namespace

Result<void> ValidateTcpPerfOptions(const PerfOptions& o) {
  if (auto v = ValidatePerfOptions(o); !v.ok()) return v;
  const PerfOptions d;
  const char* name = o.interrupts                       ? "--irq"
                     : o.wrr                            ? "--arb wrr"
                     : o.weights != d.weights           ? "--weights"
                     : o.burst != d.burst               ? "--burst"
                     : !o.qprio.empty()                 ? "--qprio"
                     : o.coalesce_thr != d.coalesce_thr ? "--coalesce"
                                                        : nullptr;
  if (name != nullptr) {
    return Error{fmt::format(
        "{} configures the in-process device's engine; it does not apply with --tcp", name)};
  }
  if (o.queue_depth > 0xfffe) return Error{"--qd must be below 65535"};
  return {};
}

Result<PerfResult> RunPerfTcp(const host::TcpDriverOptions& target, const PerfOptions& o,
                              std::ostream* progress) {
  if (auto v = ValidateTcpPerfOptions(o); !v.ok()) return v.error();
  PerfResult res;
  res.options = o;
  const bool v6 = target.address.find(':') != std::string::npos;
  res.target = fmt::format("tcp {}{}{}:{} {}", v6 ? "[" : "", target.address, v6 ? "]" : "",
                           target.port, target.subnqn);
  res.copy_limit_note = "not applicable (NVMe/TCP target)";

  // 1. The association: admin queue, CC.EN, Identify.
  auto drv_or = host::TcpDriver::ConnectAndEnable(target);
  if (!drv_or.ok()) {
    return Error{fmt::format("NVMe/TCP target {} port {}, subsystem {}: {}", target.address,
                             target.port, target.subnqn, drv_or.error().message)};
  }
  host::TcpDriver& drv = **drv_or;
  auto ctrl = drv.IdentifyController();
  if (!ctrl.ok()) return ctrl.error();
  if (o.nsid > ctrl->nn) {
    return Error{fmt::format("--namespace {}: the controller has NN = {}", o.nsid, ctrl->nn)};
  }
  auto id = drv.IdentifyNamespace(o.nsid);
  if (!id.ok()) return id.error();
  if (id->nsze == 0) return Error{fmt::format("--namespace {} is not active", o.nsid)};
  const uint32_t lba_shift = id->lbaf[id->flbas & 0xf].ds;
  res.lba_size = 1u << lba_shift;
  if (o.block_size % res.lba_size != 0) {
    return Error{
        fmt::format("--bs {} is not a multiple of the LBA size {}", o.block_size, res.lba_size)};
  }
  if ((o.block_size >> lba_shift) > kMaxNlb) {
    return Error{fmt::format("--bs {} is more than {} LBAs of {} bytes (NLB is 16 bits)",
                             o.block_size, kMaxNlb, res.lba_size)};
  }
  const NamespaceFormat ns_format = FormatOf(*id);  // as Identify Namespace reports it
  const bool prefill = o.prefill && PatternReads(o.pattern);
  BlockFormat format = BlockFormatFor(ns_format, prefill);
  res.format = DescribeFormat(ns_format, format);
  if (format.meta_per_lba != 0) {
    // NVMe over Fabrics 1.1, 2.1: metadata travels only as part of extended LBAs (no MPTR).
    return Error{fmt::format(
        "--namespace {} keeps {}-byte metadata apart from the data (FLBAS bit 4 clear) and "
        "commands would have to carry it: NVMe/TCP carries metadata only in extended LBAs{}",
        o.nsid, ns_format.metadata_size,
        ns_format.pi_type != 0 ? "" : " (or strips PI-only metadata with PRACT)")};
  }
  const uint64_t wire_block = format.DataBytes(o.block_size >> lba_shift);
  auto cap = drv.PropertyGet(reg::kCap, true);
  if (!cap.ok()) return cap.error();
  const reg::Cap capv{cap.value()};
  const uint64_t mqes = capv.mqes();
  if (o.queue_depth > mqes) {
    return Error{fmt::format("--qd {} needs more queue entries than the target's MQES allows ({})",
                             o.queue_depth, mqes + 1)};
  }
  uint64_t max_transfer = UINT64_MAX;
  if (ctrl->mdts != 0) max_transfer = (uint64_t{4096} << capv.mpsmin()) << ctrl->mdts;
  if (wire_block > max_transfer) {
    return Error{
        fmt::format("--bs {} ({} bytes with metadata) exceeds the target's MDTS ({} bytes)",
                    o.block_size, wire_block, max_transfer)};
  }
  const uint64_t ns_bytes = id->nsze << lba_shift;
  res.range_bytes = o.size != 0 ? std::min(o.size, ns_bytes) : ns_bytes;
  res.range_bytes -= res.range_bytes % o.block_size;
  if (res.range_bytes == 0) return Error{"the range is smaller than one block"};

  // 2. I/O queues: one connection each.
  auto granted = drv.SetNumberOfQueues(static_cast<uint16_t>(o.queues));
  if (!granted.ok()) return granted.error();
  const uint32_t nsqa = (granted.value() & 0xffff) + 1u;
  const uint32_t ncqa = (granted.value() >> 16) + 1u;
  if (std::min(nsqa, ncqa) < o.queues) {
    return Error{fmt::format("--queues {}: the target grants {} I/O queue(s)", o.queues,
                             std::min(nsqa, ncqa))};
  }
  const uint16_t entries = static_cast<uint16_t>(o.queue_depth + 1);
  std::vector<host::TcpQueue*> queues;
  for (uint32_t i = 0; i < o.queues; ++i) {
    const uint16_t qid = static_cast<uint16_t>(i + 1);
    auto q = drv.ConnectIoQueue(qid, std::max<uint16_t>(entries, 2));
    if (!q.ok()) return Error{fmt::format("I/O queue {}: {}", qid, q.error().message)};
    queues.push_back(*q);
    res.queues.push_back(QueueResult{qid, 0, {}});
  }

  // 3. Prefill what will be read.
  if (prefill) {
    const uint64_t t = NowNs();
    // Whole --bs blocks per write, at most kPrefillChunk and MDTS on the wire.
    const uint64_t blocks_fit = std::min<uint64_t>(kPrefillChunk, max_transfer) / wire_block;
    const uint32_t chunk = static_cast<uint32_t>(std::max<uint64_t>(blocks_fit, 1) * o.block_size);
    if (auto r = Prefill(*queues[0], o.nsid, format, res.range_bytes, chunk); !r.ok()) {
      return r.error();
    }
    res.prefill_s = (NowNs() - t) / 1e9;
    // A target may not keep what was written (a null backend: its blocks read back as zeros,
    // whose PI fails the Reference Tag check): read one prefilled block with the checks, and
    // drop them when that fails with an end-to-end error.
    if (format.prinfo != (format.prinfo & kPrinfoPract)) {
      auto st = ReadOne(*queues[0], o.nsid, format, res.range_bytes / o.block_size > 1 ? 1 : 0,
                        o.block_size);
      if (!st.ok()) return st.error();
      if (IsEndToEndError(*st)) {
        format = BlockFormatFor(ns_format, /*checks=*/false);
        res.format = DescribeFormat(ns_format, format) +
                     "; PRCHK off: a block read back after the prefill failed its PI check";
      }
    }
  }

  // 4. The load.
  std::vector<std::unique_ptr<TcpQueueJob>> jobs;
  const uint64_t range_blocks = res.range_bytes / o.block_size;
  for (uint32_t i = 0; i < o.queues; ++i) {
    JobSpec spec;
    spec.format = format;
    spec.pattern = o.pattern;
    spec.read_percent = o.read_percent;
    spec.nsid = o.nsid;
    spec.lba_shift = lba_shift;
    spec.block = o.block_size;
    spec.queue_depth = o.queue_depth;
    spec.range_blocks = range_blocks;
    spec.first_block = range_blocks * i / o.queues;
    spec.ios = o.ios;
    spec.seed = o.seed + i;
    jobs.push_back(std::make_unique<TcpQueueJob>(*queues[i], static_cast<uint16_t>(i + 1), spec));
  }
  Window w;
  const uint64_t t0 = NowNs();
  w.timed = o.ios == 0;
  w.start = w.timed ? t0 + static_cast<uint64_t>(o.warmup_s * 1e9) : t0;
  w.end = w.timed ? w.start + static_cast<uint64_t>(o.time_s * 1e9) : UINT64_MAX;
  std::vector<std::vector<TcpQueueJob*>> per_thread(o.threads);
  for (uint32_t i = 0; i < o.queues; ++i) per_thread[i % o.threads].push_back(jobs[i].get());
  std::atomic<uint32_t> running{o.threads};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < per_thread.size(); ++t) {
    threads.emplace_back([&, t] {
      DriveQueues(per_thread[t], w);
      running.fetch_sub(1);
    });
  }
  auto completed = [&] {
    uint64_t n = 0;
    for (auto& j : jobs) n += j->completed();
    return n;
  };
  uint64_t last_t = NowNs(), last_n = completed();
  while (running.load() != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const uint64_t now = NowNs();
    if (progress != nullptr && now >= w.start && now - last_t >= 1'000'000'000) {
      const uint64_t n = completed();
      PrintProgress(*progress, (now - w.start) / 1e9, n - last_n, (now - last_t) / 1e9,
                    o.block_size);
      last_t = now;
      last_n = n;
    }
  }
  for (auto& t : threads) t.join();
  const uint64_t t_end = w.timed ? w.end : NowNs();
  if (progress != nullptr) *progress << "\r" << std::string(60, ' ') << "\r" << std::flush;
  for (auto& j : jobs) {
    if (j->failed()) return Error{j->error()};
  }
  res.elapsed_s = (t_end - w.start) / 1e9;
  for (uint32_t i = 0; i < o.queues; ++i) {
    const JobStats& s = jobs[i]->stats();
    res.queues[i].stats = s;
    res.latency.Merge(s.latency);
    res.ios += s.ios;
    res.reads += s.reads;
    res.writes += s.writes;
    res.errors += s.errors;
    res.bytes += s.bytes;
  }
  // 5. Tear down as a host does: close the I/O connections, then a normal shutdown.
  for (uint32_t i = 0; i < o.queues; ++i) drv.CloseIoQueue(static_cast<uint16_t>(i + 1));
  if (auto r = drv.Shutdown(); !r.ok()) return Error{"shutdown: " + r.error().message};
  return res;
}

}  // namespace nvemu::app
