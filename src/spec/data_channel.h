// DataChannel: the transport-free seam through which a command moves host data (NVMe Base 2.0, 4.1
// Data Structures: PRPs and SGLs).
//
// The core and the NVM command set never see PRPs, SGLs or PDUs. A front end builds one channel per
// command: pcie/ walks PRPs over HostMemory, tcp/ (later) uses in-capsule data, R2T/H2CData and
// C2HData. A handler asks the channel to Transfer() a byte range; the channel hands it buffers,
// either pointers straight into host memory (zero copy) or a bounce buffer it then copies, and
// reports any addressing error as an NVMe status (Data Transfer Error, Invalid PRP Offset, ...).
//
// Threading: a channel belongs to one command on one reactor thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nvemu/status.h"
#include "spec/function_ref.h"

namespace nvemu {

enum class Direction {
  kToHost,    // controller -> host (Read, Identify, Get Log Page)
  kFromHost,  // host -> controller (Write, Set Features data)
};

class DataChannel {
 public:
  // Called once per buffer: `buf` holds (kFromHost) or receives (kToHost) `len` bytes at byte
  // `offset` of the command's data. Returning a non-success status stops the transfer with that
  // status.
  using Chunk = FunctionRef<Status(uint8_t* buf, uint64_t offset, size_t len)>;

  virtual ~DataChannel() = default;

  // Declares that the command moves `length` bytes (cf. nvmet_check_transfer_len): a PRP walk needs
  // the total to interpret PRP2; an SGL or a capsule is checked against it. Call once before
  // Transfer(). Fails when the data pointer cannot describe that many bytes.
  virtual Status Prepare(uint64_t length) = 0;
  // Bytes declared by Prepare().
  virtual uint64_t Length() const = 0;

  // Moves bytes [offset, offset+len) of the command data through `chunk`, in ascending order.
  // Fails with Data Transfer Error / Invalid PRP Offset / SGL errors when the data pointer is bad,
  // and with Invalid Field when the range exceeds Length().
  virtual Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) = 0;

  // Zero-copy gather for asynchronous I/O: describes bytes [0, len) of the command data (after
  // Prepare) as up to `max` process buffers that stay valid until the command completes (host
  // memory the front end maps, a command slot buffer). Returns how many, or 0 when the channel
  // cannot (bounce buffers, too many pieces, any addressing error: Transfer() then reports it).
  virtual int DirectIov(uint64_t len, iovec* iov, int max) {
    (void)len;
    (void)iov;
    (void)max;
    return 0;
  }

  // Copies `len` bytes from `src` to bytes [offset, offset+len) of the command data, as
  // Transfer(kToHost) with a memcpy would (after Prepare). A front end that batches data movement
  // (pcie/copy_batch.h) may perform the copy later, but always before it posts the command's
  // completion; `src` must stay valid until then (backend memory from Backend::MapRead does). The
  // returned status is final: addressing errors are reported here, never later.
  virtual Status CopyToHost(uint64_t offset, const uint8_t* src, uint64_t len) {
    return Transfer(Direction::kToHost, offset, len,
                    [src, offset](uint8_t* buf, uint64_t off, size_t n) {
                      std::memcpy(buf, src + (off - offset), n);
                      return Status::Success();
                    });
  }

  // Prepare(len), then copies `len` bytes from `src` to the host (the whole command data).
  Status Push(const void* src, size_t len) {
    if (Status st = Prepare(len); !st.ok()) return st;
    auto* s = static_cast<const uint8_t*>(src);
    return Transfer(Direction::kToHost, 0, len, [s](uint8_t* buf, uint64_t off, size_t n) {
      std::memcpy(buf, s + off, n);
      return Status::Success();
    });
  }
  // Prepare(len), then copies the `len` bytes of host data into `dst`.
  Status Pull(void* dst, size_t len) {
    if (Status st = Prepare(len); !st.ok()) return st;
    auto* d = static_cast<uint8_t*>(dst);
    return Transfer(Direction::kFromHost, 0, len, [d](uint8_t* buf, uint64_t off, size_t n) {
      std::memcpy(d + off, buf, n);
      return Status::Success();
    });
  }
};

// A channel for commands that carry no data (and for tests): every transfer fails with Invalid
// Field.
class NoDataChannel final : public DataChannel {
 public:
  Status Prepare(uint64_t length) override {
    return length == 0 ? Status::Success() : sc::kInvalidField;
  }
  uint64_t Length() const override { return 0; }
  Status Transfer(Direction, uint64_t, uint64_t len, Chunk) override {
    return len == 0 ? Status::Success() : sc::kInvalidField;
  }
};

}  // namespace nvemu
