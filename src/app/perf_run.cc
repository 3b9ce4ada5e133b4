#include "app/perf_run.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>

#include "app/perf_watch.h"
#include "nvemu/host/pcie_driver.h"
#include "nvm/namespace.h"
#include "pcie/pcie_device_impl.h"

namespace nvemu::app {
namespace {

using host::DmaBuffer;
using host::IoQueue;
using host::PcieDriver;

constexpr uint8_t kOpSetFeatures = 0x09;
constexpr uint8_t kFidArbitration = 0x01;
constexpr uint8_t kFidInterruptCoalescing = 0x08;
constexpr uint32_t kPrefillChunk = 128 * 1024;
constexpr uint32_t kPrefillDepth = 16;
// A run is stuck when no command completes for this long: during an --ios run, or while a timed
// run drains the commands outstanding at its time limit (microseconds, unless a slow backend has
// a deep queue of large commands). A timed run is also stuck once its drain has taken longer than
// max(kStuckAfterNs, the run itself): --time always bounds the run.
constexpr uint64_t kStuckAfterNs = 2'000'000'000;
// A host thread that found nothing to reap or submit for this long yields its core once (see
// DriveQueues).
constexpr uint64_t kHostYieldAfterNs = 1'000'000;
// Idle host spins (nothing to reap or submit) per clock read (DriveQueues).
constexpr uint32_t kClockEveryIdleSpins = 32;

uint64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SleepUntil(uint64_t ns) {
  const uint64_t now = NowNs();
  if (ns > now) std::this_thread::sleep_for(std::chrono::nanoseconds(ns - now));
}

uint64_t PageAlign(uint64_t v) { return (v + 4095) / 4096 * 4096; }

// LBAs per prefill write: at most kPrefillChunk bytes in the data buffer (extended LBAs carry
// their metadata there too), so that a write within MDTS for plain LBAs stays within it.
uint32_t PrefillLbas(const BlockFormat& f) { return kPrefillChunk / f.data_per_lba; }

// DMA arena: rings, data and metadata slots, per-CID PRP list pages, the prefill buffers, slack.
size_t DmaBytesFor(const PerfOptions& o, const BlockFormat& f, uint32_t entries) {
  const uint64_t nlb = o.block_size >> f.lba_shift;
  const uint64_t data = f.DataBytes(nlb);
  uint64_t per_queue = PageAlign(uint64_t{entries} * 64) + PageAlign(uint64_t{entries} * 16) +
                       uint64_t{o.queue_depth} * PageAlign(data) +
                       PageAlign(o.queue_depth * f.MetaBytes(nlb));
  if (data > 2 * 4096) per_queue += uint64_t{entries} * 4096;
  const uint64_t prefill_nlb = PrefillLbas(f);
  uint64_t prefill = uint64_t{kPrefillDepth} * (f.SlotStride(prefill_nlb) + 4096) +
                     PageAlign(kPrefillDepth * f.MetaBytes(prefill_nlb));
  return static_cast<size_t>(per_queue * o.queues + prefill + (16ull << 20));
}

const char* BackendName(BackendKind k) {
  switch (k) {
    case BackendKind::kRam:
      return "ram";
    case BackendKind::kFile:
      return "file";
    case BackendKind::kNull:
      return "null";
  }
  return "?";
}

// Set Features (NVMe Base 2.0, 5.27); in-process fallback through the Controller when the
// controller does not implement the feature yet.
Result<void> SetFeature(PcieDriver& drv, pcie::PcieDeviceImpl* impl, uint8_t fid, uint32_t dw11) {
  Sqe sqe{};
  sqe.opc = kOpSetFeatures;
  sqe.cdw10 = fid;
  sqe.cdw11 = dw11;
  auto cqe = drv.Admin(sqe);
  if (cqe.ok() && cqe->status_field() == 0) return {};
  if (impl == nullptr) return Error{fmt::format("Set Features {:#04x} failed", fid)};
  spdlog::warn("perf: Set Features {:#04x} not accepted; setting it in-process", fid);
  if (fid == kFidArbitration) impl->controller().set_arbitration(dw11);
  if (fid == kFidInterruptCoalescing) impl->controller().set_interrupt_coalescing(dw11);
  return {};
}

// Writes [0, range) once so that reads copy real memory (a sparse RAM namespace reads holes as
// zeroes without touching memory).
// Writes carry the namespace's metadata as its format needs (perf_format.h).
Result<void> Prefill(PcieDriver& drv, IoQueue& q, uint32_t nsid, const BlockFormat& f,
                     uint64_t range) {
  const uint32_t lba_shift = f.lba_shift;
  const uint32_t chunk_lbas = PrefillLbas(f);
  const uint64_t stride = f.SlotStride(chunk_lbas);
  const uint64_t meta_stride = f.MetaBytes(chunk_lbas);
  auto buf = drv.dma().Alloc(size_t{kPrefillDepth} * stride);
  if (!buf.ok()) return buf.error();
  DmaBuffer meta;
  if (const uint64_t m = meta_stride; m != 0) {
    auto mb = drv.dma().Alloc(size_t{kPrefillDepth} * m);
    if (!mb.ok()) return mb.error();
    meta = *mb;
    std::memset(meta.ptr, 0, meta.size);
  }
  for (size_t i = 0; i < buf->size; ++i) buf->ptr[i] = static_cast<uint8_t>(i * 131 + 7);
  std::vector<uint16_t> slot_of_cid(q.entries(), 0);
  std::vector<uint16_t> free_slots;
  for (uint32_t s = 0; s < std::min(kPrefillDepth, q.entries() - 1); ++s) free_slots.push_back(s);
  uint64_t next = 0, errors = 0;
  while (next < range || q.outstanding() != 0) {
    while (next < range && !free_slots.empty()) {
      const uint32_t len = static_cast<uint32_t>(
          std::min<uint64_t>(uint64_t{chunk_lbas} << lba_shift, range - next));
      const uint16_t slot = free_slots.back();
      Sqe sqe{};
      sqe.opc = 0x01;
      sqe.nsid = nsid;
      const uint64_t slba = next >> lba_shift;
      sqe.cdw10 = static_cast<uint32_t>(slba);
      sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
      const uint32_t nlb = len >> lba_shift;
      sqe.cdw12 = nlb - 1;
      f.Apply(sqe, slba, meta.addr + slot * meta_stride);
      auto cid = q.Submit(sqe, &*buf, f.DataBytes(nlb), slot * stride);
      if (!cid.ok()) return cid.error();
      free_slots.pop_back();
      slot_of_cid[*cid] = slot;
      next += len;
    }
    q.Reap([&](const Cqe& c) {
      free_slots.push_back(slot_of_cid[c.cid]);
      if (c.status_field() != 0) ++errors;
    });
  }
  drv.dma().Free(*buf);
  if (meta) drv.dma().Free(meta);
  if (errors != 0) return Error{fmt::format("prefill: {} writes failed", errors)};
  return {};
}

struct Window {
  uint64_t start = 0;
  uint64_t end = UINT64_MAX;
  bool timed = true;
};

// Copy-limit slices interleaved with a timed load (--limit-slices): at each, the host thread stops
// submitting, reaps until its queues are empty, runs `run` (one slice of the limit on the device's
// reactor; it blocks until done) and resumes. The first slice comes half a segment into the
// measured window, the next ones a segment after the previous one ended, so that the slices sit
// in the middle of the load's stretches. The window is planned with the slices in it; the time
// spent in them (`paused_ns`, also read by the monitor) is not load time.
struct LimitSlices {
  uint32_t count = 0;       // slices still to run
  uint64_t segment_ns = 0;  // load between two slices
  std::function<void()> run;
  std::atomic<uint64_t> paused_ns{0};  // within the window
  std::atomic<bool> in_slice{false};   // the monitor: no completions now is no stall
};

// Called by the first host thread when the measured window opens and closes (engine counter
// snapshots): a thread that polls anyway sees the edges on time, whatever the scheduler does to
// sleeping threads (under SCHED_FIFO the monitor may not run for a while).
struct WindowEdges {
  std::function<void()> opened;
  std::function<void()> closed;
};

// One host thread's loop. Returns when its jobs are done, or at once when `abort` is set (the
// monitor gave up on a stuck run). A thread that found nothing to do for kHostYieldAfterNs yields
// its core once: with more spinning threads than cores under SCHED_FIFO, the device reactor that
// must complete its commands may be waiting for exactly this core.
void DriveQueues(const std::vector<QueueJob*>& jobs, const Window& w, WindowEdges* edges,
                 LimitSlices* slices, const std::atomic<bool>& abort) {
  bool opened = false, closed = false;
  uint64_t idle_since = 0;
  uint32_t idle_spins = 0;
  uint64_t next_slice = slices != nullptr && slices->count != 0 && w.timed
                            ? w.start + slices->segment_ns / 2
                            : UINT64_MAX;
  bool draining = false;  // for a slice
  for (;;) {
    if (abort.load(std::memory_order_relaxed)) return;
    // On a KVM guest a clock read (kvm-clock through the vDSO) costs more than the rest of an idle
    // spin: profiled, two reads per spin took about two thirds of the host thread. Spins with
    // nothing to reap or submit read it once every kClockEveryIdleSpins only (window edges and
    // the idle yield below are checked then).
    bool work = false;
    for (QueueJob* j : jobs) work = work || j->HasWork();
    if (!work && ++idle_spins % kClockEveryIdleSpins != 0) continue;
    uint64_t now = NowNs();
    if (edges != nullptr && !opened && now >= w.start) {
      opened = true;
      edges->opened();
    }
    if (w.timed && now >= w.end) {
      if (edges != nullptr && !closed) {
        closed = true;
        edges->closed();
      }
      for (QueueJob* j : jobs) j->StopSubmitting();
    }
    if (!draining && now >= next_slice) {
      if (now < w.end) {
        draining = true;
        for (QueueJob* j : jobs) j->PauseSubmitting();
      } else {
        next_slice = UINT64_MAX;  // the load is over
      }
    }
    const bool record = now >= w.start && now < w.end;
    uint32_t moved = 0;
    for (QueueJob* j : jobs) moved += j->Reap(now, record);
    if (moved != 0) now = NowNs();  // submission time of the refill (nothing reaped: `now` holds)
    if (draining) {
      uint32_t outstanding = 0;
      for (QueueJob* j : jobs) outstanding += j->outstanding();
      if (outstanding == 0) {
        if (now < w.end) {  // drained past the window: no slice
          const uint64_t begin = now;
          slices->in_slice.store(true);
          slices->run();
          now = NowNs();
          slices->in_slice.store(false);
          slices->paused_ns.fetch_add(std::min(now, w.end) - begin, std::memory_order_relaxed);
        }
        draining = false;
        next_slice = now < w.end && --slices->count != 0 ? now + slices->segment_ns : UINT64_MAX;
        for (QueueJob* j : jobs) {
          j->ResumeSubmitting();
          if (now >= w.end) j->StopSubmitting();  // the window closed meanwhile
        }
        idle_since = 0;
        moved = 1;
      }
    }
    bool done = true;
    for (QueueJob* j : jobs) {
      moved += j->Submit(now);
      done &= j->Done();
    }
    if (done) {
      if (edges != nullptr && !closed) edges->closed();
      return;
    }
    if (moved != 0) {
      idle_since = 0;
    } else if (idle_since == 0) {
      idle_since = now;
    } else if (now - idle_since >= kHostYieldAfterNs) {
      std::this_thread::yield();
      idle_since = 0;
    }
  }
}

std::vector<ReactorResult> SnapshotReactors(pcie::PcieDeviceImpl* impl) {
  std::vector<ReactorResult> out;
  if (impl == nullptr) return out;
  for (size_t i = 0; i < impl->io_reactor_count(); ++i) {
    const engine::Reactor& r = impl->io_reactor(i);
    const pcie::QueueGroup& g = impl->io_group(i);
    out.push_back(ReactorResult{r.name(), r.entries(), r.idle_polls(), r.sleeps(), r.ticks(),
                                r.late_ticks(), r.max_tick_entries(), g.cq_full_stalls(),
                                g.interrupts_signalled()});
  }
  return out;
}

std::vector<ReactorResult> Delta(const std::vector<ReactorResult>& a,
                                 const std::vector<ReactorResult>& b) {
  std::vector<ReactorResult> out = b;
  for (size_t i = 0; i < out.size() && i < a.size(); ++i) {
    out[i].entries -= a[i].entries;
    out[i].idle_polls -= a[i].idle_polls;
    out[i].sleeps -= a[i].sleeps;
    out[i].ticks -= a[i].ticks;
    out[i].late_ticks -= a[i].late_ticks;
    out[i].cq_full_stalls -= a[i].cq_full_stalls;
    out[i].interrupts -= a[i].interrupts;
  }
  return out;
}

// The monitor's view of the run, sampled about once per second: a stuck run reports the progress
// of the last interval.
struct ProgressSample {
  uint64_t t = 0;
  std::vector<uint64_t> completed;  // per job
  std::vector<ReactorResult> reactors;
};

ProgressSample Sample(const std::vector<std::unique_ptr<QueueJob>>& jobs,
                      pcie::PcieDeviceImpl* impl) {
  ProgressSample s;
  s.t = NowNs();
  for (const auto& j : jobs) s.completed.push_back(j->completed());
  s.reactors = SnapshotReactors(impl);
  return s;
}

std::string StuckReport(const std::vector<std::unique_ptr<QueueJob>>& jobs, bool timed,
                        const ProgressSample& before, const ProgressSample& now, uint64_t end_ns) {
  std::vector<QueueProgress> queues;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const uint64_t done = now.completed[i];
    queues.push_back(
        QueueProgress{jobs[i]->qid(), jobs[i]->submitted() - done, done - before.completed[i]});
  }
  std::vector<ReactorProgress> reactors;
  for (size_t i = 0; i < now.reactors.size() && i < before.reactors.size(); ++i) {
    const ReactorResult& a = before.reactors[i];
    const ReactorResult& b = now.reactors[i];
    reactors.push_back(ReactorProgress{b.name, b.entries - a.entries, b.idle_polls - a.idle_polls,
                                       b.sleeps - a.sleeps});
  }
  const double late = now.t > end_ns ? (now.t - end_ns) / 1e9 : 0.0;
  return DescribeStuckRun(timed, late, (now.t - before.t) / 1e9, queues, reactors);
}

uint64_t HostInterrupts(PcieDriver& drv, const std::vector<IoQueue*>& queues) {
  uint64_t n = 0;
  for (IoQueue* q : queues) n += drv.interrupts().count(q->vector());
  return n;
}

void PrintProgress(std::ostream& out, double t, uint64_t ios, double dt, uint64_t block) {
  const double iops = dt > 0 ? ios / dt : 0;
  out << fmt::format("\r[{:6.1f} s] {:12.0f} IOPS {:10.1f} MiB/s   ", t, iops,
                     iops * block / (1024.0 * 1024.0))
      << std::flush;
}

}  // namespace

const CopyLimit* PerfResult::limit() const {
  if (ns_copy_limit) return &*ns_copy_limit;
  return copy_limit ? &*copy_limit : nullptr;
}

double PerfResult::ratio_to_limit() const {
  const CopyLimit* l = limit();
  if (l == nullptr || l->copies_per_s() <= 0) return 0;
  return iops() / l->copies_per_s();
}

double PerfResult::ratio_to_buffer_limit() const {
  if (!copy_limit || copy_limit->copies_per_s() <= 0) return 0;
  return iops() / copy_limit->copies_per_s();
}

namespace {

// The copy limit again, over the RAM namespace's own memory (perf_copy_limit.h) and on the
// device's reactor thread: once the prefill made the whole range live, the range is one mapping
// that MapRead returns. Returns that mapping, or nullptr with res->ns_copy_limit_note saying why
// the limit does not apply.
const uint8_t* NamespaceLimitSource(const ControllerConfig& config,
                                    const NamespaceConfig& ns_config, pcie::PcieDeviceImpl* impl,
                                    const PerfOptions& o, const CopyLimitSpec& spec,
                                    PerfResult* res) {
  std::string& note = res->ns_copy_limit_note;
  if (ns_config.backend != BackendKind::kRam) {
    note = "not applicable (not a RAM namespace)";
  } else if (spec.read_percent != 100) {
    note = "not applicable (writes: the namespace's memory is only read)";
  } else if (ns_config.metadata_size != 0) {
    note = "not applicable (metadata: reads go through scratch buffers)";
  } else if (!o.prefill) {
    note = "not measured (--no-prefill: the range is not in memory)";
  } else if (config.mode != ProcessingMode::kNotify && config.io_reactors > 1) {
    // Poll reactors spin, and so do timer reactors between short ticks.
    note = "not measured (more than one spinning reactor competes for the cores)";
  } else if (impl == nullptr) {
    note = "not measured (no in-process device)";
  } else {
    Namespace* ns = impl->controller().GetNamespace(o.nsid);
    const uint8_t* source = ns != nullptr ? ns->backend().MapRead(0, spec.range) : nullptr;
    if (source == nullptr) note = "not measured (the range is not one mapping of the RAM backend)";
    return source;
  }
  return nullptr;
}

// Runs the copy loops over `spec.source` on the thread of the reactor that serves queue 1, so on
// the core the device copies on: the two vCPUs of the guest this was built on differ by up to 1.5x
// in copy speed, at times, and a limit taken on the other core measured that difference. The
// reactor runs nothing else meanwhile; the spinner keeps the other core as busy as the host thread
// will.
Result<CopyLimit> MeasureOnReactor(pcie::PcieDeviceImpl* impl, const CopyLimitSpec& spec) {
  Result<CopyLimit> limit = Error{"copy limit: not run"};
  impl->io_reactor(0).RunSync([&] { limit = MeasureCopyLimit(spec); });
  return limit;
}

void Accumulate(CopyRate& total, const CopyRate& r) {
  total.copies += r.copies;
  total.seconds += r.seconds;
}

}  // namespace

Result<PerfResult> RunPerf(const ControllerConfig& config, const PerfOptions& o,
                           std::ostream* progress, const PerfHooks* hooks) {
  if (auto v = ValidatePerfOptions(o); !v.ok()) return v.error();
  if (o.nsid > config.namespaces.size()) {
    return Error{fmt::format("--namespace {}: the controller has {} namespace(s)", o.nsid,
                             config.namespaces.size())};
  }
  if (o.queues > config.max_io_queues) {
    return Error{
        fmt::format("--queues {} exceeds max_io_queues {}", o.queues, config.max_io_queues)};
  }
  if (o.queue_depth > config.mqes) {
    return Error{fmt::format("--qd {} needs more queue entries than MQES allows ({})",
                             o.queue_depth, config.mqes + 1)};
  }
  const NamespaceConfig& ns_config = config.namespaces[o.nsid - 1];
  PerfResult res;
  res.options = o;
  res.mode = config.mode;
  res.io_reactors = config.io_reactors;
  res.backend = BackendName(ns_config.backend);
  res.timer_period_us = config.timer_period_us;
  res.entries_per_tick = config.entries_per_tick;
  res.range_bytes = o.size != 0 ? std::min(o.size, ns_config.size_bytes) : ns_config.size_bytes;
  res.range_bytes -= res.range_bytes % o.block_size;
  if (res.range_bytes == 0) return Error{"the range is smaller than one block"};

  // 1. The machine's limit over a buffer of its own, before the device threads exist.
  CopyLimitSpec limit_spec;
  limit_spec.range = res.range_bytes;
  limit_spec.block = o.block_size;
  limit_spec.random = PatternRandom(o.pattern);
  limit_spec.read_percent = o.pattern == PerfPattern::kRandRw ? o.read_percent
                            : PatternReads(o.pattern)         ? 100
                                                              : 0;
  limit_spec.ring_blocks = o.queue_depth;
  limit_spec.seconds = o.copy_limit_s;
  limit_spec.seed = o.seed;
  if (!o.copy_limit) {
    res.copy_limit_note = "not measured (--no-limit)";
  } else if (ns_config.backend == BackendKind::kNull) {
    res.copy_limit_note = "not applicable (null backend: no data copy)";
  } else {
    auto limit = MeasureCopyLimit(limit_spec);
    if (!limit.ok()) return limit.error();
    res.copy_limit = *limit;
  }

  // 2. The device, through the host library.
  const uint32_t entries = o.queue_depth + 1;
  host::DriverOptions dopts;
  dopts.controller = config;
  dopts.interrupts = o.interrupts ? host::InterruptMode::kMsix : host::InterruptMode::kNone;
  dopts.ams = o.wrr ? 1 : 0;
  // Sized for any format: the namespace's is known only from Identify (a state file may hold a
  // Format NVM since the configuration); the arena's pages are touched only where used.
  dopts.dma_bytes = DmaBytesFor(o, LargestBlockFormat(), entries);
  auto drv_or = PcieDriver::Create(dopts);
  if (!drv_or.ok()) return drv_or.error();
  PcieDriver& drv = **drv_or;
  auto* impl = dynamic_cast<pcie::PcieDeviceImpl*>(&drv.device());
  if (auto r = drv.Enable(); !r.ok()) return r.error();
  auto id = drv.IdentifyNamespace(o.nsid);
  if (!id.ok()) return id.error();
  const uint32_t lba_shift = id->lbaf[id->flbas & 0xf].ds;
  res.lba_size = 1u << lba_shift;
  const NamespaceFormat ns_format = FormatOf(*id);  // as Identify Namespace reports it
  // Without a prefill the blocks read were never written: no valid PI to check.
  const bool prefill =
      o.prefill && PatternReads(o.pattern) && ns_config.backend != BackendKind::kNull;
  const BlockFormat format = BlockFormatFor(ns_format, prefill);
  res.format = DescribeFormat(ns_format, format);
  if (o.block_size % res.lba_size != 0) {
    return Error{
        fmt::format("--bs {} is not a multiple of the LBA size {}", o.block_size, res.lba_size)};
  }
  if ((o.block_size >> lba_shift) > kMaxNlb) {
    return Error{fmt::format("--bs {} is more than {} LBAs of {} bytes (NLB is 16 bits)",
                             o.block_size, kMaxNlb, res.lba_size)};
  }
  if (auto r =
          drv.SetNumberOfQueues(static_cast<uint16_t>(o.queues), static_cast<uint16_t>(o.queues));
      !r.ok()) {
    return r.error();
  }
  if (o.wrr || o.burst != 0) {
    const uint32_t ab = o.burst == 0 ? 7u : static_cast<uint32_t>(std::countr_zero(o.burst));
    const uint32_t dw11 =
        ab | ((o.weights[2] - 1) << 8) | ((o.weights[1] - 1) << 16) | ((o.weights[0] - 1) << 24);
    if (auto r = SetFeature(drv, impl, kFidArbitration, dw11); !r.ok()) return r.error();
  }
  if (o.coalesce_thr >= 0) {
    const uint32_t dw11 = static_cast<uint32_t>(o.coalesce_thr) | (o.coalesce_time << 8);
    if (auto r = SetFeature(drv, impl, kFidInterruptCoalescing, dw11); !r.ok()) return r.error();
  }
  std::vector<IoQueue*> queues;
  for (uint32_t i = 0; i < o.queues; ++i) {
    const uint8_t qprio = o.qprio.empty() ? 0 : o.qprio[i % o.qprio.size()];
    auto q = drv.CreateIoQueuePair(static_cast<uint16_t>(i + 1), entries, true, qprio);
    if (!q.ok()) return q.error();
    queues.push_back(*q);
    res.queues.push_back(QueueResult{static_cast<uint16_t>(i + 1), qprio, {}});
  }

  // 3. Prefill what will be read.
  if (prefill) {
    const uint64_t t = NowNs();
    if (auto r = Prefill(drv, *queues[0], o.nsid, format, res.range_bytes); !r.ok()) {
      return r.error();
    }
    res.prefill_s = (NowNs() - t) / 1e9;
  }
  // The limit over the namespace's memory: in slices between stretches of a timed load of one
  // host thread (the machine drifts by tens of percent within seconds here, and a limit taken
  // before the load measured a different moment), else once, now.
  LimitSlices slices;
  CopyLimit sliced;
  std::string slice_error;
  if (res.copy_limit) {
    limit_spec.source = NamespaceLimitSource(config, ns_config, impl, o, limit_spec, &res);
  }
  CopyLimitSpec slice_spec = limit_spec;
  if (limit_spec.source != nullptr) {
    if (o.limit_slices != 0 && o.ios == 0 && o.threads == 1) {
      slice_spec.seconds = o.copy_limit_s / o.limit_slices;
      slices.count = o.limit_slices;
      slices.segment_ns = static_cast<uint64_t>(o.time_s * 1e9 / o.limit_slices);
      slices.run = [&] {
        // A fresh offset sequence each slice: repeating one would find its blocks in the caches.
        slice_spec.seed = o.seed + 1 + res.ns_copy_limit_slices;
        auto l = MeasureOnReactor(impl, slice_spec);
        if (!l.ok()) {
          slice_error = l.error().message;
          return;
        }
        Accumulate(sliced.plain, l->plain);
        Accumulate(sliced.look_ahead, l->look_ahead);
        ++res.ns_copy_limit_slices;
        spdlog::debug("perf: limit slice {}: look-ahead {:.0f}/s, plain {:.0f}/s",
                      res.ns_copy_limit_slices, l->look_ahead.copies_per_s(),
                      l->plain.copies_per_s());
      };
    } else {
      auto l = MeasureOnReactor(impl, limit_spec);
      if (!l.ok()) return l.error();
      res.ns_copy_limit = *l;
    }
  }

  // 4. The load.
  std::vector<std::unique_ptr<QueueJob>> jobs;
  const uint64_t range_blocks = res.range_bytes / o.block_size;
  for (uint32_t i = 0; i < o.queues; ++i) {
    const uint64_t nlb = o.block_size >> lba_shift;
    auto buf = drv.dma().Alloc(o.queue_depth * format.SlotStride(nlb));
    if (!buf.ok()) return buf.error();
    DmaBuffer meta;
    if (format.MetaBytes(nlb) != 0) {
      auto mb = drv.dma().Alloc(o.queue_depth * format.MetaBytes(nlb));
      if (!mb.ok()) return mb.error();
      meta = *mb;
      std::memset(meta.ptr, 0, meta.size);
    }
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
    jobs.push_back(std::make_unique<QueueJob>(*queues[i], spec, *buf, meta));
  }
  Window w;
  const uint64_t t0 = NowNs();
  w.timed = o.ios == 0;
  w.start = w.timed ? t0 + static_cast<uint64_t>(o.warmup_s * 1e9) : t0;
  // Planned with the limit slices in it (both loops, slice_spec.seconds each).
  const double planned_s = o.time_s + slices.count * 2 * slice_spec.seconds;
  w.end = w.timed ? w.start + static_cast<uint64_t>(planned_s * 1e9) : UINT64_MAX;
  std::vector<std::vector<QueueJob*>> per_thread(o.threads);
  for (uint32_t i = 0; i < o.queues; ++i) per_thread[i % o.threads].push_back(jobs[i].get());
  std::vector<ReactorResult> before, after;
  uint64_t irq_before = 0, irq_after = 0;
  WindowEdges edges{[&] {
                      before = SnapshotReactors(impl);
                      irq_before = HostInterrupts(drv, queues);
                    },
                    [&] {
                      after = SnapshotReactors(impl);
                      irq_after = HostInterrupts(drv, queues);
                    }};
  const CpuBudget budget = CurrentCpuBudget();
  const std::string oversubscribed = OversubscriptionWarning(
      config.mode == ProcessingMode::kPoll ? config.io_reactors : 0, o.threads, budget);
  if (!oversubscribed.empty()) spdlog::warn("perf: {}", oversubscribed);
  if (hooks != nullptr && hooks->before_load) hooks->before_load(drv);
  std::vector<std::thread> threads;
  std::atomic<uint32_t> running{o.threads};
  std::atomic<bool> abort{false};
  for (size_t t = 0; t < per_thread.size(); ++t) {
    threads.emplace_back([&, t] {
      DriveQueues(per_thread[t], w, t == 0 ? &edges : nullptr, t == 0 ? &slices : nullptr, abort);
      running.fetch_sub(1);
    });
  }
  // Every thread exists: the monitor may now outrank them (children would inherit the boost).
  RealtimeBoost boost;

  // Monitor: a progress line once per second while the host threads run.
  auto completed = [&] {
    uint64_t n = 0;
    for (auto& j : jobs) n += j->completed();
    return n;
  };
  // It also bounds the run (kStuckAfterNs). Otherwise it reports what the run waits for, makes
  // the host threads return, and if they cannot (starved of a core) stops the device's reactors.
  SleepUntil(w.start);
  uint64_t last_t = NowNs(), last_n = completed();
  uint64_t last_paused = slices.paused_ns.load();
  ProgressSample prev = Sample(jobs, impl);
  uint64_t last_progress = prev.t;
  auto stuck_at = [&] {
    if (!w.timed) return last_progress + kStuckAfterNs;
    const uint64_t hard = w.end + std::max<uint64_t>(kStuckAfterNs, w.end - w.start);
    return std::min(hard, std::max(w.end, last_progress) + kStuckAfterNs);
  };
  std::string stuck;
  while (running.load() != 0) {
    const uint64_t now = NowNs();
    const uint64_t next = now + 1'000'000'000;
    const uint64_t deadline = stuck_at();
    while (NowNs() < std::min(next, deadline) && running.load() != 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const uint64_t t = NowNs();
    const uint64_t n = completed();
    const uint64_t paused = slices.paused_ns.load();
    if (n != last_n || paused != last_paused || slices.in_slice.load()) last_progress = t;
    if (running.load() != 0 && t >= stuck_at()) {
      stuck = StuckReport(jobs, w.timed, prev, Sample(jobs, impl), w.timed ? w.end : last_progress);
      break;
    }
    if (progress != nullptr && t < w.end && !slices.in_slice.load()) {
      // Load time only: the limit slices are left out (a slice is credited when it ends, so an
      // interval may be credited more than its own length: clamp).
      const uint64_t span = t - last_t, in_slices = paused - last_paused;
      PrintProgress(*progress, (t - w.start - std::min(paused, t - w.start)) / 1e9, n - last_n,
                    (span > in_slices ? span - in_slices : 0) / 1e9, o.block_size);
    }
    last_t = t;
    last_n = n;
    last_paused = paused;
    prev = Sample(jobs, impl);
  }
  bool device_stopped = false;
  if (!stuck.empty()) {
    abort.store(true);
    const uint64_t give_up = NowNs() + 1'000'000'000;
    while (running.load() != 0 && NowNs() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (running.load() != 0 && impl != nullptr) {
      impl->Stop();  // frees the cores the reactors spin on; the host threads then see `abort`
      device_stopped = true;
    }
  }
  for (auto& t : threads) t.join();
  if (!stuck.empty()) {
    spdlog::error("perf: {}", stuck);
    return Error{stuck + (device_stopped ? " The host threads did not return within 1 s; the "
                                           "device's reactors were stopped to release them."
                                         : "")};
  }
  const uint64_t t_end = w.timed ? w.end : NowNs();
  if (progress != nullptr) *progress << "\r" << std::string(60, ' ') << "\r" << std::flush;
  res.elapsed_s = (t_end - w.start - slices.paused_ns.load()) / 1e9;
  if (!slice_error.empty()) return Error{slice_error};
  if (res.ns_copy_limit_slices != 0) {
    res.ns_copy_limit = sliced;
  } else if (slices.count != 0) {  // no slice ran (the load ended first): measure once, now
    auto l = MeasureOnReactor(impl, limit_spec);
    if (!l.ok()) return l.error();
    res.ns_copy_limit = *l;
  }
  res.reactors = Delta(before, after);
  res.host_interrupts = irq_after - irq_before;
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
  return res;
}

}  // namespace nvemu::app
