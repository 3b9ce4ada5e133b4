// SglChannel: a DataChannel over a Scatter Gather List in host memory (NVMe Base 2.0, 4.1.2
// Scatter Gather List (SGL)), for NVMe over PCIe commands with PSDT = 01b or 10b.
//
// Supported descriptors (Identify SGLS = 0x0005_0001): SGL Data Block (0h, Address subtype), SGL
// Bit Bucket (1h: the controller discards read data; not allowed on host-to-controller transfers),
// SGL Segment (2h) and SGL Last Segment (3h). The SGL may describe more data than the command
// moves (SGLS bit 18); the excess is ignored.
// Errors (NVMe Base 2.0, Figure 94):
//   Keyed Data Block (4h), Transport Data Block (5h), reserved and vendor types, a subtype other
//   than Address, a Bit Bucket on a write ............................. SGL Descriptor Type Invalid
//   a Segment/Last Segment that is not the last descriptor of its segment, a Segment inside a
//   Last Segment's list, a segment length of 0 or not a multiple of 16 ... Invalid SGL Segment
//   Descr. more than kMaxDescriptors descriptors walked ........................ Invalid Number of
//   SGL Descr. fewer data bytes than the command moves ............ Data (or Metadata) SGL Length
//   Invalid an unreadable descriptor or data address ............................ Data Transfer
//   Error
// No allocation: descriptors are read from host memory as the walk goes (Prepare walks once to
// validate and measure; each Transfer walks again).
//
// Threading: one channel per command, used on one reactor thread.
#pragma once

#include <cstdint>
#include <cstring>

#include "nvemu/host_memory.h"
#include "pcie/prp.h"
#include "spec/data_channel.h"
#include "spec/request.h"

namespace nvemu::pcie {

struct SglDescriptor {
  uint64_t addr;
  uint32_t length;
  uint8_t reserved[3];
  uint8_t id;  // bits 7:4 type, 3:0 subtype
};
static_assert(sizeof(SglDescriptor) == 16);

inline constexpr uint8_t kSglDataBlock = 0x0;
inline constexpr uint8_t kSglBitBucket = 0x1;
inline constexpr uint8_t kSglSegment = 0x2;
inline constexpr uint8_t kSglLastSegment = 0x3;
inline constexpr uint8_t kSglKeyedDataBlock = 0x4;
inline constexpr uint8_t kSglTransportDataBlock = 0x5;

// Identify Controller SGLS: SGLs supported without alignment (01b), Bit Bucket (bit 16),
// larger-than-data SGLs (bit 18), MPTR pointing to one SGL descriptor (bit 19).
inline constexpr uint32_t kSglsSupported = 0x1 | (1u << 16) | (1u << 18) | (1u << 19);

class SglChannel final : public DataChannel {
 public:
  static constexpr uint32_t kMaxDescriptors = 4096;

  // The first descriptor is `first` (SQE DPTR: SGL1).
  SglChannel(HostMemory& memory, const SglDescriptor& first, bool metadata = false)
      : memory_(memory), first_(first), metadata_(metadata) {}
  // The first descriptor sits in host memory at `addr` (PSDT 10b: MPTR).
  SglChannel(HostMemory& memory, uint64_t addr, bool metadata)
      : memory_(memory), first_addr_(addr), indirect_(true), metadata_(metadata) {}

  Status Prepare(uint64_t length) override;
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override;

 private:
  // Calls fn(desc, data_offset) for every Data Block / Bit Bucket descriptor in order; stops at
  // the end of the list or when fn returns an error.
  template <typename F>
  Status Walk(F&& fn);

  HostMemory& memory_;
  SglDescriptor first_{};
  uint64_t first_addr_ = 0;
  bool indirect_ = false;
  const bool metadata_;
  uint64_t length_ = 0;
};

// A DataChannel over the contiguous metadata buffer at MPTR (PSDT 00b and 01b); its length is
// whatever the command declares in Prepare().
class MetadataPointerChannel final : public DataChannel {
 public:
  MetadataPointerChannel(HostMemory& memory, uint64_t addr) : memory_(memory), addr_(addr) {}
  Status Prepare(uint64_t length) override {
    length_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override;

 private:
  HostMemory& memory_;
  const uint64_t addr_;
  uint64_t length_ = 0;
};

// Builds the data channel (DPTR) and metadata channel (MPTR) of `req` from CDW0.PSDT (NVMe
// Base 2.0, Figure 88) on the stack and runs `execute` with them in place:
//   00b: PRPs for data, MPTR a contiguous metadata buffer;
//   01b: SGL for data, MPTR a contiguous metadata buffer;
//   10b: SGL for data, MPTR the address of one SGL descriptor for metadata;
//   11b: reserved -> Invalid Field in Command.
// Admin commands on PCIe use PRPs only (NVMe Base 2.0, 4.1.2): PSDT != 00b -> Invalid Field.
// `batch` (I/O queues): PRP data channels queue their CopyToHost copies there (pcie/copy_batch.h).
template <typename Execute>
Status WithDataChannels(HostMemory& memory, uint32_t page_size, Request& req, bool admin,
                        Execute&& execute, CopyBatch* batch = nullptr) {
  const uint8_t psdt = req.sqe.psdt();
  if (psdt == 0) {
    PrpChannel prp(memory, page_size, req.sqe.prp1, req.sqe.prp2, batch);
    MetadataPointerChannel meta(memory, req.sqe.mptr);
    req.data = &prp;
    req.metadata = &meta;
    return execute();
  }
  if (admin || psdt == 3) return sc::kInvalidField;
  SglDescriptor sgl1;
  std::memcpy(&sgl1, &req.sqe.prp1, sizeof(sgl1));
  SglChannel data(memory, sgl1);
  req.data = &data;
  if (psdt == 1) {
    MetadataPointerChannel meta(memory, req.sqe.mptr);
    req.metadata = &meta;
    return execute();
  }
  SglChannel meta(memory, req.sqe.mptr, /*metadata=*/true);
  req.metadata = &meta;
  return execute();
}

}  // namespace nvemu::pcie
