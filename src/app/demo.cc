#include "app/demo.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "app/demo_pattern.h"
#include "app/identify_print.h"
#include "app/session.h"
#include "nvemu/command.h"

namespace nvemu::app {
namespace {

using host::DmaBuffer;
using host::IoQueue;
using host::PcieDriver;

// NVM Command Set 1.0, Figure 9: opcodes the demo uses.
constexpr uint8_t kOpFlush = 0x00;
constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kOpRead = 0x02;
constexpr uint32_t kMaxLbasPerCommand = 65536;  // NLB is a 16-bit 0's based field
constexpr uint8_t kReadPoison = 0xa5;  // read buffers start non-zero: a missing transfer shows
constexpr std::chrono::milliseconds kTimeout{10000};

// The largest transfer MDTS allows (NVMe Base 2.0, 5.17.2.1: units of CAP.MPSMIN), 0 = no limit.
uint64_t MdtsBytes(uint8_t mdts, uint8_t mpsmin) {
  return mdts == 0 ? 0 : (uint64_t{1} << mdts) * (uint64_t{4096} << mpsmin);
}

// One queue's share of one namespace in one direction.
struct Job {
  IoQueue* queue = nullptr;
  uint32_t nsid = 0;
  uint32_t lba_size = 0;
  uint64_t first_lba = 0;
  uint32_t lbas_per_command = 0;
  uint32_t commands = 0;
  DmaBuffer buffer;  // commands * lbas_per_command * lba_size bytes
};

const char* OpName(uint8_t opc) { return opc == kOpWrite ? "write" : "read"; }

Sqe RwCommand(uint8_t opc, uint32_t nsid, uint64_t lba, uint32_t nlb) {
  Sqe sqe{};
  sqe.opc = opc;
  sqe.nsid = nsid;
  sqe.cdw10 = static_cast<uint32_t>(lba);  // SLBA
  sqe.cdw11 = static_cast<uint32_t>(lba >> 32);
  sqe.cdw12 = nlb - 1;  // NLB, 0's based
  return sqe;
}

// Submits the job's commands in batches of up to entries-1, ringing the doorbell once per batch,
// and waits for every completion of a batch before the next (so no CID is reused while a completion
// for it may still be parked in the queue).
Result<void> RunJob(const Job& job, uint8_t opc) {
  IoQueue& q = *job.queue;
  const size_t bytes_per_command = size_t{job.lbas_per_command} * job.lba_size;
  for (uint32_t done = 0; done < job.commands;) {
    uint32_t batch = std::min(job.commands - done, q.entries() - 1);
    std::vector<std::pair<uint16_t, uint64_t>> inflight;  // CID, SLBA
    Result<void> status;
    for (uint32_t i = 0; i < batch && status.ok(); ++i) {
      uint64_t lba = job.first_lba + uint64_t{done + i} * job.lbas_per_command;
      auto cid = q.Submit(RwCommand(opc, job.nsid, lba, job.lbas_per_command), &job.buffer,
                          bytes_per_command, (done + i) * bytes_per_command, /*ring=*/false);
      if (cid.ok()) {
        inflight.emplace_back(*cid, lba);
      } else {
        status = Error{
            fmt::format("queue {}: submit {}: {}", q.qid(), OpName(opc), cid.error().message)};
      }
    }
    q.Ring();
    for (auto [cid, lba] : inflight) {
      auto cqe = q.Wait(cid, kTimeout);
      if (!cqe.ok()) {
        status = Error{fmt::format("queue {}: {}", q.qid(), cqe.error().message)};
      } else if (cqe->status_field() != 0 && status.ok()) {
        status = Error{fmt::format("queue {}: {} nsid {} LBA {:#x} (+{} LBAs) failed: {}", q.qid(),
                                   OpName(opc), job.nsid, lba, job.lbas_per_command,
                                   Status::FromField(cqe->status_field()).ToString())};
      }
    }
    if (!status.ok()) return status;
    done += batch;
  }
  return {};
}

// Runs every job on its own host thread; returns the wall time in seconds.
Result<double> RunParallel(const std::vector<Job>& jobs, uint8_t opc) {
  std::vector<Result<void>> results(jobs.size());
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = RunJob(jobs[i], opc); });
  }
  for (auto& t : threads) t.join();
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  for (const auto& r : results) {
    if (!r.ok()) return r.error();
  }
  return elapsed.count();
}

Result<void> Flush(IoQueue& q, uint32_t nsid) {
  Sqe sqe{};
  sqe.opc = kOpFlush;
  sqe.nsid = nsid;
  auto cqe = q.Execute(sqe, kTimeout);
  if (!cqe.ok()) return cqe.error();
  if (cqe->status_field() != 0) {
    return Error{fmt::format("flush nsid {} failed: {}", nsid,
                             Status::FromField(cqe->status_field()).ToString())};
  }
  return {};
}

// Compares what each job read with what it should have read: the pattern, or zeroes for a null
// backend (which keeps no data).
void Verify(const std::vector<Job>& read, bool expect_zeroes, DemoReport& report) {
  for (size_t j = 0; j < read.size(); ++j) {
    const Job& job = read[j];
    std::vector<uint8_t> want(job.lba_size);
    uint64_t blocks = uint64_t{job.commands} * job.lbas_per_command;
    for (uint64_t b = 0; b < blocks; ++b) {
      uint64_t lba = job.first_lba + b;
      if (expect_zeroes) {
        std::fill(want.begin(), want.end(), 0);
      } else {
        FillDemoBlock(want.data(), want.size(), job.nsid, job.queue->qid(), lba);
      }
      const uint8_t* got = job.buffer.ptr + b * job.lba_size;
      ++report.blocks_verified;
      auto at = FirstMismatch(got, want.data(), want.size());
      if (!at) continue;
      if (report.blocks_mismatched++ == 0) {
        report.first_mismatch =
            fmt::format("nsid {} LBA {:#x} (queue {}): byte {} is {:#04x}, expected {:#04x}",
                        job.nsid, lba, job.queue->qid(), *at, got[*at], want[*at]);
      }
    }
  }
}

class Demo {
 public:
  Demo(const ControllerConfig& config, const DemoOptions& options)
      : config_(config), options_(options) {}

  Result<DemoReport> Run();

 private:
  // Entries per I/O queue: room for all of a queue's commands at once, at least 32.
  uint32_t QueueEntries() const { return std::max(options_.ios + 1, 32u); }
  size_t ArenaBytes() const;
  Result<void> CreateQueues();
  Result<void> ExerciseNamespace(uint32_t nsid, const nvme_id_ns& id);
  Result<std::vector<Job>> MakeJobs(const DemoNamespace& ns, uint32_t commands);
  void FreeJobs(std::vector<Job>& jobs);

  const ControllerConfig& config_;
  const DemoOptions& options_;
  Session session_;
  std::vector<IoQueue*> queues_;
  DemoReport report_;
};

size_t Demo::ArenaBytes() const {
  uint64_t mdts = MdtsBytes(config_.mdts, config_.mpsmin);
  uint64_t per_command = mdts ? std::min(options_.io_size, mdts) : options_.io_size;
  uint64_t entries = QueueEntries();
  uint64_t per_queue = 2 * options_.ios * per_command + entries * (64 + 16 + 4096);
  return static_cast<size_t>(options_.queues * per_queue + (8u << 20));
}

Result<void> Demo::CreateQueues() {
  PcieDriver& d = *session_.driver;
  auto granted = d.SetNumberOfQueues(options_.queues, options_.queues);
  if (!granted.ok()) return granted.error();
  uint32_t nsqa = (*granted & 0xffff) + 1, ncqa = (*granted >> 16) + 1;
  if (nsqa < options_.queues || ncqa < options_.queues) {
    return Error{fmt::format("controller granted {} SQs / {} CQs, the demo needs {}", nsqa, ncqa,
                             options_.queues)};
  }
  uint32_t mqes = static_cast<uint32_t>(d.cap() & 0xffff) + 1;  // CAP.MQES, 0's based
  report_.queue_entries = std::clamp<uint32_t>(QueueEntries(), 2, std::min(mqes, 4096u));
  for (uint16_t qid = 1; qid <= options_.queues; ++qid) {
    auto q = d.CreateIoQueuePair(qid, report_.queue_entries);
    if (!q.ok()) return Error{fmt::format("I/O queue pair {}: {}", qid, q.error().message)};
    queues_.push_back(*q);
  }
  report_.queues = options_.queues;
  spdlog::info("created {} I/O queue pair(s) of {} entries", options_.queues,
               report_.queue_entries);
  return {};
}

Result<std::vector<Job>> Demo::MakeJobs(const DemoNamespace& ns, uint32_t commands) {
  std::vector<Job> jobs;
  for (size_t i = 0; i < queues_.size(); ++i) {
    Job job;
    job.queue = queues_[i];
    job.nsid = ns.nsid;
    job.lba_size = ns.lba_size;
    job.first_lba = i * ns.lbas_per_queue;
    job.lbas_per_command = ns.lbas_per_command;
    job.commands = commands;
    auto buf = session_.driver->dma().Alloc(size_t{commands} * ns.lbas_per_command * ns.lba_size);
    if (!buf.ok()) {
      FreeJobs(jobs);
      return Error{"host memory: " + buf.error().message};
    }
    job.buffer = *buf;
    jobs.push_back(job);
  }
  return jobs;
}

void Demo::FreeJobs(std::vector<Job>& jobs) {
  for (Job& job : jobs) session_.driver->dma().Free(job.buffer);
  jobs.clear();
}

Result<void> Demo::ExerciseNamespace(uint32_t nsid, const nvme_id_ns& id) {
  DemoNamespace ns;
  ns.nsid = nsid;
  // Configured namespaces are NSIDs 1..N in order (config.h).
  if (nsid <= config_.namespaces.size()) ns.backend = config_.namespaces[nsid - 1].backend;
  const nvme_lbaf& format = id.lbaf[InUseLbaFormat(id)];
  ns.lba_size = 1u << format.ds;
  if (format.ms != 0) {
    return Error{
        fmt::format("namespace {}: its LBA format has {} bytes of metadata per LBA; the demo "
                    "does not transfer metadata yet (use metadata_size = 0)",
                    nsid, format.ms)};
  }
  uint64_t region = id.nsze / queues_.size();
  if (region == 0) {
    return Error{fmt::format("namespace {} has {} LBAs, fewer than the {} queues", nsid, id.nsze,
                             queues_.size())};
  }
  uint64_t mdts = MdtsBytes(session_.id_ctrl.mdts, (session_.driver->cap() >> 48) & 0xf);
  uint64_t bytes = mdts ? std::min(options_.io_size, mdts) : options_.io_size;
  uint64_t nlb = std::max<uint64_t>(1, bytes / ns.lba_size);
  nlb = std::min<uint64_t>({nlb, kMaxLbasPerCommand, region});
  ns.lbas_per_command = static_cast<uint32_t>(nlb);
  uint32_t commands = static_cast<uint32_t>(std::min<uint64_t>(options_.ios, region / nlb));
  ns.lbas_per_queue = uint64_t{commands} * nlb;

  auto writes = MakeJobs(ns, commands);
  if (!writes.ok()) return writes.error();
  auto reads = MakeJobs(ns, commands);
  if (!reads.ok()) {
    FreeJobs(*writes);
    return reads.error();
  }
  for (Job& job : *writes) {
    for (uint64_t b = 0; b < ns.lbas_per_queue; ++b) {
      FillDemoBlock(job.buffer.ptr + b * ns.lba_size, ns.lba_size, nsid, job.queue->qid(),
                    job.first_lba + b);
    }
  }
  for (Job& job : *reads) std::memset(job.buffer.ptr, kReadPoison, job.buffer.size);
  uint64_t bytes_each_way = queues_.size() * ns.lbas_per_queue * ns.lba_size;

  spdlog::info("namespace {}: writing {} LBAs per queue ({} per command)", nsid, ns.lbas_per_queue,
               nlb);
  Result<void> status;
  auto write_time = RunParallel(*writes, kOpWrite);
  if (!write_time.ok()) status = write_time.error();
  if (status.ok()) {
    report_.write_seconds += *write_time;
    report_.write_commands += uint64_t{commands} * queues_.size();
    report_.bytes_written += bytes_each_way;
    status = Flush(*queues_.front(), nsid);
    report_.flush_commands += status.ok() ? 1 : 0;
  }
  if (status.ok()) {
    auto read_time = RunParallel(*reads, kOpRead);
    if (read_time.ok()) {
      report_.read_seconds += *read_time;
      report_.read_commands += uint64_t{commands} * queues_.size();
      report_.bytes_read += bytes_each_way;
      Verify(*reads, ns.backend == BackendKind::kNull, report_);
    } else {
      status = read_time.error();
    }
  }
  FreeJobs(*writes);
  FreeJobs(*reads);
  if (status.ok()) report_.namespaces.push_back(ns);
  return status;
}

Result<DemoReport> Demo::Run() {
  if (config_.namespaces.empty()) return Error{"the demo needs at least one namespace"};
  if (options_.queues < 1 || options_.queues > config_.max_io_queues) {
    return Error{fmt::format("--queues {} outside 1..{} (max_io_queues)", options_.queues,
                             config_.max_io_queues)};
  }
  auto session = StartSession(config_, ArenaBytes());
  if (!session.ok()) return session.error();
  session_ = std::move(*session);
  report_.ctrl = session_.id_ctrl;
  report_.mode = config_.mode;
  report_.io_reactors = config_.io_reactors;
  auto active = ActiveNamespaceIds(*session_.driver);
  if (!active.ok()) return active.error();
  if (active->empty()) return Error{"the controller reports no active namespace"};
  if (auto r = CreateQueues(); !r.ok()) return r.error();

  for (uint32_t nsid : *active) {
    auto id = session_.driver->IdentifyNamespace(nsid);
    if (!id.ok()) return Error{fmt::format("namespace {}: {}", nsid, id.error().message)};
    if (auto r = ExerciseNamespace(nsid, *id); !r.ok()) return r.error();
  }
  // Identify again: NUSE now counts what the demo wrote.
  for (DemoNamespace& ns : report_.namespaces) {
    auto id = session_.driver->IdentifyNamespace(ns.nsid);
    if (!id.ok()) return Error{fmt::format("namespace {}: {}", ns.nsid, id.error().message)};
    ns.id = *id;
  }
  for (uint16_t qid = options_.queues; qid >= 1; --qid) {
    if (auto r = session_.driver->DeleteIoQueuePair(qid); !r.ok()) return r.error();
  }
  if (auto r = StopSession(session_); !r.ok()) report_.shutdown_error = r.error().message;
  return std::move(report_);
}

}  // namespace

Result<DemoReport> RunDemo(const ControllerConfig& config, const DemoOptions& options) {
  return Demo(config, options).Run();
}

}  // namespace nvemu::app
