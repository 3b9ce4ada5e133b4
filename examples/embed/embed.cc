// embed: the smallest useful embedder of nvemu's PCIe device.
//
// It plays the part of a VMM: it owns the "host memory" (a std::vector mapped at host address
// 0x1000'0000), receives the device's MSI-X messages through its own InterruptSink, and drives the
// emulated NVMe controller through PCI configuration space and BAR0 accesses only, exactly as a
// driver would on real hardware:
//   1. enable memory decoding, bus mastering and MSI-X (vector 0 programmed in the MSI-X table);
//   2. set up the admin queues (AQA/ASQ/ACQ) and enable the controller (CC.EN=1, wait CSTS.RDY=1);
//   3. submit one Identify Controller (CNS 01h), ring the admin SQ tail doorbell, wait for the
//      MSI-X message and the completion entry (phase tag), print the model number and NN;
//   4. disable the controller (CC.EN=0, wait CSTS.RDY=0).
// Exits 0 only if every step worked and the command completed with Successful Completion.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "nvemu/clock.h"
#include "nvemu/command.h"
#include "nvemu/config.h"
#include "nvemu/host_memory.h"
#include "nvemu/interrupt_sink.h"
#include "nvemu/pcie_device.h"
#include "nvemu/status.h"

namespace {

// --- The embedder's side: interrupts and memory ------------------------------------------------

// Counts MSI-X messages sent to the address/data pair we programmed; wakes a waiting thread.
class CountingInterruptSink final : public nvemu::InterruptSink {
 public:
  CountingInterruptSink(uint64_t addr, uint32_t data) : addr_(addr), data_(data) {}

  void Msi(uint64_t addr, uint32_t data) override {
    std::lock_guard lock(mu_);
    if (addr == addr_ && data == data_) {
      ++messages_;
    } else {
      ++stray_;
    }
    cv_.notify_all();
  }
  void Intx(bool asserted) override {
    std::lock_guard lock(mu_);
    if (asserted) ++intx_assertions_;
  }

  uint64_t messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  uint64_t stray() {
    std::lock_guard lock(mu_);
    return stray_;
  }
  // Waits until more than `seen` messages arrived. Returns false on timeout.
  bool WaitForMessage(uint64_t seen, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return messages_ > seen; });
  }

 private:
  const uint64_t addr_;
  const uint32_t data_;
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t messages_ = 0;
  uint64_t stray_ = 0;
  uint64_t intx_assertions_ = 0;
};

// Host memory layout (one 4 KiB page each).
constexpr uint64_t kHostBase = 0x1000'0000;
constexpr uint64_t kPage = 4096;
constexpr uint64_t kAsqAddr = kHostBase + 0 * kPage;       // admin submission queue
constexpr uint64_t kAcqAddr = kHostBase + 1 * kPage;       // admin completion queue
constexpr uint64_t kIdentifyAddr = kHostBase + 2 * kPage;  // Identify data buffer
constexpr size_t kHostSize = 4 * kPage;
constexpr uint16_t kAdminEntries = 16;

// MSI-X vector 0: an x86 LAPIC-style message address and an arbitrary data value.
constexpr uint64_t kMsiAddr = 0xfee0'0000;
constexpr uint32_t kMsiData = 0x4021;

// --- Register definitions (NVMe Base 2.0, 3.1.3; PCI Local Bus 3.0; PCIe Base 4.0, 7.7.2) --------

constexpr uint64_t kRegCap = 0x00;
constexpr uint64_t kRegVs = 0x08;
constexpr uint64_t kRegCc = 0x14;
constexpr uint64_t kRegCsts = 0x1c;
constexpr uint64_t kRegAqa = 0x24;
constexpr uint64_t kRegAsq = 0x28;
constexpr uint64_t kRegAcq = 0x30;
constexpr uint64_t kDoorbellBase = 0x1000;

constexpr uint32_t kCcEn = 1u << 0;
constexpr uint32_t kCcIosqes64 = 6u << 16;  // I/O SQ entry size 2^6 = 64 bytes
constexpr uint32_t kCcIocqes16 = 4u << 20;  // I/O CQ entry size 2^4 = 16 bytes
constexpr uint32_t kCstsRdy = 1u << 0;
constexpr uint32_t kCstsCfs = 1u << 1;

constexpr uint16_t kPciCommand = 0x04;
constexpr uint16_t kPciStatus = 0x06;
constexpr uint16_t kPciCapPtr = 0x34;
constexpr uint16_t kCommandMemory = 1u << 1;     // Memory Space Enable
constexpr uint16_t kCommandBusMaster = 1u << 2;  // Bus Master Enable
constexpr uint16_t kCommandIntxDisable = 1u << 10;
constexpr uint16_t kStatusCapList = 1u << 4;
constexpr uint8_t kCapIdMsix = 0x11;
constexpr uint16_t kMsixControlEnable = 1u << 15;
constexpr uint16_t kMsixControlMask = 1u << 14;

constexpr uint8_t kOpcIdentify = 0x06;
constexpr uint32_t kCnsController = 0x01;

int Fail(const char* what) {
  std::fprintf(stderr, "embed: FAILED: %s\n", what);
  return 1;
}

// Identify Controller string fields are ASCII, space padded (NVMe Base 2.0, Figure 275).
std::string AsciiField(const uint8_t* p, size_t len) {
  std::string s(reinterpret_cast<const char*>(p), len);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Walks the capability list from the Capabilities Pointer (34h); returns the offset of the
// capability with `id`, or 0.
uint16_t FindCapability(nvemu::PcieDevice& dev, uint8_t id) {
  if (!(dev.ConfigRead(kPciStatus, 2) & kStatusCapList)) return 0;
  uint16_t ptr = dev.ConfigRead(kPciCapPtr, 1) & 0xfc;
  for (int hops = 0; ptr != 0 && hops < 48; ++hops) {  // 48: the most a 256-byte space can hold
    if ((dev.ConfigRead(ptr, 1) & 0xff) == id) return ptr;
    ptr = dev.ConfigRead(ptr + 1, 1) & 0xfc;
  }
  return 0;
}

// Polls CSTS until (CSTS & mask) == want, CSTS.CFS is set, or `timeout` passes.
bool WaitCsts(nvemu::PcieDevice& dev, uint32_t mask, uint32_t want,
              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    uint32_t csts = static_cast<uint32_t>(dev.MmioRead(kRegCsts, 4));
    if (csts & kCstsCfs) return false;
    if ((csts & mask) == want) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

int Run() {
  // Host memory: the embedder allocates it and makes it visible to the device at kHostBase.
  std::vector<uint8_t> host(kHostSize, 0);
  nvemu::RegionHostMemory memory;
  if (!memory.AddRegion(kHostBase, host.data(), host.size())) return Fail("AddRegion");
  auto at = [&](uint64_t addr) { return host.data() + (addr - kHostBase); };

  CountingInterruptSink interrupts(kMsiAddr, kMsiData);
  nvemu::SystemClock clock;
  nvemu::ControllerConfig config;  // defaults: one 1 GiB RAM namespace

  auto created = nvemu::PcieDevice::Create(config, memory, interrupts, clock);
  if (!created) {
    std::fprintf(stderr, "embed: PcieDevice::Create: %s\n", created.error().message.c_str());
    return 1;
  }
  nvemu::PcieDevice& dev = *created.value();
  std::printf("device: vendor %04x device %04x, BAR0 %llu KiB, MSI-X table at BAR0+%#x\n",
              dev.ConfigRead(0x00, 2), dev.ConfigRead(0x02, 2),
              static_cast<unsigned long long>(dev.Bar0Size() / 1024), dev.MsixTableOffset());

  // 1. PCI: decode BAR0, allow DMA (bus mastering), no INTx; program and enable MSI-X vector 0.
  uint16_t command = dev.ConfigRead(kPciCommand, 2);
  dev.ConfigWrite(kPciCommand, 2,
                  command | kCommandMemory | kCommandBusMaster | kCommandIntxDisable);
  uint16_t msix = FindCapability(dev, kCapIdMsix);
  if (msix == 0) return Fail("no MSI-X capability in the capability list");
  uint16_t msix_control = dev.ConfigRead(msix + 2, 2);
  uint32_t table_bir = dev.ConfigRead(msix + 4, 4);
  if ((table_bir & 0x7) != 0 || (table_bir & ~0x7u) != dev.MsixTableOffset()) {
    return Fail("MSI-X Table Offset/BIR disagrees with MsixTableOffset()");
  }
  std::printf("MSI-X: capability at %#x, %u vectors\n", msix, (msix_control & 0x7ff) + 1u);
  uint64_t entry0 = dev.MsixTableOffset();  // 16 bytes: addr lo, addr hi, data, vector control
  dev.MmioWrite(entry0 + 0, 4, kMsiAddr & 0xffffffff);
  dev.MmioWrite(entry0 + 4, 4, kMsiAddr >> 32);
  dev.MmioWrite(entry0 + 8, 4, kMsiData);
  dev.MmioWrite(entry0 + 12, 4, 0);  // unmask
  dev.ConfigWrite(msix + 2, 2, (msix_control | kMsixControlEnable) & ~kMsixControlMask);

  // 2. NVMe: the controller must be disabled before the admin queues are set up.
  uint64_t cap = dev.MmioRead(kRegCap, 8);
  uint32_t vs = static_cast<uint32_t>(dev.MmioRead(kRegVs, 4));
  unsigned dstrd = (cap >> 32) & 0xf;
  unsigned mpsmin = (cap >> 48) & 0xf;
  auto timeout = std::chrono::milliseconds(500 * std::max<uint64_t>((cap >> 24) & 0xff, 1));
  std::printf("controller: NVMe %u.%u.%u, CAP.MQES %llu, CAP.DSTRD %u, CAP.TO %llu ms\n", vs >> 16,
              (vs >> 8) & 0xff, vs & 0xff, static_cast<unsigned long long>((cap & 0xffff) + 1),
              dstrd, static_cast<unsigned long long>(timeout.count()));
  if (mpsmin != 0) return Fail("controller does not support 4 KiB pages (CAP.MPSMIN)");
  if (!WaitCsts(dev, kCstsRdy, 0, timeout)) return Fail("CSTS.RDY did not clear before setup");

  const uint64_t sq0_tail_doorbell = kDoorbellBase + 0 * (4u << dstrd);
  const uint64_t cq0_head_doorbell = kDoorbellBase + 1 * (4u << dstrd);
  dev.MmioWrite(kRegAqa, 4, (kAdminEntries - 1u) << 16 | (kAdminEntries - 1u));  // ACQS | ASQS
  dev.MmioWrite(kRegAsq, 8, kAsqAddr);
  dev.MmioWrite(kRegAcq, 8, kAcqAddr);
  dev.MmioWrite(kRegCc, 4, kCcEn | kCcIosqes64 | kCcIocqes16);  // CSS=NVM, MPS=4 KiB, AMS=RR
  if (!WaitCsts(dev, kCstsRdy, kCstsRdy, timeout)) return Fail("CSTS.RDY did not become 1");
  std::printf("controller: enabled (CSTS.RDY=1)\n");

  // 3. Identify Controller (NVMe Base 2.0, 5.17) into the page at kIdentifyAddr.
  nvemu::Sqe sqe{};
  sqe.opc = kOpcIdentify;
  sqe.cid = 0x0001;
  sqe.prp1 = kIdentifyAddr;
  sqe.cdw10 = kCnsController;
  std::memcpy(at(kAsqAddr), &sqe, sizeof(sqe));  // slot 0
  uint64_t seen = interrupts.messages();
  dev.MmioWrite(sq0_tail_doorbell, 4, 1);  // new SQ tail

  // The device writes the CQE, then sends the MSI-X message; the sink's mutex orders the two.
  bool got_interrupt = interrupts.WaitForMessage(seen, std::chrono::seconds(10));
  nvemu::Cqe cqe;
  std::memcpy(&cqe, at(kAcqAddr), sizeof(cqe));  // slot 0
  if (!cqe.phase()) return Fail("no completion entry (phase tag still 0)");
  if (!got_interrupt) return Fail("completion posted but no MSI-X message for vector 0");
  dev.MmioWrite(cq0_head_doorbell, 4, 1);  // consumed CQ slot 0

  nvemu::Status status = nvemu::Status::FromField(cqe.status_field());
  std::printf("identify: CID %u, SQ head %u, status %s\n", cqe.cid, cqe.sqhd,
              status.ToString().c_str());
  if (cqe.cid != sqe.cid) return Fail("completion for an unexpected command identifier");
  int rc = 0;
  if (!status.ok()) {
    rc = Fail("Identify Controller did not complete successfully");
  } else {
    const uint8_t* id = at(kIdentifyAddr);
    std::string serial = AsciiField(id + 4, 20);  // SN, bytes 23:04
    std::string model = AsciiField(id + 24, 40);  // MN, bytes 63:24
    std::string fw = AsciiField(id + 64, 8);      // FR, bytes 71:64
    uint32_t nn = Le32(id + 516);                 // NN, bytes 519:516
    std::printf("model number:  %s\nserial number: %s\nfirmware:      %s\nnamespaces:    %u\n",
                model.c_str(), serial.c_str(), fw.c_str(), nn);
    if (model != config.model) rc = Fail("model number differs from ControllerConfig::model");
    if (nn == 0) rc = Fail("Identify Controller reports no namespaces (NN=0)");
  }

  // 4. Disable the controller (a controller reset) and wait for CSTS.RDY=0.
  dev.MmioWrite(kRegCc, 4, kCcIosqes64 | kCcIocqes16);
  if (!WaitCsts(dev, kCstsRdy, 0, timeout)) rc = Fail("CSTS.RDY did not clear after CC.EN=0");
  dev.Stop();
  std::printf("interrupts: %llu MSI-X message(s), %llu stray\n",
              static_cast<unsigned long long>(interrupts.messages()),
              static_cast<unsigned long long>(interrupts.stray()));
  if (interrupts.stray() != 0) rc = Fail("MSI-X message with an unexpected address/data");
  if (rc == 0) std::printf("embed: OK\n");
  return rc;
}

}  // namespace

int main() { return Run(); }
