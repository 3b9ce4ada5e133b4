// InterruptSink: where the PCIe function's interrupts go (MSI-X messages and the INTx line).
//
// The embedder installs one; the host library's implementation wakes waiting host threads.
// Threading: called from any reactor thread, possibly concurrently; implementations must be thread-safe.
#pragma once

#include <cstdint>

namespace nvemu {

class InterruptSink {
 public:
  virtual ~InterruptSink() = default;
  // An MSI-X message: the device wrote `data` to `addr` (the vector's Message Address/Data).
  virtual void Msi(uint64_t addr, uint32_t data) = 0;
  // The level of the INTx pin (INTA#) changed: true = asserted.
  virtual void Intx(bool asserted) = 0;
};

}  // namespace nvemu
