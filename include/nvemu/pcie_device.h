// PcieDevice: an emulated NVMe controller as a PCI Express function (NVMe over PCIe).
//
// The embedder (a VMM, a simulator, or nvemu's own host library) owns host memory and interrupts and
// drives the device through configuration space and BAR0 accesses, exactly as a CPU would:
//   auto dev = PcieDevice::Create(config, host_memory, interrupt_sink, clock);
//   dev->MmioWrite(0x14, 4, cc);            // CC.EN = 1
//   dev->MmioWrite(0x1000, 4, sq_tail);     // admin SQ tail doorbell
// The device processes commands on its own reactor threads (one for the admin queue, `io_reactors` for
// I/O queues), reads and writes host memory through HostMemory and signals completions through the
// InterruptSink.
//
// Threading: every method may be called from any thread. Register writes are serialized internally
// (control path); doorbell writes are lock-free. The HostMemory, InterruptSink and Clock must outlive
// the device. Destroying the device stops its reactors; no callback runs after the destructor returns.
#pragma once

#include <cstdint>
#include <memory>

#include "nvemu/clock.h"
#include "nvemu/config.h"
#include "nvemu/host_memory.h"
#include "nvemu/interrupt_sink.h"
#include "nvemu/status.h"

namespace nvemu {

class PcieDevice {
 public:
  virtual ~PcieDevice() = default;

  // Builds the controller, its namespaces (opening file backends) and starts its reactors.
  // Fails on an invalid configuration or an unusable backend file.
  static Result<std::unique_ptr<PcieDevice>> Create(const ControllerConfig& config,
                                                    HostMemory& memory, InterruptSink& interrupts,
                                                    const Clock& clock);

  // PCI configuration space (4 KiB; conventional header + capabilities). `size` is 1, 2 or 4;
  // accesses that cross a dword are split by the caller as a root complex would. A write that
  // turns bus mastering off (Command.BME = 0, or a power state without DMA) returns once no reactor
  // can still be fetching or posting: call it from a host thread, not from a device reactor.
  virtual uint32_t ConfigRead(uint16_t offset, unsigned size) = 0;
  virtual void ConfigWrite(uint16_t offset, unsigned size, uint32_t value) = 0;

  // BAR0: controller registers at 0h, doorbells at 1000h, MSI-X table and PBA after the doorbells.
  // `size` is 1, 2, 4 or 8. Unsupported widths or reserved offsets read 0 / are dropped and logged.
  virtual uint64_t MmioRead(uint64_t offset, unsigned size) = 0;
  virtual void MmioWrite(uint64_t offset, unsigned size, uint64_t value) = 0;

  virtual uint64_t Bar0Size() const = 0;
  virtual uint32_t MsixTableOffset() const = 0;  // BAR0 offset of the MSI-X table
  virtual uint32_t MsixPbaOffset() const = 0;    // BAR0 offset of the MSI-X PBA

  // Stops the reactors after completing or aborting in-flight commands, as a power-off would; flushes
  // backends. Idempotent; the destructor calls it.
  virtual void Stop() = 0;
};

}  // namespace nvemu
