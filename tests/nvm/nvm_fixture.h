// Test fixture for the NVM command set: namespaces built from NamespaceConfig, an IoContext with
// its own controller state, and an in-memory DataChannel, so that commands run through
// ExecuteIoCommand directly (no front end, no threads).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <vector>

#include "nvm/io_cmd.h"
#include "nvm/namespace.h"
#include "nvm/nvm_status.h"
#include "spec/request.h"

namespace nvemu::test {

// A DataChannel over a byte vector. Transfers are cut into `piece`-byte chunks (like pages) to
// exercise handlers that see data in several pieces.
class MemChannel final : public DataChannel {
 public:
  explicit MemChannel(size_t size = 0, size_t piece = 4096) : buf(size), piece_(piece) {}
  Status Prepare(uint64_t length) override {
    if (length > buf.size()) return sc::kDataTransferError;
    length_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction, uint64_t offset, uint64_t len, Chunk chunk) override {
    if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
    for (uint64_t done = 0; done < len;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(piece_, len - done));
      if (Status st = chunk(buf.data() + offset + done, offset + done, n); !st.ok()) return st;
      done += n;
    }
    return Status::Success();
  }
  std::vector<uint8_t> buf;

 private:
  size_t piece_;
  uint64_t length_ = 0;
};

struct NsSpec {
  uint32_t lba_size = 512;
  uint32_t ms = 0;
  uint8_t pi_type = 0;
  bool pi_first = false;
  bool extended = false;
  bool guard64 = false;
  uint64_t blocks = 4096;
};

class NvmHarness {
 public:
  explicit NvmHarness(const NsSpec& spec, uint32_t max_sqid = 8) : state_(1, max_sqid) {
    NamespaceConfig c;
    c.lba_size = spec.lba_size;
    c.metadata_size = spec.ms;
    c.pi_type = spec.pi_type;
    c.pi_first = spec.pi_first;
    c.extended_lba = spec.extended;
    c.pi_64b_guard = spec.guard64;
    c.size_bytes = spec.blocks * spec.lba_size;
    auto ns = MakeNamespace(1, c, "TEST");
    EXPECT_TRUE(ns.ok()) << (ns.ok() ? "" : ns.error().message);
    if (ns.ok()) ns_ = std::move(ns.value());
    table_.push_back(ns_.get());
    ptr_.store(&table_);
    ctx_.namespaces = &ptr_;
    ctx_.max_transfer_bytes = 1 << 20;
    ctx_.controller = &state_;
  }

  Namespace& ns() { return *ns_; }
  IoContext& ctx() { return ctx_; }
  IoControllerState& state() { return state_; }

  // Runs `sqe` with data `data` (and separate metadata `meta` when given).
  Status Run(Sqe sqe, MemChannel* data = nullptr, MemChannel* meta = nullptr, uint16_t sqid = 1,
             uint32_t* dw0 = nullptr) {
    NoDataChannel none;
    Request req;
    req.sqe = sqe;
    req.sqid = sqid;
    req.data = data ? static_cast<DataChannel*>(data) : &none;
    req.metadata = meta;
    Status st = ExecuteIoCommand(ctx_, req);
    if (dw0) *dw0 = req.dw0;
    return st;
  }

 private:
  IoControllerState state_;
  std::unique_ptr<Namespace> ns_;
  NamespaceTable table_;
  std::atomic<const NamespaceTable*> ptr_{nullptr};
  IoContext ctx_;
};

inline Sqe Rw(uint8_t opc, uint64_t slba, uint32_t nlb, uint32_t cdw12_flags = 0) {
  Sqe s{};
  s.opc = opc;
  s.nsid = 1;
  s.cdw10 = static_cast<uint32_t>(slba);
  s.cdw11 = static_cast<uint32_t>(slba >> 32);
  s.cdw12 = ((nlb - 1) & 0xffff) | cdw12_flags;
  return s;
}

inline uint32_t Prinfo(bool pract, uint8_t prchk) {
  return (static_cast<uint32_t>((pract ? 8 : 0) | prchk)) << 26;
}

inline std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<uint8_t>(x);
  }
  return v;
}

}  // namespace nvemu::test
