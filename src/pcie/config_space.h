// ConfigSpace: the 4 KiB PCI Express configuration space of nvemu's NVMe function.
//
// A type 0 header (PCI Local Bus 3.0, 6.1; PCIe Base 4.0, 7.5.1) for an NVMe controller (class code
// 010802h; NVMe 1.4, 2.1 "PCI Header", now the NVMe over PCIe Transport specification), a 64-bit
// non-prefetchable
// BAR0 and a dword-aligned capability list:
//
//   40h  Power Management (PCI PM 1.2, 3.2)          next 50h
//   50h  MSI-X (PCIe Base 4.0, 7.7.2)                 next 60h
//   60h  PCI Express, version 2, Endpoint (7.5.3)     next 00h
//   100h extended capability header 0 (no extended capabilities; PCIe Base 4.0, 7.6.1)
//
// The space is modelled as bytes plus per-byte masks: bits in `wmask` are read-write, bits in
// `w1cmask` are write-1-to-clear, every other bit is read-only; unimplemented (reserved) bytes read
// 0. A few registers have side effects (BAR sizing falls out of the masks; Initiate FLR, PMCSR
// PowerState, Interrupt Status) and are handled explicitly.
//
// Accesses are `size` 1, 2 or 4 bytes within one dword, as a root complex issues them (byte enables
// within a dword). Anything else (other sizes, crossing a dword, offset >= 4096) is logged on the
// "pcie" spdlog logger and ignored; reads return 0. Nothing here crashes on guest input.
//
// Threading: Read/Write/Reset/SetCallbacks/Bar0Address are control-path calls and must be
// serialized by the caller. The state the interrupt path needs (MemoryEnabled, BusMasterEnabled,
// IntxDisabled, MsixEnabled, MsixFunctionMasked) is mirrored in atomics and may be read from any
// thread concurrently with Write. SetInterruptStatus may be called from any thread (it is an atomic
// too). Callbacks run synchronously inside Write(), on the caller's thread, after the new register
// value is visible; they must not call Write() re-entrantly.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>

#include "nvemu/status.h"

namespace nvemu::pcie {

// Identity and layout of the function. Plain data; see ConfigSpace::Validate for the rules.
struct ConfigSpaceParams {
  uint16_t vendor_id = 0x8086;
  uint16_t device_id = 0x0111;
  uint16_t subsystem_vendor_id = 0x8086;
  uint16_t subsystem_id = 0x0111;
  uint8_t revision_id = 0x01;
  uint64_t bar0_size = 16 * 1024;  // power of two, >= 16 KiB
  uint16_t msix_vectors = 1;       // MSI-X Table Size + 1 (1..2048)
  uint32_t msix_table_offset = 0;  // BAR0 offset of the MSI-X table (BIR 0), 8-byte aligned
  uint32_t msix_pba_offset = 0;    // BAR0 offset of the MSI-X PBA (BIR 0), 8-byte aligned
};

class ConfigSpace {
 public:
  static constexpr uint16_t kSize = 4096;

  // Register offsets (type 0 header: PCI Local Bus 3.0, 6.1, Figure 6-1).
  static constexpr uint16_t kVendorId = 0x00;
  static constexpr uint16_t kDeviceId = 0x02;
  static constexpr uint16_t kCommand = 0x04;
  static constexpr uint16_t kStatus = 0x06;
  static constexpr uint16_t kRevisionId = 0x08;
  static constexpr uint16_t kClassCode = 0x09;  // 3 bytes: programming interface, subclass, base
  static constexpr uint16_t kCacheLineSize = 0x0c;
  static constexpr uint16_t kHeaderType = 0x0e;
  static constexpr uint16_t kBar0 = 0x10;
  static constexpr uint16_t kBar1 = 0x14;
  static constexpr uint16_t kSubsystemVendorId = 0x2c;
  static constexpr uint16_t kSubsystemId = 0x2e;
  static constexpr uint16_t kExpansionRom = 0x30;
  static constexpr uint16_t kCapabilitiesPointer = 0x34;
  static constexpr uint16_t kInterruptLine = 0x3c;
  static constexpr uint16_t kInterruptPin = 0x3d;

  // Capability structures (offsets of their first byte, the Capability ID).
  static constexpr uint16_t kPmCap = 0x40;
  static constexpr uint16_t kMsixCap = 0x50;
  static constexpr uint16_t kPcieCap = 0x60;
  static constexpr uint16_t kExtCap = 0x100;

  // Capability IDs (PCI Code and ID Assignment, 2).
  static constexpr uint8_t kCapIdPm = 0x01;
  static constexpr uint8_t kCapIdPcie = 0x10;
  static constexpr uint8_t kCapIdMsix = 0x11;

  // Registers inside the capabilities.
  static constexpr uint16_t kPmc = kPmCap + 0x02;            // PM Capabilities
  static constexpr uint16_t kPmcsr = kPmCap + 0x04;          // PM Control/Status
  static constexpr uint16_t kMsixControl = kMsixCap + 0x02;  // Message Control
  static constexpr uint16_t kMsixTable = kMsixCap + 0x04;    // Table Offset/Table BIR
  static constexpr uint16_t kMsixPba = kMsixCap + 0x08;      // PBA Offset/PBA BIR
  static constexpr uint16_t kPcieCapabilities = kPcieCap + 0x02;
  static constexpr uint16_t kDeviceCapabilities = kPcieCap + 0x04;
  static constexpr uint16_t kDeviceControl = kPcieCap + 0x08;
  static constexpr uint16_t kDeviceStatus = kPcieCap + 0x0a;
  static constexpr uint16_t kLinkCapabilities = kPcieCap + 0x0c;
  static constexpr uint16_t kLinkControl = kPcieCap + 0x10;
  static constexpr uint16_t kLinkStatus = kPcieCap + 0x12;
  static constexpr uint16_t kDeviceCapabilities2 = kPcieCap + 0x24;
  static constexpr uint16_t kDeviceControl2 = kPcieCap + 0x28;
  static constexpr uint16_t kLinkCapabilities2 = kPcieCap + 0x2c;
  static constexpr uint16_t kLinkControl2 = kPcieCap + 0x30;

  // Command register bits (PCIe Base 4.0, 7.5.1.1.3).
  static constexpr uint16_t kCmdMemorySpace = 1u << 1;
  static constexpr uint16_t kCmdBusMaster = 1u << 2;
  static constexpr uint16_t kCmdParityErrorResponse = 1u << 6;
  static constexpr uint16_t kCmdSerrEnable = 1u << 8;
  static constexpr uint16_t kCmdIntxDisable = 1u << 10;
  // Status register bits (7.5.1.1.4).
  static constexpr uint16_t kStsInterruptStatus = 1u << 3;
  static constexpr uint16_t kStsCapabilitiesList = 1u << 4;
  // Message Control bits (7.7.2.2).
  static constexpr uint16_t kMsixCtlFunctionMask = 1u << 14;
  static constexpr uint16_t kMsixCtlEnable = 1u << 15;
  // Device Control: Initiate Function Level Reset (7.5.3.4).
  static constexpr uint16_t kDevCtlInitiateFlr = 1u << 15;

  // Invoked inside Write() after the change is visible (see the threading note above).
  struct Callbacks {
    std::function<void()> msix_control_changed =
        nullptr;  // Message Control Enable/Function Mask changed
    std::function<void()> intx_disable_changed = nullptr;  // Command.INTx Disable changed
    // Initiate FLR was written as 1. The config space has already returned to its power-on state
    // (see Reset()); the callee resets the rest of the function (controller, Interrupts::Reset()).
    std::function<void()> flr = nullptr;
  };

  // Checks `params`: BAR0 size a power of two >= 16 KiB; 1..2048 vectors; table and PBA offsets
  // 8-byte aligned (their low 3 bits hold the BIR), inside BAR0 and not overlapping.
  static Result<void> Validate(const ConfigSpaceParams& params);

  // REQUIRES: Validate(params).ok(). Invalid parameters are logged and clamped to something valid
  // rather than aborting.
  explicit ConfigSpace(const ConfigSpaceParams& params);

  ConfigSpace(const ConfigSpace&) = delete;
  ConfigSpace& operator=(const ConfigSpace&) = delete;

  // Configuration read/write of `size` (1, 2, 4) bytes at `off`, little-endian. Invalid accesses
  // are logged and ignored (reads return 0).
  uint32_t Read(uint16_t off, unsigned size) const;
  void Write(uint16_t off, unsigned size, uint32_t value);

  // Returns every register to its power-on value (as after Function Level Reset; PCIe Base 4.0,
  // 6.6.2), except the fields an FLR must preserve: Interrupt Line, Device Control
  // Max_Payload_Size and the Link Control fields listed there. Does not invoke callbacks.
  void Reset();

  // Records error conditions detected by the function (e.g. a failed DMA: Received Master Abort in
  // Status, Unsupported Request Detected in Device Status). Only the RW1C error bits of Status
  // (F900h) and Device Status (000Fh) are taken; software clears them by writing 1s. Control path.
  void RecordErrors(uint16_t status_bits, uint16_t device_status_bits);

  // Replaces all callbacks. Control path; not while a Write() is running.
  void SetCallbacks(Callbacks callbacks);

  // Interrupt-path state: lock-free, any thread.
  // Command.Memory Space / Bus Master Enable, and the function in D0: in D3hot a function decodes
  // only configuration requests and initiates no transactions (PCI PM 1.2, chapter 5, D3hot).
  bool MemoryEnabled() const { return memory_enabled_.load(); }
  bool BusMasterEnabled() const { return bus_master_enabled_.load(); }
  bool IntxDisabled() const { return intx_disabled_.load(); }
  bool MsixEnabled() const { return msix_enabled_.load(); }
  bool MsixFunctionMasked() const { return msix_function_masked_.load(); }

  // Status.Interrupt Status (bit 3): the function's internal INTx state (Interrupts drives it).
  // Any thread.
  void SetInterruptStatus(bool pending) { interrupt_status_.store(pending); }

  // The 64-bit BAR0 base address as programmed (BAR0 | BAR1 << 32, type bits cleared). Control
  // path. While software is sizing the BAR this is the size mask, as on hardware.
  uint64_t Bar0Address() const;
  // PMCSR.PowerState: 0 (D0) or 3 (D3hot). Control path.
  uint8_t PowerState() const;
  uint64_t Bar0Size() const { return params_.bar0_size; }
  uint16_t MsixVectors() const { return params_.msix_vectors; }
  const ConfigSpaceParams& params() const { return params_; }

 private:
  void Build();
  void Set8(uint16_t off, uint8_t v, uint8_t wmask = 0, uint8_t w1cmask = 0);
  void Set16(uint16_t off, uint16_t v, uint16_t wmask = 0, uint16_t w1cmask = 0);
  void Set32(uint16_t off, uint32_t v, uint32_t wmask = 0, uint32_t w1cmask = 0);
  uint16_t Get16(uint16_t off) const;
  uint32_t Get32(uint16_t off) const;
  void UpdateMirrors();

  // Constant after construction.
  ConfigSpaceParams params_;

  // Control path (serialized by the caller).
  std::array<uint8_t, kSize> data_{};
  std::array<uint8_t, kSize> wmask_{};
  std::array<uint8_t, kSize> w1cmask_{};
  Callbacks callbacks_;

  // Mirrors for the interrupt path; written on the control path, read from any thread.
  std::atomic<bool> memory_enabled_{false};
  std::atomic<bool> bus_master_enabled_{false};
  std::atomic<bool> intx_disabled_{false};
  std::atomic<bool> msix_enabled_{false};
  std::atomic<bool> msix_function_masked_{false};
  // Written from any thread (Interrupts), merged into reads of the Status register.
  std::atomic<bool> interrupt_status_{false};
};

}  // namespace nvemu::pcie
