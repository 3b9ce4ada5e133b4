// libFuzzer target: the NVMe over PCIe front end as a host drives it (PcieDevice: configuration
// space, BAR0 registers, doorbells, SQ entries in host memory). Each input is a program of host
// operations run against a fresh device over 256 KiB of host memory:
//   00 MMIO write    offset:u16 (register window + doorbells + MSI-X) size:u8 value:u64
//   01 MMIO read     offset:u32 size:u8
//   02 doorbell      index:u8 (2y = SQ y tail, 2y+1 = CQ y head) value:u16
//   03 config write  offset:u16 size:u8 value:u32
//   04 memory write  offset:u16 (into host memory) length:u8 bytes...
//   05 enable        admin queues at fixed addresses, memory + bus master on, CC.EN = 1
//   06 admin SQE     64 bytes placed at the admin SQ tail, tail doorbell rung
//   07 I/O queue     Create I/O CQ 1 + SQ 1 (16 entries) through the admin queue
//   08 I/O SQE       64 bytes placed at SQ 1's tail, tail doorbell rung
//   09 wait          lets the reactors run for a moment
// The device must never crash, trip a sanitizer, leak or hang (libFuzzer's -timeout); CSTS must
// only ever hold defined bits. The device runs reactor threads, so a run is not bit-for-bit
// reproducible: crashes found here are reproduced by re-running the input a few times.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "nvemu/clock.h"
#include "nvemu/config.h"
#include "nvemu/host_memory.h"
#include "nvemu/interrupt_sink.h"
#include "nvemu/pcie_device.h"

using namespace nvemu;

namespace {

constexpr uint64_t kHostBase = 0x1000'0000;
constexpr size_t kHostSize = 256 * 1024;
constexpr uint64_t kAsq = kHostBase;
constexpr uint64_t kAcq = kHostBase + 0x1000;
constexpr uint64_t kIoSq = kHostBase + 0x2000;
constexpr uint64_t kIoCq = kHostBase + 0x3000;
constexpr uint32_t kAdminEntries = 16;
constexpr uint32_t kIoEntries = 16;
constexpr uint64_t kCstsDefinedBits = 0x7f;  // RDY, CFS, SHST, NSSRO, PP, ST

class NullSink final : public InterruptSink {
 public:
  void Msi(uint64_t, uint32_t) override {}
  void Intx(bool) override {}
};

// Reads little-endian fields from the input; reads past the end yield zeros.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint64_t Take(unsigned bytes) {
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) {
      if (pos_ < size_) v |= uint64_t{data_[pos_++]} << (8 * i);
    }
    return v;
  }
  void TakeBytes(uint8_t* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(Take(1));
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

unsigned AccessSize(uint64_t sel) {
  static constexpr unsigned kSizes[] = {1, 2, 4, 8};
  return kSizes[sel & 3];
}

class Host {
 public:
  Host() : memory_(kHostSize, 0) {
    mem_.AddRegion(kHostBase, memory_.data(), memory_.size());
    ControllerConfig c;
    c.max_io_queues = 4;
    c.msix_vectors = 4;
    c.io_reactors = 1;
    c.namespaces.assign(1, NamespaceConfig{});
    c.namespaces[0].size_bytes = 1 << 20;
    auto d = PcieDevice::Create(c, mem_, sink_, clock_);
    if (!d.ok()) std::abort();
    dev_ = std::move(d.value());
    stride_ = 4u << ((dev_->MmioRead(0x0, 8) >> 32) & 0xf);
  }

  void Run(Reader& in) {
    while (!in.done()) {
      switch (in.Take(1) % 10) {
        case 0: {
          uint64_t off = in.Take(2);
          unsigned size = AccessSize(in.Take(1));
          dev_->MmioWrite(off, size, in.Take(8));
          break;
        }
        case 1: {
          uint64_t off = in.Take(4) % dev_->Bar0Size();
          (void)dev_->MmioRead(off, AccessSize(in.Take(1)));
          break;
        }
        case 2: {
          uint64_t index = in.Take(1) % 12;
          dev_->MmioWrite(0x1000 + index * stride_, 4, in.Take(2));
          break;
        }
        case 3: {
          uint16_t off = static_cast<uint16_t>(in.Take(2) & 0xfff);
          unsigned size = AccessSize(in.Take(1) % 3);
          dev_->ConfigWrite(off, size, static_cast<uint32_t>(in.Take(4)));
          break;
        }
        case 4: {
          size_t off = in.Take(2) % kHostSize;
          size_t len = std::min<size_t>(in.Take(1), kHostSize - off);
          in.TakeBytes(memory_.data() + off, len);
          break;
        }
        case 5:
          Enable();
          break;
        case 6:
          SubmitAdmin(in);
          break;
        case 7:
          CreateIoQueues();
          break;
        case 8:
          SubmitIo(in);
          break;
        case 9:
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          break;
      }
      // While BAR0 decodes (Memory Space Enable), CSTS never shows undefined bits.
      if ((dev_->ConfigRead(0x04, 2) & 0x2) && (dev_->MmioRead(0x1c, 4) & ~kCstsDefinedBits)) {
        std::abort();
      }
    }
  }

 private:
  void Enable() {
    dev_->ConfigWrite(0x04, 2, 0x6 | (1u << 10));  // memory space, bus master, INTx disabled
    dev_->MmioWrite(0x24, 4, (kAdminEntries - 1) | ((kAdminEntries - 1) << 16));
    dev_->MmioWrite(0x28, 8, kAsq);
    dev_->MmioWrite(0x30, 8, kAcq);
    dev_->MmioWrite(0x14, 4, 1u | (6u << 16) | (4u << 20));
    admin_tail_ = 0;
    io_tail_ = 0;
  }
  void Place(uint64_t ring, uint32_t slot, const uint8_t* sqe) {
    std::memcpy(memory_.data() + (ring - kHostBase) + size_t{slot} * 64, sqe, 64);
  }
  void SubmitAdmin(Reader& in) {
    uint8_t sqe[64];
    in.TakeBytes(sqe, sizeof(sqe));
    Place(kAsq, admin_tail_, sqe);
    admin_tail_ = (admin_tail_ + 1) % kAdminEntries;
    dev_->MmioWrite(0x1000, 4, admin_tail_);
  }
  void CreateIoQueues() {
    uint8_t sqe[64] = {};
    uint32_t cdw10 = 1 | ((kIoEntries - 1) << 16);
    sqe[0] = 0x05;  // Create I/O Completion Queue, PC=1, IEN=0
    std::memcpy(sqe + 24, &kIoCq, 8);
    std::memcpy(sqe + 40, &cdw10, 4);
    uint32_t cdw11 = 1;
    std::memcpy(sqe + 44, &cdw11, 4);
    Place(kAsq, admin_tail_, sqe);
    admin_tail_ = (admin_tail_ + 1) % kAdminEntries;
    sqe[0] = 0x01;  // Create I/O Submission Queue on CQ 1, PC=1
    std::memcpy(sqe + 24, &kIoSq, 8);
    cdw11 = 1 | (1u << 16);
    std::memcpy(sqe + 44, &cdw11, 4);
    Place(kAsq, admin_tail_, sqe);
    admin_tail_ = (admin_tail_ + 1) % kAdminEntries;
    dev_->MmioWrite(0x1000, 4, admin_tail_);
    io_tail_ = 0;
  }
  void SubmitIo(Reader& in) {
    uint8_t sqe[64];
    in.TakeBytes(sqe, sizeof(sqe));
    Place(kIoSq, io_tail_, sqe);
    io_tail_ = (io_tail_ + 1) % kIoEntries;
    dev_->MmioWrite(0x1000 + 2 * stride_, 4, io_tail_);
  }

  std::vector<uint8_t> memory_;
  RegionHostMemory mem_;
  NullSink sink_;
  SystemClock clock_;
  std::unique_ptr<PcieDevice> dev_;
  uint32_t stride_ = 4;
  uint32_t admin_tail_ = 0;
  uint32_t io_tail_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);  // bad input is logged by design; keep the fuzzer fast
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader in(data, size);
  Host host;  // a fresh device per input; its destructor stops the reactors (no hang allowed)
  host.Run(in);
  return 0;
}
