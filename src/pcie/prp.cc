#include "pcie/prp.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "pcie/copy_batch.h"

namespace nvemu::pcie {

Status MoveHostRange(HostMemory& memory, Direction dir, uint64_t addr, uint64_t data_off,
                     uint64_t len, DataChannel::Chunk& chunk) {
  if (uint8_t* p = memory.Map(addr, len)) return chunk(p, data_off, len);
  // Not directly addressable: bounce through the stack, 4 KiB at a time.
  uint8_t bounce[4096];
  for (uint64_t done = 0; done < len;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(bounce), len - done));
    if (dir == Direction::kFromHost) {
      if (!memory.Read(addr + done, bounce, n)) return sc::kDataTransferError;
      if (Status st = chunk(bounce, data_off + done, n); !st.ok()) return st;
    } else {
      if (Status st = chunk(bounce, data_off + done, n); !st.ok()) return st;
      if (!memory.Write(addr + done, bounce, n)) return sc::kDataTransferError;
    }
    done += n;
  }
  return Status::Success();
}

template <typename F>
Status PrpChannel::Walk(F&& segment) {
  const uint64_t page_mask = page_size_ - 1;
  // PRP1: data may start at any offset within its page.
  uint64_t first = std::min<uint64_t>(length_, page_size_ - (prp1_ & page_mask));
  if (Status st = segment(prp1_, 0, first); !st.ok()) return st;
  uint64_t done = first;
  if (done == length_) return Status::Success();
  uint64_t remaining = length_ - done;
  if (remaining <= page_size_) {
    // PRP2 is the second (and last) data page.
    if (prp2_ & page_mask) return sc::kInvalidPrpOffset;
    return segment(prp2_, done, remaining);
  }
  // PRP2 is a PRP list pointer: qword aligned, may start inside a page.
  if (prp2_ & 0x7) return sc::kInvalidPrpOffset;
  uint64_t list = prp2_;
  while (remaining > 0) {
    // Entries left in this list page; when more pages follow than fit, the last entry chains.
    uint64_t slots = (page_size_ - (list & page_mask)) / 8;
    uint64_t pages = (remaining + page_size_ - 1) / page_size_;
    uint64_t data_entries = pages > slots ? slots - 1 : pages;
    for (uint64_t i = 0; i < data_entries; ++i) {
      uint64_t entry;
      if (!memory_.Read(list + 8 * i, &entry, sizeof(entry))) return sc::kDataTransferError;
      if (entry & page_mask) return sc::kInvalidPrpOffset;
      uint64_t n = std::min<uint64_t>(remaining, page_size_);
      if (Status st = segment(entry, done, n); !st.ok()) return st;
      done += n;
      remaining -= n;
    }
    if (remaining == 0) break;
    uint64_t next;
    if (!memory_.Read(list + 8 * data_entries, &next, sizeof(next))) return sc::kDataTransferError;
    // The chain entry is a PRP entry inside a list, so its offset must be 0 (4.1.1).
    if (next & page_mask) return sc::kInvalidPrpOffset;
    list = next;
  }
  return Status::Success();
}

template <typename F>
Status PrpChannel::ForEachRun(uint64_t offset, uint64_t len, F&& run) {
  const uint64_t end = offset + len;
  uint64_t addr_run = 0, off_run = 0, len_run = 0;  // coalesced host-contiguous run
  Status st = Walk([&](uint64_t addr, uint64_t data_off, uint64_t n) -> Status {
    // Clip the segment to [offset, end).
    uint64_t seg_end = data_off + n;
    if (seg_end <= offset || data_off >= end) return Status::Success();
    uint64_t skip = offset > data_off ? offset - data_off : 0;
    addr += skip;
    data_off += skip;
    n = std::min(seg_end, end) - data_off;
    if (len_run != 0 && addr_run + len_run == addr) {
      len_run += n;  // physically contiguous with the previous page: one bigger run
      return Status::Success();
    }
    if (len_run != 0) {
      if (Status s = run(addr_run, off_run, len_run); !s.ok()) return s;
    }
    addr_run = addr;
    off_run = data_off;
    len_run = n;
    return Status::Success();
  });
  if (!st.ok()) return st;
  if (len_run != 0) return run(addr_run, off_run, len_run);
  return Status::Success();
}

Status PrpChannel::Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) {
  if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
  if (len == 0) return Status::Success();
  return ForEachRun(offset, len, [&](uint64_t addr, uint64_t data_off, uint64_t n) {
    return Move(dir, addr, data_off, n, chunk);
  });
}

Status PrpChannel::CopyToHost(uint64_t offset, const uint8_t* src, uint64_t len) {
  if (batch_ == nullptr) return DataChannel::CopyToHost(offset, src, len);
  if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
  if (len == 0) return Status::Success();
  const uint32_t mark = batch_->size();
  bool queued = true;
  Status st = ForEachRun(offset, len, [&](uint64_t addr, uint64_t data_off, uint64_t n) {
    uint8_t* dst = memory_.Map(addr, n);
    if (dst == nullptr || !batch_->Add(dst, src + (data_off - offset), n)) {
      queued = false;
      return Status(sc::kDataTransferError);  // stops the walk; decided below
    }
    return Status::Success();
  });
  if (queued && st.ok()) return st;
  batch_->Truncate(mark);  // all or nothing: none of this command's pieces stay queued
  // A PRP error is final; a run HostMemory cannot map (it may still be readable piecewise, or
  // give Data Transfer Error) or a full batch: copy now, through the bounce path if needed.
  if (queued) return st;
  return DataChannel::CopyToHost(offset, src, len);
}

int PrpChannel::DirectIov(uint64_t len, iovec* iov, int max) {
  if (len == 0 || len > length_) return 0;
  int count = 0;
  Status st = ForEachRun(0, len, [&](uint64_t addr, uint64_t, uint64_t n) -> Status {
    uint8_t* p = count == max ? nullptr : memory_.Map(addr, n);
    if (p == nullptr) return sc::kDataTransferError;
    iov[count].iov_base = p;
    iov[count].iov_len = static_cast<size_t>(n);
    ++count;
    return Status::Success();
  });
  return st.ok() ? count : 0;
}

Status PrpChannel::Move(Direction dir, uint64_t addr, uint64_t data_off, size_t len, Chunk& chunk) {
  return MoveHostRange(memory_, dir, addr, data_off, len, chunk);
}

Status ContiguousChannel::Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) {
  if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
  if (len == 0) return Status::Success();
  return MoveHostRange(memory_, dir, addr_ + offset, offset, len, chunk);
}

}  // namespace nvemu::pcie
