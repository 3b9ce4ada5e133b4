#include "app/perf_job.h"

namespace nvemu::app {
namespace {

constexpr uint8_t kOpWrite = 0x01;  // NVM Command Set 1.0, Figure 20
constexpr uint8_t kOpRead = 0x02;

// A spec whose format was left at its default describes plain LBAs of its lba_shift.
JobSpec Normalized(JobSpec spec) {
  if (spec.format.lba_shift != spec.lba_shift) {
    spec.format = BlockFormatFor(NamespaceFormat{.lba_shift = spec.lba_shift}, false);
  }
  return spec;
}

}  // namespace

QueueJob::QueueJob(host::IoQueue& queue, const JobSpec& spec, const host::DmaBuffer& buffer,
                   const host::DmaBuffer& metadata)
    : queue_(queue),
      spec_(Normalized(spec)),
      buffer_(buffer),
      metadata_(metadata),
      nlb_(spec_.block >> spec_.lba_shift),
      slot_stride_(spec_.format.SlotStride(nlb_)),
      data_bytes_(spec_.format.DataBytes(nlb_)),
      meta_bytes_(spec_.format.MetaBytes(nlb_)),
      slot_of_cid_(queue.entries(), 0),
      submitted_ns_(spec.queue_depth, 0),
      slot_is_read_(spec.queue_depth, 0) {
  free_slots_.reserve(spec.queue_depth);
  for (uint32_t s = spec.queue_depth; s-- > 0;) free_slots_.push_back(static_cast<uint16_t>(s));
}

uint64_t AccessPattern::NextRandom() {
  rng_ ^= rng_ >> 12;
  rng_ ^= rng_ << 25;
  rng_ ^= rng_ >> 27;
  return rng_ * 0x2545F4914F6CDD1Dull;
}

uint64_t AccessPattern::NextBlock() {
  if (PatternRandom(spec_.pattern)) {
    return static_cast<uint64_t>(
        (static_cast<unsigned __int128>(NextRandom()) * spec_.range_blocks) >> 64);
  }
  const uint64_t b = next_seq_;
  if (++next_seq_ == spec_.range_blocks) next_seq_ = 0;
  return b;
}

bool AccessPattern::NextIsRead() {
  switch (spec_.pattern) {
    case PerfPattern::kRead:
    case PerfPattern::kRandRead:
      return true;
    case PerfPattern::kWrite:
    case PerfPattern::kRandWrite:
      return false;
    case PerfPattern::kRandRw:
      return NextRandom() % 100 < spec_.read_percent;
  }
  return true;
}

uint32_t QueueJob::Reap(uint64_t now_ns, bool record) {
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
  if (n != 0)
    completed_.store(completed_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  return n;
}

uint32_t QueueJob::Submit(uint64_t now_ns) {
  uint32_t n = 0;
  const uint32_t lbas_per_block = nlb_;
  const uint32_t nlb = lbas_per_block - 1;  // 0's based
  while (!free_slots_.empty() && CanSubmit()) {
    const uint16_t slot = free_slots_.back();
    const bool read = pattern_.NextIsRead();
    const uint64_t slba = pattern_.NextBlock() * lbas_per_block;
    Sqe sqe{};
    sqe.opc = read ? kOpRead : kOpWrite;
    sqe.nsid = spec_.nsid;
    sqe.cdw10 = static_cast<uint32_t>(slba);
    sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
    sqe.cdw12 = nlb;
    spec_.format.Apply(sqe, slba, metadata_.addr + uint64_t{slot} * meta_bytes_);
    auto cid = queue_.Submit(sqe, &buffer_, data_bytes_, slot * slot_stride_, /*ring=*/false);
    if (!cid.ok()) {
      ++submit_failures_;
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
    queue_.Ring();
    submitted_total_.store(submitted_, std::memory_order_relaxed);
  }
  return n;
}

}  // namespace nvemu::app
