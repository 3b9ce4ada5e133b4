// Test helpers for the queue engine: a running in-process device (host::PcieDriver) with access to
// its reactors and queue groups, and raw queues that the test controls entry by entry (several SQs
// on one CQ, QPRIO, IEN/IV, doorbells written only when the test says so).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "nvemu/host/pcie_driver.h"
#include "pcie/pcie_device_impl.h"

namespace nvemu::perf_engine {

inline constexpr uint8_t kOpFlush = 0x00;
inline constexpr uint8_t kOpWrite = 0x01;
inline constexpr uint8_t kOpRead = 0x02;

// Spins (yielding) until `pred` or ~10 s.
template <typename Pred>
bool WaitUntil(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

inline host::DriverOptions Options(ProcessingMode mode, host::InterruptMode irq) {
  host::DriverOptions o;
  o.controller.mode = mode;
  o.controller.namespaces[0].size_bytes = 64ull << 20;
  o.controller.namespaces[0].lba_size = 4096;
  o.controller.timer_period_us = 20;
  o.controller.entries_per_tick = 4;
  o.interrupts = irq;
  return o;
}

// A created and enabled device.
struct Device {
  std::unique_ptr<host::PcieDriver> driver;
  pcie::PcieDeviceImpl* impl = nullptr;

  static Device Start(const host::DriverOptions& options) {
    Device d;
    auto drv = host::PcieDriver::Create(options);
    EXPECT_TRUE(drv.ok()) << drv.error().message;
    if (!drv.ok()) return d;
    d.driver = std::move(drv.value());
    auto en = d.driver->Enable();
    EXPECT_TRUE(en.ok()) << en.error().message;
    d.impl = dynamic_cast<pcie::PcieDeviceImpl*>(&d.driver->device());
    return d;
  }
  Controller& controller() { return impl->controller(); }
  engine::Reactor& reactor(size_t i = 0) { return impl->io_reactor(i); }
  pcie::QueueGroup& group(size_t i = 0) { return impl->io_group(i); }
  void Doorbell(uint32_t index, uint32_t value) {
    driver->device().MmioWrite(0x1000 + uint64_t{index} * 4, 4, value);
  }
  // Set Features (NVMe Base 2.0, 5.27) through the admin queue.
  uint16_t SetFeature(uint8_t fid, uint32_t dw11) {
    Sqe sqe{};
    sqe.opc = 0x09;
    sqe.cdw10 = fid;
    sqe.cdw11 = dw11;
    auto cqe = driver->Admin(sqe);
    EXPECT_TRUE(cqe.ok());
    return cqe.ok() ? cqe->status_field() : 0xffff;
  }
};

// Sets feature `fid` through Set Features; if the admin command set does not implement it (yet),
// stores it through the Controller accessor the queue engine reads (same effect on the engine).
inline void ApplyFeature(Device& d, uint8_t fid, uint32_t dw11) {
  if (d.SetFeature(fid, dw11) == 0) return;
  if (fid == 0x01) d.controller().set_arbitration(dw11);
  if (fid == 0x08) d.controller().set_interrupt_coalescing(dw11);
  if (fid == 0x09) d.controller().set_coalescing_disabled(dw11 & 0xffff, (dw11 >> 16) & 1);
}

// A completion queue the test reads entry by entry.
class RawCq {
 public:
  RawCq(Device& d, uint16_t qid, uint32_t entries, bool ien = false, uint16_t iv = 0)
      : d_(d), qid_(qid), entries_(entries) {
    auto mem = d.driver->dma().Alloc(size_t{entries} * 16);
    EXPECT_TRUE(mem.ok());
    mem_ = *mem;
    Sqe sqe{};
    sqe.opc = 0x05;  // Create I/O Completion Queue (5.4)
    sqe.prp1 = mem_.addr;
    sqe.cdw10 = qid | ((entries - 1) << 16);
    sqe.cdw11 = 1u | (ien ? 2u : 0u) | (uint32_t{iv} << 16);
    auto cqe = d.driver->Admin(sqe);
    EXPECT_TRUE(cqe.ok() && cqe->status_field() == 0) << "Create I/O CQ " << qid;
  }
  // The next completion if its phase tag is current.
  bool Peek(Cqe* out) {
    uint8_t* slot = mem_.ptr + size_t{head_} * 16;
    uint32_t dw3 = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(slot + 12))
                       .load(std::memory_order_acquire);
    if (((dw3 >> 16) & 1) != (phase_ ? 1u : 0u)) return false;
    std::memcpy(out, slot, 12);
    std::memcpy(reinterpret_cast<uint8_t*>(out) + 12, &dw3, 4);
    return true;
  }
  void Pop() {
    if (++head_ == entries_) {
      head_ = 0;
      phase_ = !phase_;
    }
  }
  void RingHead() { d_.Doorbell(2u * qid_ + 1, head_); }
  uint16_t qid() const { return qid_; }

 private:
  Device& d_;
  uint16_t qid_;
  uint32_t entries_;
  host::DmaBuffer mem_;
  uint32_t head_ = 0;
  bool phase_ = true;
};

// A submission queue the test fills and rings explicitly.
class RawSq {
 public:
  RawSq(Device& d, uint16_t qid, uint32_t entries, uint16_t cqid, uint8_t qprio = 0)
      : d_(d), qid_(qid), entries_(entries) {
    auto mem = d.driver->dma().Alloc(size_t{entries} * 64);
    EXPECT_TRUE(mem.ok());
    mem_ = *mem;
    Sqe sqe{};
    sqe.opc = 0x01;  // Create I/O Submission Queue (5.5)
    sqe.prp1 = mem_.addr;
    sqe.cdw10 = qid | ((entries - 1) << 16);
    sqe.cdw11 = 1u | (uint32_t{qprio & 3u} << 1) | (uint32_t{cqid} << 16);
    auto cqe = d.driver->Admin(sqe);
    EXPECT_TRUE(cqe.ok() && cqe->status_field() == 0) << "Create I/O SQ " << qid;
  }
  // Places `sqe` in the next slot without ringing.
  void Place(const Sqe& sqe) {
    std::memcpy(mem_.ptr + size_t{tail_} * 64, &sqe, 64);
    tail_ = (tail_ + 1) % entries_;
  }
  void Ring() {
    std::atomic_thread_fence(std::memory_order_release);
    d_.Doorbell(2u * qid_, tail_);
  }
  uint16_t qid() const { return qid_; }

 private:
  Device& d_;
  uint16_t qid_;
  uint32_t entries_;
  host::DmaBuffer mem_;
  uint32_t tail_ = 0;
};

// A Flush of namespace 1 (no data: the cheapest command) with the given CID.
inline Sqe FlushCmd(uint16_t cid) {
  Sqe s{};
  s.opc = kOpFlush;
  s.nsid = 1;
  s.cid = cid;
  return s;
}

}  // namespace nvemu::perf_engine
