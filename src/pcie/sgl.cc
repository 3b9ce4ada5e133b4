#include "pcie/sgl.h"

#include <algorithm>

#include "pcie/prp.h"

namespace nvemu::pcie {
namespace {

constexpr Status kInvalidSegment = Status::Generic(0x0d);     // Invalid SGL Segment Descriptor
constexpr Status kInvalidCount = Status::Generic(0x0e);       // Invalid Number of SGL Descriptors
constexpr Status kDataLengthInvalid = Status::Generic(0x0f);  // Data SGL Length Invalid
constexpr Status kMetaLengthInvalid = Status::Generic(0x10);  // Metadata SGL Length Invalid
constexpr Status kTypeInvalid = Status::Generic(0x11);        // SGL Descriptor Type Invalid

uint8_t Type(const SglDescriptor& d) { return d.id >> 4; }
uint8_t Subtype(const SglDescriptor& d) { return d.id & 0xf; }

}  // namespace

template <typename F>
Status SglChannel::Walk(F&& fn) {
  SglDescriptor d = first_;
  if (indirect_ && !memory_.Read(first_addr_, &d, sizeof(d))) return sc::kDataTransferError;
  // The current segment: `left` more descriptors at `next` after `d`; `in_last` when it is the
  // list of a Last Segment descriptor.
  uint64_t next = 0;
  uint64_t left = 0;
  bool in_last = false;
  uint64_t off = 0;
  uint32_t count = 0;
  for (;;) {
    if (++count > kMaxDescriptors) return kInvalidCount;
    const uint8_t type = Type(d);
    switch (type) {
      case kSglDataBlock:
      case kSglBitBucket:
        if (Subtype(d) != 0) return kTypeInvalid;  // only the Address subtype on PCIe
        if (Status st = fn(d, off); !st.ok()) return st;
        off += d.length;
        break;
      case kSglSegment:
      case kSglLastSegment:
        // A segment descriptor ends its segment, and a Last Segment's list holds none.
        if (left != 0 || in_last) return kInvalidSegment;
        if (Subtype(d) != 0) return kTypeInvalid;
        if (d.length == 0 || d.length % sizeof(SglDescriptor) != 0) return kInvalidSegment;
        next = d.addr;
        left = d.length / sizeof(SglDescriptor);
        in_last = type == kSglLastSegment;
        break;
      default:  // Keyed Data Block, Transport Data Block, reserved, vendor specific
        return kTypeInvalid;
    }
    if (left == 0) return Status::Success();
    if (!memory_.Read(next, &d, sizeof(d))) return sc::kDataTransferError;
    next += sizeof(SglDescriptor);
    --left;
  }
}

Status SglChannel::Prepare(uint64_t length) {
  uint64_t total = 0;
  Status st = Walk([&](const SglDescriptor& d, uint64_t) {
    total += d.length;
    return Status::Success();
  });
  if (!st.ok()) return st;
  if (total < length) return metadata_ ? kMetaLengthInvalid : kDataLengthInvalid;
  length_ = length;
  return Status::Success();
}

Status SglChannel::Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) {
  if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
  if (len == 0) return Status::Success();
  const uint64_t end = offset + len;
  return Walk([&](const SglDescriptor& d, uint64_t data_off) -> Status {
    const uint64_t seg_end = data_off + d.length;
    if (Type(d) == kSglBitBucket) {
      // Bit Bucket: read data for these bytes is discarded; a write cannot take data from it.
      if (dir == Direction::kFromHost && data_off < end && seg_end > offset) return kTypeInvalid;
      return Status::Success();
    }
    if (seg_end <= offset || data_off >= end) return Status::Success();
    const uint64_t from = std::max(offset, data_off);
    const uint64_t to = std::min(end, seg_end);
    return MoveHostRange(memory_, dir, d.addr + (from - data_off), from, to - from, chunk);
  });
}

Status MetadataPointerChannel::Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) {
  if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
  if (len == 0) return Status::Success();
  return MoveHostRange(memory_, dir, addr_ + offset, offset, len, chunk);
}

}  // namespace nvemu::pcie
