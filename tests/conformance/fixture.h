// Shared fixture for the NVMe conformance tests (NVMe Base 2.0, NVM Command Set 1.0).
//
// The tests drive an in-process controller only the way a host can: through the host library
// (nvemu::host::PcieDriver, IoQueue, DmaArena) and raw configuration-space / BAR0 accesses on
// driver.device(). Register offsets, bit positions and opcodes are spelled out here from the
// specification on purpose, independently of the product's own constants, so that a wrong
// constant in src/ shows up as a failing test instead of being mirrored.
//
// Threading: one fixture per test; helpers are used from the test thread unless noted.
#pragma once

#include <gtest/gtest.h>
#include <nvme/types.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "nvemu/command.h"
#include "nvemu/config.h"
#include "nvemu/host/pcie_driver.h"
#include "nvemu/status.h"

namespace nvemu::conformance {

using host::DmaBuffer;
using host::DriverOptions;
using host::InterruptMode;
using host::IoQueue;
using host::PcieDriver;

// ---- Spec constants (NVMe Base 2.0 unless noted) ----

// Figure 35: controller registers (BAR0 offsets).
namespace regs {
inline constexpr uint32_t kCap = 0x00;
inline constexpr uint32_t kVs = 0x08;
inline constexpr uint32_t kIntms = 0x0c;
inline constexpr uint32_t kIntmc = 0x10;
inline constexpr uint32_t kCc = 0x14;
inline constexpr uint32_t kCsts = 0x1c;
inline constexpr uint32_t kNssr = 0x20;
inline constexpr uint32_t kAqa = 0x24;
inline constexpr uint32_t kAsq = 0x28;
inline constexpr uint32_t kAcq = 0x30;
inline constexpr uint32_t kDoorbells = 0x1000;
}  // namespace regs

// 3.1.3.5 CC fields.
inline constexpr uint32_t kCcEn = 1u << 0;
inline constexpr uint32_t CcCss(uint32_t v) { return v << 4; }
inline constexpr uint32_t CcMps(uint32_t v) { return v << 7; }
inline constexpr uint32_t CcAms(uint32_t v) { return v << 11; }
inline constexpr uint32_t CcShn(uint32_t v) { return v << 14; }
inline constexpr uint32_t kCcIoqes = (6u << 16) | (4u << 20);  // IOSQES=6 (64 B), IOCQES=4 (16 B)
// 3.1.3.6 CSTS fields.
inline constexpr uint32_t kCstsRdy = 1u << 0;
inline constexpr uint32_t kCstsCfs = 1u << 1;
inline constexpr uint32_t kCstsShstMask = 3u << 2;
inline constexpr uint32_t kCstsShstComplete = 2u << 2;
inline constexpr uint32_t kCstsNssro = 1u << 4;
// 3.1.3.7 NSSR: "NVMe".
inline constexpr uint32_t kNssrReset = 0x4E564D65;

// Figure 139: admin opcodes (the admin command set tests in tests/admin use them too).
namespace admin {
inline constexpr uint8_t kDeleteIoSq = 0x00;
inline constexpr uint8_t kCreateIoSq = 0x01;
inline constexpr uint8_t kGetLogPage = 0x02;
inline constexpr uint8_t kDeleteIoCq = 0x04;
inline constexpr uint8_t kCreateIoCq = 0x05;
inline constexpr uint8_t kIdentify = 0x06;
inline constexpr uint8_t kAbort = 0x08;
inline constexpr uint8_t kSetFeatures = 0x09;
inline constexpr uint8_t kGetFeatures = 0x0a;
inline constexpr uint8_t kAer = 0x0c;
inline constexpr uint8_t kNsMgmt = 0x0d;
inline constexpr uint8_t kFwCommit = 0x10;
inline constexpr uint8_t kFwDownload = 0x11;
inline constexpr uint8_t kSelfTest = 0x14;
inline constexpr uint8_t kNsAttach = 0x15;
inline constexpr uint8_t kKeepAlive = 0x18;
inline constexpr uint8_t kDoorbellBufferConfig = 0x7c;
inline constexpr uint8_t kFormat = 0x80;
}  // namespace admin

// NVM Command Set 1.0, Figure 20: I/O opcodes.
namespace io {
inline constexpr uint8_t kFlush = 0x00;
inline constexpr uint8_t kWrite = 0x01;
inline constexpr uint8_t kRead = 0x02;
}  // namespace io

// Figure 317: feature identifiers used here.
inline constexpr uint8_t kFidVolatileWriteCache = 0x06;
inline constexpr uint8_t kFidNumberOfQueues = 0x07;

// PCI configuration space (PCI Local Bus 3.0, 6.1; PCIe Base 4.0, 7.5.3 / 7.7.2).
namespace pci {
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kStatus = 0x06;
inline constexpr uint16_t kCapPtr = 0x34;
inline constexpr uint16_t kCmdMemory = 1u << 1;
inline constexpr uint16_t kCmdBusMaster = 1u << 2;
inline constexpr uint16_t kCmdIntxDisable = 1u << 10;
inline constexpr uint16_t kStsInterrupt = 1u << 3;
inline constexpr uint8_t kCapIdPcie = 0x10;
inline constexpr uint8_t kCapIdMsix = 0x11;
inline constexpr uint16_t kMsixEnable = 1u << 15;
inline constexpr uint16_t kMsixFunctionMask = 1u << 14;
inline constexpr uint16_t kDevCtlInitiateFlr = 1u << 15;
}  // namespace pci

inline constexpr uint64_t kMsiAddress = 0xfee00000;  // what the host library programs
inline constexpr auto kTimeout = std::chrono::milliseconds(5000);
// How long a test waits before concluding that something did NOT happen.
inline constexpr auto kQuiet = std::chrono::milliseconds(100);

// ---- Options ----

// A small controller: one 64 MiB RAM namespace, 32 MiB of host memory, MSI-X.
inline DriverOptions SmallOptions() {
  DriverOptions o;
  NamespaceConfig ns;
  ns.size_bytes = 64ull << 20;
  o.controller.namespaces = {ns};
  o.dma_bytes = 32ull << 20;
  return o;
}

// ---- Status checks ----

inline Status StatusOf(const Cqe& cqe) { return Status::FromField(cqe.status >> 1); }

// Compares Status Code Type and Status Code (not DNR/More/CRD).
inline ::testing::AssertionResult HasStatus(const Result<Cqe>& r, const Status& want) {
  if (!r.ok()) {
    return ::testing::AssertionFailure()
           << "no completion: " << r.error().message << " (expected " << want.ToString() << ")";
  }
  Status got = StatusOf(r.value());
  if (got.same_code(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "status " << got.ToString() << ", expected " << want.ToString();
}

#define EXPECT_STATUS(result, status) \
  EXPECT_TRUE(::nvemu::conformance::HasStatus((result), (status)))
#define ASSERT_STATUS(result, status) \
  ASSERT_TRUE(::nvemu::conformance::HasStatus((result), (status)))
#define EXPECT_SUCCESS(result) EXPECT_STATUS((result), ::nvemu::sc::kSuccess)
#define ASSERT_SUCCESS(result) ASSERT_STATUS((result), ::nvemu::sc::kSuccess)
// Marks a test that fails because of a known product bug (listed in the conformance report and
// ../bugs-from-conformance.txt). The test body stays: set NVEMU_CONFORMANCE_RUN_BUGS=1 to run it.
#define SKIP_BUG(why)                                                                         \
  do {                                                                                        \
    if (std::getenv("NVEMU_CONFORMANCE_RUN_BUGS") == nullptr) GTEST_SKIP() << "BUG: " << why; \
  } while (0)

// For nvemu::Result<T> values that are not completions (driver calls).
#define ASSERT_OK(result) ASSERT_TRUE((result).ok()) << (result).error().message
#define EXPECT_OK(result) EXPECT_TRUE((result).ok()) << (result).error().message

// ---- SQE builders (Figure 88 common format) ----

inline Sqe Cmd(uint8_t opc, uint32_t nsid = 0) {
  Sqe s{};
  s.opc = opc;
  s.nsid = nsid;
  return s;
}

// NVM Command Set 1.0, 3.2.4 / 3.2.6: `blocks` is the 1-based count (NLB = blocks - 1).
inline Sqe RwCmd(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t blocks) {
  Sqe s = Cmd(opc, nsid);
  s.cdw10 = static_cast<uint32_t>(slba);
  s.cdw11 = static_cast<uint32_t>(slba >> 32);
  s.cdw12 = (blocks - 1) & 0xffff;
  return s;
}
inline Sqe ReadCmd(uint32_t nsid, uint64_t slba, uint32_t blocks) {
  return RwCmd(io::kRead, nsid, slba, blocks);
}
inline Sqe WriteCmd(uint32_t nsid, uint64_t slba, uint32_t blocks) {
  return RwCmd(io::kWrite, nsid, slba, blocks);
}

// 5.17: CDW10 CNS, CDW11[31:24] CSI.
inline Sqe IdentifyCmd(uint8_t cns, uint32_t nsid = 0, uint8_t csi = 0) {
  Sqe s = Cmd(admin::kIdentify, nsid);
  s.cdw10 = cns;
  s.cdw11 = uint32_t{csi} << 24;
  return s;
}

// 5.4: `qsize` is the raw 0's based QSIZE field.
inline Sqe CreateCqCmd(uint16_t qid, uint32_t qsize, uint64_t prp1, bool pc = true, bool ien = true,
                       uint16_t iv = 0) {
  Sqe s = Cmd(admin::kCreateIoCq);
  s.prp1 = prp1;
  s.cdw10 = qid | (qsize << 16);
  s.cdw11 = (pc ? 1u : 0u) | (ien ? 2u : 0u) | (uint32_t{iv} << 16);
  return s;
}

// 5.5: `qsize` is the raw 0's based QSIZE field.
// `qprio`: 00b urgent, 01b high, 10b medium, 11b low (used with CC.AMS = 001b).
inline Sqe CreateSqCmd(uint16_t qid, uint32_t qsize, uint64_t prp1, uint16_t cqid, bool pc = true,
                       uint8_t qprio = 0) {
  Sqe s = Cmd(admin::kCreateIoSq);
  s.prp1 = prp1;
  s.cdw10 = qid | (qsize << 16);
  s.cdw11 = (pc ? 1u : 0u) | (uint32_t{qprio & 3u} << 1) | (uint32_t{cqid} << 16);
  return s;
}

inline Sqe DeleteSqCmd(uint16_t qid) {
  Sqe s = Cmd(admin::kDeleteIoSq);
  s.cdw10 = qid;
  return s;
}
inline Sqe DeleteCqCmd(uint16_t qid) {
  Sqe s = Cmd(admin::kDeleteIoCq);
  s.cdw10 = qid;
  return s;
}

// 5.27 / 5.15.
inline Sqe SetFeaturesCmd(uint8_t fid, uint32_t cdw11, bool save = false) {
  Sqe s = Cmd(admin::kSetFeatures);
  s.cdw10 = fid | (save ? 1u << 31 : 0u);
  s.cdw11 = cdw11;
  return s;
}
inline Sqe GetFeaturesCmd(uint8_t fid, uint8_t sel) {
  Sqe s = Cmd(admin::kGetFeatures);
  s.cdw10 = fid | (uint32_t{sel} << 8);
  return s;
}

// ---- Data patterns ----

// A position-dependent pattern: byte i of a buffer that holds data of `stream` at byte `offset`.
inline uint8_t PatternByte(uint64_t stream, uint64_t offset) {
  uint64_t x = (offset >> 3) * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull;
  x ^= x >> 29;
  return static_cast<uint8_t>(x >> (8 * (offset & 7)));
}
inline void FillPattern(uint8_t* p, size_t n, uint64_t stream, uint64_t offset) {
  for (size_t i = 0; i < n; ++i) p[i] = PatternByte(stream, offset + i);
}
// Returns the index of the first mismatching byte, or -1.
inline int64_t CheckPattern(const uint8_t* p, size_t n, uint64_t stream, uint64_t offset) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != PatternByte(stream, offset + i)) return static_cast<int64_t>(i);
  }
  return -1;
}

// Polls `pred` until it holds or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = kTimeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

// ---- A queue pair managed by the test itself (raw memory, raw doorbells) ----
//
// For tests that must control queue memory or doorbells directly (e.g. keep using a queue after
// the controller deleted it). Contiguous memory; the caller creates it on the controller.
class RawQueue {
 public:
  RawQueue(PcieDevice& dev, host::DmaArena& dma, uint16_t qid, uint32_t entries,
           uint32_t page_size = 4096)
      : dev_(dev), qid_(qid), entries_(entries) {
    auto sq = dma.Alloc(size_t{entries} * 64, page_size);
    auto cq = dma.Alloc(size_t{entries} * 16, page_size);
    if (sq.ok()) sq_ = *sq;
    if (cq.ok()) cq_ = *cq;
    uint64_t cap = dev.MmioRead(regs::kCap, 8);
    stride_ = 4u << ((cap >> 32) & 0xf);
  }
  bool ok() const { return sq_ && cq_; }
  uint16_t qid() const { return qid_; }
  uint32_t qsize() const { return entries_ - 1; }  // 0's based
  uint64_t sq_addr() const { return sq_.addr; }
  uint64_t cq_addr() const { return cq_.addr; }
  uint64_t sq_doorbell() const { return regs::kDoorbells + uint64_t{2u * qid_} * stride_; }
  uint64_t cq_doorbell() const { return regs::kDoorbells + uint64_t{2u * qid_ + 1} * stride_; }

  // Places `sqe` (with CID = the slot index) at the tail; rings when `ring`.
  uint16_t Submit(Sqe sqe, bool ring = true) {
    sqe.cid = static_cast<uint16_t>(tail_);
    std::memcpy(sq_.ptr + size_t{tail_} * 64, &sqe, 64);
    tail_ = (tail_ + 1) % entries_;
    if (ring) Ring();
    return sqe.cid;
  }
  void Ring() { dev_.MmioWrite(sq_doorbell(), 4, tail_); }

  // The entry at the CQ head if its phase tag is current (does not consume it).
  std::optional<Cqe> Peek() const {
    const uint8_t* slot = cq_.ptr + size_t{head_} * 16;
    uint32_t dw3 =
        std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(const_cast<uint8_t*>(slot) + 12))
            .load(std::memory_order_acquire);
    if (((dw3 >> 16) & 1) != (phase_ ? 1u : 0u)) return std::nullopt;
    Cqe c;
    std::memcpy(&c, slot, 12);
    std::memcpy(reinterpret_cast<uint8_t*>(&c) + 12, &dw3, 4);
    return c;
  }
  // Consumes the head entry; writes the CQ head doorbell when `ring`.
  void Consume(bool ring = true) {
    if (++head_ == entries_) {
      head_ = 0;
      phase_ = !phase_;
    }
    if (ring) RingHead();
  }
  void RingHead() { dev_.MmioWrite(cq_doorbell(), 4, head_); }
  // Waits for one completion and consumes it.
  std::optional<Cqe> Wait(std::chrono::milliseconds timeout = kTimeout) {
    std::optional<Cqe> c;
    WaitUntil([&] { return (c = Peek()).has_value(); }, timeout);
    if (c) Consume();
    return c;
  }
  Result<Cqe> Execute(const Sqe& sqe, std::chrono::milliseconds timeout = kTimeout) {
    Submit(sqe);
    auto c = Wait(timeout);
    if (!c) return Error{"raw queue: no completion"};
    return *c;
  }
  // True when no byte of the CQ memory was ever written by the controller.
  bool CqUntouched() const {
    for (size_t i = 0; i < cq_.size; ++i) {
      if (cq_.ptr[i] != 0) return false;
    }
    return true;
  }
  uint8_t* sq_ptr() { return sq_.ptr; }

 private:
  PcieDevice& dev_;
  uint16_t qid_;
  uint32_t entries_;
  uint32_t stride_ = 4;
  DmaBuffer sq_, cq_;
  uint32_t tail_ = 0;
  uint32_t head_ = 0;
  bool phase_ = true;
};

// ---- Fixture ----

class ConformanceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::err); }

  // Creates the driver and its device (enumerated, not enabled). Use as ASSERT_TRUE(Create(...)).
  bool Create(const DriverOptions& options = SmallOptions()) {
    drv_.reset();
    auto d = PcieDriver::Create(options);
    if (!d.ok()) {
      ADD_FAILURE() << "PcieDriver::Create: " << d.error().message;
      return false;
    }
    drv_ = std::move(d.value());
    return true;
  }
  // Creates and enables (NVMe Base 2.0, 3.5.1). Use as ASSERT_TRUE(Start(...)).
  bool Start(const DriverOptions& options = SmallOptions()) {
    if (!Create(options)) return false;
    auto r = drv_->Enable();
    if (!r.ok()) ADD_FAILURE() << "Enable: " << r.error().message;
    return r.ok();
  }

  PcieDriver& drv() { return *drv_; }
  PcieDevice& dev() { return drv_->device(); }

  uint32_t Reg32(uint32_t off) { return static_cast<uint32_t>(dev().MmioRead(off, 4)); }
  uint64_t Reg64(uint32_t off) { return dev().MmioRead(off, 8); }
  void WriteReg32(uint32_t off, uint32_t v) { dev().MmioWrite(off, 4, v); }
  uint64_t Cap() { return Reg64(regs::kCap); }
  uint32_t Csts() { return Reg32(regs::kCsts); }
  uint32_t Cc() { return Reg32(regs::kCc); }
  uint32_t DoorbellStride() { return 4u << ((Cap() >> 32) & 0xf); }

  // Waits until (CSTS & mask) == value.
  bool WaitCsts(uint32_t mask, uint32_t value, std::chrono::milliseconds timeout = kTimeout) {
    return WaitUntil([&] { return (Csts() & mask) == value; }, timeout);
  }

  DmaBuffer Alloc(size_t size, size_t align = 4096) {
    auto b = drv_->dma().Alloc(size, align);
    if (!b.ok()) {
      ADD_FAILURE() << "DMA alloc: " << b.error().message;
      return {};
    }
    return *b;
  }

  Result<Cqe> Admin(const Sqe& sqe, const DmaBuffer* data = nullptr, size_t len = 0) {
    return drv_->Admin(sqe, data, len);
  }
  Result<Cqe> Exec(IoQueue* q, const Sqe& sqe, const DmaBuffer* data = nullptr, size_t len = 0,
                   size_t offset = 0) {
    return q->Execute(sqe, kTimeout, data, len, offset);
  }
  IoQueue* MakeQueue(uint16_t qid, uint32_t entries = 64, bool contiguous = true) {
    auto q = drv_->CreateIoQueuePair(qid, entries, contiguous);
    if (!q.ok()) {
      ADD_FAILURE() << "CreateIoQueuePair(" << qid << "): " << q.error().message;
      return nullptr;
    }
    return *q;
  }

  // The PCI capability with `id`, or 0.
  uint16_t FindCapability(uint8_t id) {
    uint16_t cap = dev().ConfigRead(pci::kCapPtr, 1) & 0xfc;
    for (int guard = 0; cap != 0 && guard < 48; ++guard) {
      if ((dev().ConfigRead(cap, 1) & 0xff) == id) return cap;
      cap = dev().ConfigRead(cap + 1, 1) & 0xfc;
    }
    return 0;
  }

  // Writes a pattern over `blocks` LBAs at `slba`, reads them back into a fresh buffer and
  // compares. Returns a failure description, or "" on success.
  std::string RoundTrip(IoQueue* q, uint32_t nsid, uint64_t slba, uint32_t blocks,
                        uint32_t lba_size, uint64_t stream, size_t offset = 0) {
    size_t bytes = size_t{blocks} * lba_size;
    DmaBuffer w = Alloc(bytes + offset), r = Alloc(bytes + offset);
    if (!w || !r) return "allocation failed";
    FillPattern(w.ptr + offset, bytes, stream, slba * lba_size);
    std::string err;
    auto c = Exec(q, WriteCmd(nsid, slba, blocks), &w, bytes, offset);
    if (!HasStatus(c, sc::kSuccess)) {
      err = "write: " + std::string(HasStatus(c, sc::kSuccess).message());
    } else {
      c = Exec(q, ReadCmd(nsid, slba, blocks), &r, bytes, offset);
      if (!HasStatus(c, sc::kSuccess)) {
        err = "read: " + std::string(HasStatus(c, sc::kSuccess).message());
      } else if (int64_t bad = CheckPattern(r.ptr + offset, bytes, stream, slba * lba_size);
                 bad >= 0) {
        err = "data mismatch at byte " + std::to_string(bad);
      }
    }
    drv_->dma().Free(w);
    drv_->dma().Free(r);
    return err;
  }

  std::unique_ptr<PcieDriver> drv_;
};

}  // namespace nvemu::conformance
