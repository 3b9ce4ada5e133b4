// PrpChannel: a DataChannel over a command's PRP entries (NVMe Base 2.0, 4.1.1 Physical Region Page
// Entry and List) in host memory.
//
// PRP1 may start anywhere in a memory page; every further entry addresses a whole page (offset 0).
// When more than one page follows the first, PRP2 points to a PRP list; the last entry of a full
// list page chains to the next list page. Bad entries give Invalid PRP Offset; unbacked host
// addresses give Data Transfer Error. No allocation: the walk reads list entries as it goes.
//
// Threading: one channel per command, used on one reactor thread.
#pragma once

#include <cstdint>

#include "nvemu/host_memory.h"
#include "spec/data_channel.h"

namespace nvemu::pcie {

class CopyBatch;

class PrpChannel final : public DataChannel {
 public:
  // `page_size` is CC.MPS's memory page size (a power of two >= 4096).
  // With `batch`, CopyToHost queues the copies there (pcie/copy_batch.h): the caller runs the
  // batch before it posts the command's completion.
  PrpChannel(HostMemory& memory, uint32_t page_size, uint64_t prp1, uint64_t prp2,
             CopyBatch* batch = nullptr)
      : memory_(memory), page_size_(page_size), prp1_(prp1), prp2_(prp2), batch_(batch) {}

  Status Prepare(uint64_t length) override {
    length_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override;
  // Queues the copy in the batch when every host-contiguous run of the range maps and fits; else
  // (no batch, a run HostMemory cannot map, the batch full) copies now, as Transfer does.
  Status CopyToHost(uint64_t offset, const uint8_t* src, uint64_t len) override;
  // Mapped host pages, physically contiguous pages coalesced (0 when any is not mappable).
  int DirectIov(uint64_t len, iovec* iov, int max) override;

 private:
  // Walks the PRPs: calls `segment(addr, data_offset, seg_len)` for each host-contiguous piece.
  template <typename F>
  Status Walk(F&& segment);
  // Walks [offset, offset+len) of the data: calls `run(addr, data_offset, run_len)` once per
  // host-contiguous run (physically contiguous pages coalesced), in ascending order.
  template <typename F>
  Status ForEachRun(uint64_t offset, uint64_t len, F&& run);
  Status Move(Direction dir, uint64_t addr, uint64_t data_off, size_t len, Chunk& chunk);

  HostMemory& memory_;
  const uint32_t page_size_;
  const uint64_t prp1_;
  const uint64_t prp2_;
  CopyBatch* const batch_;
  uint64_t length_ = 0;
};

// A DataChannel over one contiguous host buffer (admin queue memory, MPTR metadata).
class ContiguousChannel final : public DataChannel {
 public:
  ContiguousChannel(HostMemory& memory, uint64_t addr, uint64_t length)
      : memory_(memory), addr_(addr), length_(length) {}
  Status Prepare(uint64_t length) override {
    return length <= length_ ? Status::Success() : sc::kInvalidField;
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override;

 private:
  HostMemory& memory_;
  const uint64_t addr_;
  const uint64_t length_;
};

// Moves [addr, addr+len) of host memory through `chunk` (zero copy when HostMemory maps the range,
// else through a stack bounce buffer). Shared by the channels above.
Status MoveHostRange(HostMemory& memory, Direction dir, uint64_t addr, uint64_t data_off,
                     uint64_t len, DataChannel::Chunk& chunk);

}  // namespace nvemu::pcie
