// PCI Express configuration space of the NVMe function; see config_space.h for the contract.
#include "pcie/config_space.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>
#include <memory>
#include <string>
#include <utility>

namespace nvemu::pcie {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  auto logger = spdlog::get("pcie");
  return logger ? logger : spdlog::default_logger();
}

constexpr uint64_t kMinBar0Size = 16 * 1024;
constexpr uint16_t kMaxMsixVectors = 2048;  // Table Size is 11 bits (PCIe Base 4.0, 7.7.2.2)

// Class code 010802h: mass storage / Non-Volatile Memory controller / NVM Express
// (PCI Code and ID Assignment, Appendix D; NVMe 1.4, 2.1.5 CC).
constexpr uint8_t kClassBase = 0x01;
constexpr uint8_t kClassSub = 0x08;
constexpr uint8_t kClassProgIf = 0x02;

// BAR0 type bits (PCI Local Bus 3.0, 6.2.5.1): bit 0 = 0 memory, bits 2:1 = 10b 64-bit,
// bit 3 = 0 non-prefetchable. Bits 3:0 are read-only.
constexpr uint32_t kBarMem64 = 0x4;
constexpr uint32_t kBarTypeMask = 0xf;

// Command bits software may set; the others (I/O Space, Special Cycles, MWI, VGA snoop, IDSEL
// stepping, Fast Back-to-Back) are hardwired to 0 for a PCIe function (PCIe Base 4.0, 7.5.1.1.3).
constexpr uint16_t kCommandWmask = ConfigSpace::kCmdMemorySpace | ConfigSpace::kCmdBusMaster |
                                   ConfigSpace::kCmdParityErrorResponse |
                                   ConfigSpace::kCmdSerrEnable | ConfigSpace::kCmdIntxDisable;
// Status error bits, RW1C (PCIe Base 4.0, 7.5.1.1.4): Master Data Parity Error (8), Signaled
// Target Abort (11), Received Target Abort (12), Received Master Abort (13), Signaled System Error
// (14), Detected Parity Error (15).
constexpr uint16_t kStatusW1c = 0xf900;

// PCI Bus Power Management Interface 1.2, 3.2.3 PMC: Version 011b (1.2); no D1/D2, no PME.
constexpr uint16_t kPmcValue = 0x0003;
// 3.2.4 PMCSR: PowerState (1:0) RW; No_Soft_Reset (3) set: D3hot -> D0 keeps the function's
// state; PME_En/PME_Status read 0 (no PME support).
constexpr uint16_t kPmcsrPowerStateMask = 0x0003;
constexpr uint16_t kPmcsrNoSoftReset = 1u << 3;
constexpr uint8_t kPowerStateD0 = 0;
constexpr uint8_t kPowerStateD3Hot = 3;

// PCIe Base 4.0, 7.5.3.2 PCI Express Capabilities: Capability Version 2h, Device/Port Type 0000b
// (PCI Express Endpoint), no slot, Interrupt Message Number 0.
constexpr uint16_t kPcieCapsValue = 0x0002;
// 7.5.3.3 Device Capabilities: Max_Payload_Size Supported 000b (128 bytes), no phantom functions
// or extended tags, Endpoint L0s/L1 Acceptable Latency 111b (no limit), Role-Based Error Reporting
// (15, required since 1.1), Function Level Reset Capability (28).
constexpr uint32_t kDevCapValue = (7u << 6) | (7u << 9) | (1u << 15) | (1u << 28);
// 7.5.3.4 Device Control. Power-on value: Enable Relaxed Ordering (4) and Enable No Snoop (11)
// set, Max_Read_Request_Size 010b (512 bytes). RW: error reporting enables (3:0), Relaxed Ordering
// (4), Max_Payload_Size (7:5), No Snoop (11), Max_Read_Request_Size (14:12), Initiate FLR (15,
// always reads 0). Extended Tag, Phantom Functions and Aux Power PM are hardwired 0.
constexpr uint16_t kDevCtlValue = (1u << 4) | (1u << 11) | (2u << 12);
constexpr uint16_t kDevCtlWmask = 0x000f | 0x0010 | 0x00e0 | 0x0800 | 0x7000 | 0x8000;
constexpr uint16_t kDevCtlMaxPayloadMask = 0x00e0;
// 7.5.3.5 Device Status: Correctable/Non-Fatal/Fatal/Unsupported Request Detected are RW1C.
constexpr uint16_t kDevStsW1c = 0x000f;
// 7.5.3.6 Link Capabilities: Max Link Speed 3h (Supported Link Speeds Vector bit 2: 8.0 GT/s),
// Maximum Link Width x4, no ASPM, Port Number 0.
constexpr uint32_t kLinkCapValue = 0x3 | (4u << 4);
// 7.5.3.7 Link Control RW: ASPM Control (1:0), RCB (3), Common Clock Configuration (6), Extended
// Synch (7). FLR preserves exactly these (6.6.2).
constexpr uint16_t kLinkCtlWmask = 0x00cb;
// 7.5.3.8 Link Status: Current Link Speed 3h, Negotiated Link Width x4, Slot Clock Configuration.
constexpr uint16_t kLinkStsValue = 0x3 | (4u << 4) | (1u << 12);
// 7.5.3.15 Device Capabilities 2: Completion Timeout Disable Supported (4); no timeout ranges.
constexpr uint32_t kDevCap2Value = 1u << 4;
// 7.5.3.16 Device Control 2: Completion Timeout Disable (4) RW; the rest hardwired 0.
constexpr uint16_t kDevCtl2Wmask = 1u << 4;
// 7.5.3.18 Link Capabilities 2: Supported Link Speeds Vector 2.5, 5.0 and 8.0 GT/s (bits 3:1).
constexpr uint32_t kLinkCap2Value = 0x0e;
// 7.5.3.19 Link Control 2: Target Link Speed 3h (8.0 GT/s), read-only here.
constexpr uint16_t kLinkCtl2Value = 0x3;

bool ValidAccess(uint16_t off, unsigned size) {
  if (size != 1 && size != 2 && size != 4) return false;
  if (off >= ConfigSpace::kSize) return false;
  return (off & 3u) + size <= 4;  // byte enables of one dword
}

}  // namespace

Result<void> ConfigSpace::Validate(const ConfigSpaceParams& p) {
  if (p.bar0_size < kMinBar0Size || !std::has_single_bit(p.bar0_size)) {
    return Error{fmt::format("BAR0 size {:#x} is not a power of two >= 16 KiB", p.bar0_size)};
  }
  if (p.msix_vectors < 1 || p.msix_vectors > kMaxMsixVectors) {
    return Error{fmt::format("MSI-X vectors {} not in 1..2048", p.msix_vectors)};
  }
  if ((p.msix_table_offset & 7u) != 0 || (p.msix_pba_offset & 7u) != 0) {
    return Error{"MSI-X table and PBA offsets must be 8-byte aligned"};
  }
  const uint64_t table_end = uint64_t{p.msix_table_offset} + uint64_t{p.msix_vectors} * 16;
  const uint64_t pba_end = uint64_t{p.msix_pba_offset} + (uint64_t{p.msix_vectors} + 63) / 64 * 8;
  if (table_end > p.bar0_size || pba_end > p.bar0_size) {
    return Error{fmt::format("MSI-X table [{:#x},{:#x}) or PBA [{:#x},{:#x}) outside BAR0 ({:#x})",
                             p.msix_table_offset, table_end, p.msix_pba_offset, pba_end,
                             p.bar0_size)};
  }
  if (p.msix_table_offset < pba_end && p.msix_pba_offset < table_end) {
    return Error{"MSI-X table and PBA overlap"};
  }
  return {};
}

ConfigSpace::ConfigSpace(const ConfigSpaceParams& params) : params_(params) {
  if (auto r = Validate(params_); !r.ok()) {
    Log()->error("pcie: invalid config space parameters ({}); clamping", r.error().message);
    params_.bar0_size =
        std::bit_ceil(std::clamp<uint64_t>(params_.bar0_size, kMinBar0Size, uint64_t{1} << 62));
    params_.msix_vectors = std::clamp<uint16_t>(params_.msix_vectors, 1, kMaxMsixVectors);
    params_.msix_table_offset &= ~7u;
    params_.msix_pba_offset &= ~7u;
  }
  Build();
  UpdateMirrors();
}

void ConfigSpace::Set8(uint16_t off, uint8_t v, uint8_t wmask, uint8_t w1cmask) {
  data_[off] = v;
  wmask_[off] = wmask;
  w1cmask_[off] = w1cmask;
}

void ConfigSpace::Set16(uint16_t off, uint16_t v, uint16_t wmask, uint16_t w1cmask) {
  for (unsigned i = 0; i < 2; ++i) {
    Set8(off + i, static_cast<uint8_t>(v >> (8 * i)), static_cast<uint8_t>(wmask >> (8 * i)),
         static_cast<uint8_t>(w1cmask >> (8 * i)));
  }
}

void ConfigSpace::Set32(uint16_t off, uint32_t v, uint32_t wmask, uint32_t w1cmask) {
  Set16(off, static_cast<uint16_t>(v), static_cast<uint16_t>(wmask),
        static_cast<uint16_t>(w1cmask));
  Set16(off + 2, static_cast<uint16_t>(v >> 16), static_cast<uint16_t>(wmask >> 16),
        static_cast<uint16_t>(w1cmask >> 16));
}

uint16_t ConfigSpace::Get16(uint16_t off) const {
  return static_cast<uint16_t>(data_[off] | (data_[off + 1] << 8));
}

uint32_t ConfigSpace::Get32(uint16_t off) const {
  return uint32_t{Get16(off)} | (uint32_t{Get16(off + 2)} << 16);
}

void ConfigSpace::Build() {
  data_.fill(0);
  wmask_.fill(0);
  w1cmask_.fill(0);

  // Type 0 header (PCI Local Bus 3.0, 6.2; PCIe Base 4.0, 7.5.1).
  Set16(kVendorId, params_.vendor_id);
  Set16(kDeviceId, params_.device_id);
  Set16(kCommand, 0, kCommandWmask);
  Set16(kStatus, kStsCapabilitiesList, 0, kStatusW1c);
  Set8(kRevisionId, params_.revision_id);
  Set8(kClassCode, kClassProgIf);
  Set8(kClassCode + 1, kClassSub);
  Set8(kClassCode + 2, kClassBase);
  Set8(kCacheLineSize, 0, 0xff);  // RW, no effect on PCIe (7.5.1.1.7)
  Set8(kHeaderType, 0x00);        // type 0, single function

  // BAR0/BAR1: one 64-bit memory BAR. Address bits below the size are read-only 0, so writing all
  // 1s reads back the size mask (PCI Local Bus 3.0, 6.2.5.1). BAR2-5, CardBus CIS and Expansion
  // ROM are not implemented and read 0.
  const uint64_t addr_mask = ~(params_.bar0_size - 1);
  Set32(kBar0, kBarMem64, static_cast<uint32_t>(addr_mask) & ~kBarTypeMask);
  Set32(kBar1, 0, static_cast<uint32_t>(addr_mask >> 32));

  Set16(kSubsystemVendorId, params_.subsystem_vendor_id);
  Set16(kSubsystemId, params_.subsystem_id);
  Set8(kCapabilitiesPointer, kPmCap);
  Set8(kInterruptLine, 0, 0xff);  // RW scratch for system software (6.2.4)
  Set8(kInterruptPin, 0x01);      // INTA#

  // Power Management capability (PCI PM 1.2, 3.2).
  Set8(kPmCap, kCapIdPm);
  Set8(kPmCap + 1, kMsixCap);
  Set16(kPmc, kPmcValue);
  Set16(kPmcsr, kPmcsrNoSoftReset, kPmcsrPowerStateMask);

  // MSI-X capability (PCIe Base 4.0, 7.7.2): Table Size is N-1, read-only; Function Mask and MSI-X
  // Enable RW; table and PBA in BAR0 (BIR 0), offsets read-only.
  Set8(kMsixCap, kCapIdMsix);
  Set8(kMsixCap + 1, static_cast<uint8_t>(kPcieCap));
  Set16(kMsixControl, static_cast<uint16_t>(params_.msix_vectors - 1),
        kMsixCtlFunctionMask | kMsixCtlEnable);
  Set32(kMsixTable, params_.msix_table_offset);  // BIR (2:0) = 0
  Set32(kMsixPba, params_.msix_pba_offset);

  // PCI Express capability, version 2, Endpoint (PCIe Base 4.0, 7.5.3). Slot and Root registers
  // (14h..23h) and the "2" registers after Link Control 2 are not applicable and read 0.
  Set8(kPcieCap, kCapIdPcie);
  Set8(kPcieCap + 1, 0);  // end of list
  Set16(kPcieCapabilities, kPcieCapsValue);
  Set32(kDeviceCapabilities, kDevCapValue);
  Set16(kDeviceControl, kDevCtlValue, kDevCtlWmask);
  Set16(kDeviceStatus, 0, 0, kDevStsW1c);
  Set32(kLinkCapabilities, kLinkCapValue);
  Set16(kLinkControl, 0, kLinkCtlWmask);
  Set16(kLinkStatus, kLinkStsValue);
  Set32(kDeviceCapabilities2, kDevCap2Value);
  Set16(kDeviceControl2, 0, kDevCtl2Wmask);
  Set32(kLinkCapabilities2, kLinkCap2Value);
  Set16(kLinkControl2, kLinkCtl2Value);

  // Extended configuration space: a zero header at 100h means "no extended capabilities"
  // (PCIe Base 4.0, 7.6.1). Everything from 100h on is read-only 0.
}

void ConfigSpace::UpdateMirrors() {
  const uint16_t cmd = Get16(kCommand);
  const uint16_t msix = Get16(kMsixControl);
  const bool d0 = PowerState() == kPowerStateD0;
  memory_enabled_.store(d0 && (cmd & kCmdMemorySpace));
  bus_master_enabled_.store(d0 && (cmd & kCmdBusMaster));
  intx_disabled_.store(cmd & kCmdIntxDisable);
  msix_enabled_.store(msix & kMsixCtlEnable);
  msix_function_masked_.store(msix & kMsixCtlFunctionMask);
}

uint32_t ConfigSpace::Read(uint16_t off, unsigned size) const {
  if (!ValidAccess(off, size)) {
    Log()->warn("pcie: invalid config read off={:#x} size={}; returning 0", off, size);
    return 0;
  }
  uint32_t value = 0;
  for (unsigned i = 0; i < size; ++i) {
    uint8_t b = data_[off + i];
    if (off + i == kStatus && interrupt_status_.load()) b |= kStsInterruptStatus;
    value |= uint32_t{b} << (8 * i);
  }
  return value;
}

void ConfigSpace::Write(uint16_t off, unsigned size, uint32_t value) {
  if (!ValidAccess(off, size)) {
    Log()->warn("pcie: invalid config write off={:#x} size={} value={:#x}; ignored", off, size,
                value);
    return;
  }
  const uint16_t old_cmd = Get16(kCommand);
  const uint16_t old_msix = Get16(kMsixControl);
  const uint8_t old_power_state = data_[kPmcsr] & kPmcsrPowerStateMask;

  for (unsigned i = 0; i < size; ++i) {
    const unsigned b = off + i;
    const auto v = static_cast<uint8_t>(value >> (8 * i));
    uint8_t n = static_cast<uint8_t>((data_[b] & ~wmask_[b]) | (v & wmask_[b]));
    n = static_cast<uint8_t>(n & ~(v & w1cmask_[b]));
    data_[b] = n;
  }

  // PCI PM 1.2, 3.2.4: a write of an unsupported state (D1, D2) completes normally but is
  // discarded.
  const uint8_t power_state = data_[kPmcsr] & kPmcsrPowerStateMask;
  if (power_state != kPowerStateD0 && power_state != kPowerStateD3Hot) {
    Log()->debug("pcie: PMCSR PowerState D{} not supported; ignored", power_state);
    data_[kPmcsr] = static_cast<uint8_t>((data_[kPmcsr] & ~kPmcsrPowerStateMask) | old_power_state);
  }

  // PCIe Base 4.0, 7.5.3.4 / 6.6.2: Initiate Function Level Reset always reads 0; writing 1 resets
  // the function.
  const uint8_t flr_bit = kDevCtlInitiateFlr >> 8;
  if (data_[kDeviceControl + 1] & flr_bit) {
    data_[kDeviceControl + 1] &= static_cast<uint8_t>(~flr_bit);
    Log()->info("pcie: Function Level Reset");
    Reset();
    if (callbacks_.flr) callbacks_.flr();
    return;
  }

  UpdateMirrors();
  const uint16_t cmd = Get16(kCommand);
  const uint16_t msix = Get16(kMsixControl);
  if (((cmd ^ old_cmd) & kCmdIntxDisable) && callbacks_.intx_disable_changed) {
    callbacks_.intx_disable_changed();
  }
  if (((msix ^ old_msix) & (kMsixCtlEnable | kMsixCtlFunctionMask)) &&
      callbacks_.msix_control_changed) {
    callbacks_.msix_control_changed();
  }
}

void ConfigSpace::Reset() {
  // PCIe Base 4.0, 6.6.2: FLR must not modify Max_Payload_Size, ASPM Control, RCB, Common Clock
  // Configuration and Extended Synch. Interrupt Line is kept too: it is written once by system
  // software at enumeration and is not used by the function.
  const uint8_t irq_line = data_[kInterruptLine];
  const uint16_t mps = Get16(kDeviceControl) & kDevCtlMaxPayloadMask;
  const uint16_t link_ctl = Get16(kLinkControl) & kLinkCtlWmask;

  Build();

  data_[kInterruptLine] = irq_line;
  Set16(kDeviceControl,
        static_cast<uint16_t>((Get16(kDeviceControl) & ~kDevCtlMaxPayloadMask) | mps),
        kDevCtlWmask);
  Set16(kLinkControl, link_ctl, kLinkCtlWmask);
  interrupt_status_.store(false);
  UpdateMirrors();
}

void ConfigSpace::RecordErrors(uint16_t status_bits, uint16_t device_status_bits) {
  Set16(kStatus, static_cast<uint16_t>(Get16(kStatus) | (status_bits & kStatusW1c)), 0, kStatusW1c);
  Set16(kDeviceStatus,
        static_cast<uint16_t>(Get16(kDeviceStatus) | (device_status_bits & kDevStsW1c)), 0,
        kDevStsW1c);
}

void ConfigSpace::SetCallbacks(Callbacks callbacks) { callbacks_ = std::move(callbacks); }

uint8_t ConfigSpace::PowerState() const { return data_[kPmcsr] & kPmcsrPowerStateMask; }

uint64_t ConfigSpace::Bar0Address() const {
  return ((uint64_t{Get32(kBar1)} << 32) | Get32(kBar0)) & ~uint64_t{kBarTypeMask};
}

}  // namespace nvemu::pcie
