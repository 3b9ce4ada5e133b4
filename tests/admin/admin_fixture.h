// Fixture for the admin command set conformance tests (issue #3): the conformance fixture
// (tests/conformance/fixture.h: spec constants spelled out independently of src/, the driver,
// DMA, WaitUntil) with a ManualClock so that time (power-on hours, self-test progress,
// timestamps) is deterministic, plus admin-command helpers returning the status as SCT << 8 | SC.
//
// Status codes are spelled out from the specification here (NVMe Base 2.0), independently of
// src/, so that a wrong constant in the product fails a test.
#pragma once

#include <gtest/gtest.h>
#include <nvme/types.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../conformance/fixture.h"
#include "core/admin/admin_state.h"
#include "core/controller.h"
#include "nvemu/clock.h"
#include "nvemu/host/pcie_driver.h"
#include "pcie/pcie_device_impl.h"

namespace nvemu::admin_test {

using host::DmaBuffer;
using host::DriverOptions;
using host::PcieDriver;

// Admin opcodes (Figure 139) and the NVM Read/Write opcodes, from the conformance fixture.
namespace op {
using namespace conformance::admin;
using conformance::io::kRead;
using conformance::io::kWrite;
}  // namespace op

// Figures 94/95: status values as (SCT << 8 | SC).
namespace st {
inline constexpr uint16_t kSuccess = 0x000;
inline constexpr uint16_t kInvalidField = 0x002;
inline constexpr uint16_t kAbortRequested = 0x007;
inline constexpr uint16_t kInvalidNamespace = 0x00b;
inline constexpr uint16_t kCommandSequence = 0x00c;
inline constexpr uint16_t kLbaOutOfRange = 0x080;
inline constexpr uint16_t kAbortLimit = 0x103;
inline constexpr uint16_t kAerLimit = 0x105;
inline constexpr uint16_t kInvalidFwSlot = 0x106;
inline constexpr uint16_t kInvalidFwImage = 0x107;
inline constexpr uint16_t kInvalidLogPage = 0x109;
inline constexpr uint16_t kInvalidFormat = 0x10a;
inline constexpr uint16_t kFwNeedsReset = 0x111;  // Firmware Activation Requires CLR
inline constexpr uint16_t kNotSaveable = 0x10d;
inline constexpr uint16_t kOverlappingRange = 0x114;
inline constexpr uint16_t kInsufficientCapacity = 0x115;
inline constexpr uint16_t kNsidUnavailable = 0x116;
inline constexpr uint16_t kAlreadyAttached = 0x118;
inline constexpr uint16_t kNotAttached = 0x11a;
inline constexpr uint16_t kThinNotSupported = 0x11b;
inline constexpr uint16_t kControllerListInvalid = 0x11c;
inline constexpr uint16_t kSelfTestInProgress = 0x11d;
}  // namespace st

// SCT/SC of a completion (DNR and More dropped).
inline uint16_t Code(const Cqe& c) { return (c.status >> 1) & 0x7ff; }

inline Sqe Cmd(uint8_t opc, uint32_t nsid = 0, uint32_t cdw10 = 0, uint32_t cdw11 = 0) {
  Sqe s{};
  s.opc = opc;
  s.nsid = nsid;
  s.cdw10 = cdw10;
  s.cdw11 = cdw11;
  return s;
}

class AdminTest : public ::testing::Test {
 protected:
  // A small RAM controller; tests adjust config() before Start().
  AdminTest() {
    options_.dma_bytes = 32ull << 20;
    options_.clock = &clock_;
    options_.command_timeout = std::chrono::milliseconds(5000);
    ControllerConfig& c = options_.controller;
    c.io_reactors = 1;
    c.max_io_queues = 8;
    c.msix_vectors = 9;
    c.namespaces = {NamespaceConfig{}};
    c.namespaces[0].size_bytes = 16ull << 20;
  }
  ~AdminTest() override { Stop(); }

  ControllerConfig& config() { return options_.controller; }
  DriverOptions& options() { return options_; }

  void Start() {
    auto d = PcieDriver::Create(options_);
    ASSERT_TRUE(d.ok()) << d.error().message;
    drv_ = std::move(d.value());
    auto en = drv_->Enable();
    ASSERT_TRUE(en.ok()) << en.error().message;
  }
  void Stop() {
    if (!drv_) return;
    for (auto& b : buffers_) drv_->dma().Free(b);
    buffers_.clear();
    drv_.reset();
  }
  // Controller Level Reset: CC.EN 1 -> 0 -> 1.
  void Reset() {
    ASSERT_TRUE(drv_->Disable().ok());
    ASSERT_TRUE(drv_->Enable().ok());
  }

  PcieDriver& drv() { return *drv_; }
  Controller& ctrl() { return static_cast<pcie::PcieDeviceImpl&>(drv_->device()).controller(); }
  ManualClock& clock() { return clock_; }

  DmaBuffer Alloc(size_t bytes) {
    auto b = drv_->dma().Alloc(bytes);
    EXPECT_TRUE(b.ok());
    std::memset(b->ptr, 0, b->size);
    buffers_.push_back(*b);
    return *b;
  }

  Cqe Admin(const Sqe& sqe, const DmaBuffer* data = nullptr, size_t len = 0) {
    auto c = drv_->Admin(sqe, data, len);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : Cqe{};
  }
  uint16_t Status(const Sqe& sqe, const DmaBuffer* data = nullptr, size_t len = 0) {
    return Code(Admin(sqe, data, len));
  }

  // Identify into a vector.
  uint16_t Identify(uint8_t cns, uint32_t nsid, std::vector<uint8_t>* out, uint32_t cdw10_hi = 0) {
    DmaBuffer b = Alloc(4096);
    uint16_t s = Status(Cmd(op::kIdentify, nsid, cns | cdw10_hi << 16), &b, 4096);
    out->assign(b.ptr, b.ptr + 4096);
    return s;
  }
  template <typename T>
  static T As(const std::vector<uint8_t>& v) {
    T t{};
    std::memcpy(&t, v.data(), std::min(sizeof(T), v.size()));
    return t;
  }
  nvme_id_ctrl IdCtrl() {
    std::vector<uint8_t> v;
    EXPECT_EQ(Identify(1, 0, &v), st::kSuccess);
    return As<nvme_id_ctrl>(v);
  }
  nvme_id_ns IdNs(uint32_t nsid, uint8_t cns = 0) {
    std::vector<uint8_t> v;
    EXPECT_EQ(Identify(cns, nsid, &v), st::kSuccess);
    return As<nvme_id_ns>(v);
  }

  // Get Log Page: `len` bytes from `offset`; RAE as given.
  uint16_t GetLog(uint8_t lid, size_t len, std::vector<uint8_t>* out, uint64_t offset = 0,
                  bool rae = false, uint32_t nsid = 0xffffffff, uint32_t cdw14 = 0) {
    DmaBuffer b = Alloc(std::max<size_t>(len, 4096));
    uint32_t numd = static_cast<uint32_t>(len / 4 - 1);
    Sqe s =
        Cmd(op::kGetLogPage, nsid, lid | (rae ? 1u << 15 : 0) | (numd & 0xffff) << 16, numd >> 16);
    s.cdw12 = static_cast<uint32_t>(offset);
    s.cdw13 = static_cast<uint32_t>(offset >> 32);
    s.cdw14 = cdw14;
    uint16_t r = Status(s, &b, len);
    if (out) out->assign(b.ptr, b.ptr + len);
    return r;
  }
  template <typename T>
  T Log(uint8_t lid, bool rae = false) {
    std::vector<uint8_t> v;
    EXPECT_EQ(GetLog(lid, sizeof(T), &v, 0, rae), st::kSuccess) << "log " << +lid;
    return As<T>(v);
  }

  Cqe SetFeature(uint8_t fid, uint32_t cdw11, bool save = false, uint32_t nsid = 0) {
    return Admin(Cmd(op::kSetFeatures, nsid, fid | (save ? 1u << 31 : 0), cdw11));
  }
  Cqe GetFeature(uint8_t fid, uint8_t sel = 0, uint32_t cdw11 = 0) {
    return Admin(Cmd(op::kGetFeatures, 0, fid | uint32_t{sel} << 8, cdw11));
  }

  // Submits without waiting (AERs, Aborts); Wait() collects the completion later.
  uint16_t Submit(const Sqe& sqe) {
    auto cid = drv_->admin_queue().Submit(sqe);
    EXPECT_TRUE(cid.ok()) << cid.error().message;
    return cid.ok() ? *cid : 0xffff;
  }
  bool Wait(uint16_t cid, Cqe* out, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    auto c = drv_->admin_queue().Wait(cid, timeout);
    if (!c.ok()) return false;
    *out = *c;
    return true;
  }

  // Waits until the controller holds `n` outstanding AERs (they are submitted asynchronously).
  bool WaitOutstandingAers(size_t n) {
    return conformance::WaitUntil([&] { return ctrl().async_events().outstanding() == n; });
  }

  // I/O queue 1 and a read/write of `blocks` blocks of namespace `nsid`.
  host::IoQueue* IoQ() {
    if (drv_->io_queue(1) == nullptr) {
      auto q = drv_->CreateIoQueuePair(1, 64);
      EXPECT_TRUE(q.ok()) << q.error().message;
    }
    return drv_->io_queue(1);
  }
  uint16_t Io(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t blocks, DmaBuffer* buf,
              size_t bytes) {
    Sqe s = Cmd(opc, nsid, static_cast<uint32_t>(slba), static_cast<uint32_t>(slba >> 32));
    s.cdw12 = blocks - 1;
    auto c = IoQ()->Execute(s, std::chrono::seconds(5), buf, bytes);
    EXPECT_TRUE(c.ok());
    return c.ok() ? Code(*c) : 0xffff;
  }

  ManualClock clock_;
  DriverOptions options_;
  std::unique_ptr<PcieDriver> drv_;
  std::vector<DmaBuffer> buffers_;
};

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/nvemu-admin-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace nvemu::admin_test
