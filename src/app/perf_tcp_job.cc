#include "app/perf_tcp_job.h"

#include <fmt/format.h>

#include <chrono>

namespace nvemu::app {
namespace {

constexpr uint8_t kOpWrite = 0x01;  // NVM Command Set 1.0, Figure 20
constexpr uint8_t kOpRead = 0x02;

}  // namespace

TcpQueueJob::TcpQueueJob(host::TcpQueue& queue, uint16_t qid, const JobSpec& spec)
    : queue_(queue),
      qid_(qid),
      spec_(spec),
      nlb_(spec.block >> spec.lba_shift),
      slot_bytes_(static_cast<size_t>(spec.format.DataBytes(nlb_))),
      buffer_(size_t{spec.queue_depth} * slot_bytes_),
      slot_of_cid_(queue.entries(), 0),
      submitted_ns_(spec.queue_depth, 0),
      slot_is_read_(spec.queue_depth, 0) {
  for (size_t i = 0; i < buffer_.size(); ++i) buffer_[i] = static_cast<uint8_t>(i * 131 + 7);
  free_slots_.reserve(spec.queue_depth);
  for (uint32_t s = spec.queue_depth; s-- > 0;) free_slots_.push_back(static_cast<uint16_t>(s));
}

void TcpQueueJob::Fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  submitting_ = false;
  error_ = fmt::format("I/O queue {}: {}", qid_, why);
}

uint32_t TcpQueueJob::PollAndReap(uint64_t now_ns, bool record) {
  if (failed_) return 0;
  if (queue_.outstanding() != 0) {
    auto polled = queue_.Poll(std::chrono::milliseconds(0));
    if (!polled.ok()) {
      Fail(polled.error().message);
      return 0;
    }
  }
  const uint32_t n = static_cast<uint32_t>(queue_.Reap([&](const Cqe& c) {
    const uint16_t slot = slot_of_cid_[c.cid];
    free_slots_.push_back(slot);
    if (!record) return;
    stats_.latency.Record(now_ns - submitted_ns_[slot]);
    ++stats_.ios;
    stats_.bytes += spec_.block;
    if (slot_is_read_[slot]) {
      ++stats_.reads;
    } else {
      ++stats_.writes;
    }
    if (c.status_field() != 0) ++stats_.errors;
  }));
  if (n != 0) {
    completed_.store(completed_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  return n;
}

uint32_t TcpQueueJob::Submit(uint64_t now_ns) {
  uint32_t n = 0;
  const uint32_t lbas_per_block = nlb_;
  const uint32_t nlb = lbas_per_block - 1;  // 0's based
  while (!failed_ && !free_slots_.empty() && CanSubmit()) {
    const uint16_t slot = free_slots_.back();
    const bool read = pattern_.NextIsRead();
    const uint64_t slba = pattern_.NextBlock() * lbas_per_block;
    Sqe sqe{};
    sqe.opc = read ? kOpRead : kOpWrite;
    sqe.nsid = spec_.nsid;
    sqe.cdw10 = static_cast<uint32_t>(slba);
    sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
    sqe.cdw12 = nlb;
    spec_.format.Apply(sqe, slba, /*meta_addr=*/0);  // PRINFO, ILBRT; no MPTR on fabrics
    uint8_t* data = buffer_.data() + size_t{slot} * slot_bytes_;
    auto cid = read ? queue_.Submit(sqe, {}, {data, slot_bytes_}, /*send_now=*/false)
                    : queue_.Submit(sqe, {data, slot_bytes_}, {}, /*send_now=*/false);
    if (!cid.ok()) {
      Fail(cid.error().message);
      break;
    }
    free_slots_.pop_back();
    slot_of_cid_[*cid] = slot;
    submitted_ns_[slot] = now_ns;
    slot_is_read_[slot] = read ? 1 : 0;
    ++submitted_;
    ++n;
  }
  if (n != 0) {
    if (auto r = queue_.Flush(); !r.ok()) Fail(r.error().message);
  }
  return n;
}

}  // namespace nvemu::app
