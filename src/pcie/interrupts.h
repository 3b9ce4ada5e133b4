// Interrupts: the NVMe function's interrupt logic — MSI-X table and PBA, and the INTx pin.
//
// MSI-X (PCIe Base 4.0, 6.1.4 and 7.7.2): a table of `vectors` 16-byte entries (Message Address
// low/high, Message Data, Vector Control) and a Pending Bit Array, both living in BAR0 at the
// offsets advertised by the ConfigSpace MSI-X capability; the BAR0 dispatcher forwards accesses
// with table/PBA-relative offsets. Reset state: every vector masked, no bits pending. A signalled
// vector that is masked (per vector, or the whole function through Message Control Function Mask)
// sets its pending bit; when it becomes unmasked the message is sent and the bit cleared (6.1.4.5).
// nvmeqemu never replayed pending vectors; nvemu does.
//
// INTx (pin-based, NVMe over PCIe; "Pin Based, Single MSI, and Multiple MSI Behavior", NVMe 1.4
// 7.5.1): used while MSI-X is disabled. The queue layer reports per vector whether completion
// queues mapped to it hold entries the host has not consumed (SetIntxSource); the controller
// reports its INTMS mask (NVMe Base 2.0, 3.1.3 INTMS/INTMC; SetIntMask). The function's internal
// interrupt state is "some pending source vector is not masked by INTMS"; it is reflected in
// Status.Interrupt Status, and INTA# is asserted while that state is set and Command.INTx Disable
// is 0 (PCIe Base 4.0, 7.5.1.1.3/7.5.1.1.4). Only level changes reach InterruptSink::Intx.
//
// Wiring (done by the owner of both objects):
//   config.SetCallbacks({.msix_control_changed = [&] { irq.OnMsixControlChanged(); },
//                        .intx_disable_changed = [&] { irq.OnIntxDisableChanged(); },
//                        .flr = [&] { irq.Reset(); /* + controller reset */ }});
//
// Threading:
//  - Signal() may be called from any reactor thread, concurrently. With MSI-X enabled it is
//    lock-free: table entries and PBA words are atomics (sequentially consistent, so a Signal
//    racing with an unmask delivers exactly once). With MSI-X disabled it takes the INTx mutex.
//  - ReadTable/ReadPba may run concurrently with anything. WriteTable, WritePba,
//    OnMsixControlChanged, OnIntxDisableChanged and Reset are control-path calls, serialized by the
//    caller (with each other and with ConfigSpace writes), but may run concurrently with Signal.
//  - SetIntxSource/SetIntMask may be called from any thread (INTx mutex).
//  - Reset() while Signal() runs concurrently leaves a consistent but unspecified result (a racing
//    Signal may re-pend its vector); quiesce the reactors first for an exact reset.
//  - The sink is called without locks for MSI-X and under the INTx mutex for INTx (so level
//    changes are reported in order); it must not call back into this object.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "nvemu/interrupt_sink.h"
#include "pcie/config_space.h"

namespace nvemu::pcie {

class Interrupts {
 public:
  static constexpr uint32_t kEntrySize = 16;          // bytes per MSI-X table entry
  static constexpr uint32_t kVectorControlMask = 1u;  // Vector Control bit 0: Mask Bit

  // `vectors` (1..2048) should equal config.MsixVectors(). `sink` and `config` must outlive this
  // object. The config space is not const: Interrupts drives its Status.Interrupt Status bit.
  Interrupts(uint16_t vectors, InterruptSink& sink, ConfigSpace& config);

  Interrupts(const Interrupts&) = delete;
  Interrupts& operator=(const Interrupts&) = delete;

  uint16_t vectors() const { return vectors_; }
  uint32_t TableBytes() const { return uint32_t{vectors_} * kEntrySize; }
  uint32_t PbaBytes() const { return (uint32_t{vectors_} + 63) / 64 * 8; }

  // MSI-X table access, `off` relative to the table. Aligned 4- and 8-byte accesses only
  // (PCIe Base 4.0, 6.1.4.2); anything else, or outside the table, is logged and ignored (reads
  // return 0). Reserved Vector Control bits read 0.
  uint64_t ReadTable(uint32_t off, unsigned size) const;
  void WriteTable(uint32_t off, unsigned size, uint64_t value);

  // PBA access, `off` relative to the PBA; same width rules. The PBA is read-only: writes are
  // logged and dropped.
  uint64_t ReadPba(uint32_t off, unsigned size) const;
  void WritePba(uint32_t off, unsigned size, uint64_t value);

  // Requests interrupt `vector` (a completion was posted to a CQ with interrupts enabled).
  // MSI-X enabled: sends the vector's message, or sets its pending bit if it is masked.
  // MSI-X disabled: SetIntxSource(vector, true). Out-of-range vectors are logged and ignored.
  void Signal(uint16_t vector);

  // ConfigSpace callbacks. OnMsixControlChanged delivers pending vectors if MSI-X is now enabled
  // and the function unmasked, and re-evaluates INTx (MSI-X enable disables INTx). Both re-evaluate
  // the INTx pin.
  void OnMsixControlChanged();
  void OnIntxDisableChanged();

  // INTx sources: `pending` = CQs mapped to `vector` hold unconsumed entries. In INTx mode every CQ
  // uses vector 0, but any vector is accepted (single/multiple-message MSI semantics of INTMS).
  void SetIntxSource(uint16_t vector, bool pending);
  // The controller's INTMS value: bit v masks vector v (v < 32); vectors >= 32 are never masked.
  void SetIntMask(uint32_t intms);
  // The INTA# level last reported to the sink.
  bool IntxAsserted() const { return intx_asserted_.load(); }

  // Function Level Reset / power-on (PCIe Base 4.0, 6.6.2): all vectors masked with zero
  // address/data, PBA cleared, INTx sources and INTMS cleared, INTA# deasserted (reported if it
  // was asserted). Not for a controller reset (CC.EN 1 -> 0), which leaves the MSI-X table alone.
  void Reset();

 private:
  struct Entry {
    std::atomic<uint32_t> addr_lo{0};
    std::atomic<uint32_t> addr_hi{0};
    std::atomic<uint32_t> data{0};
    std::atomic<uint32_t> control{kVectorControlMask};
  };

  bool VectorMasked(uint16_t vector) const;
  void Deliver(uint16_t vector);
  void DeliverIfPending(uint16_t vector);
  void ReplayPending();
  uint32_t ReadTableDword(uint32_t off) const;
  void WriteTableDword(uint32_t off, uint32_t value);
  void UpdateIntxLocked();

  // Constant after construction.
  const uint16_t vectors_;
  InterruptSink& sink_;
  ConfigSpace& config_;

  // MSI-X state: lock-free.
  std::unique_ptr<Entry[]> table_;
  std::unique_ptr<std::atomic<uint64_t>[]> pba_;

  // INTx state. A mutex is acceptable here: pin-based interrupts are a legacy mode and never the
  // fast path (the I/O path uses MSI-X, which takes no lock).
  std::mutex intx_mu_;
  std::vector<uint64_t> intx_sources_;      // GUARDED_BY(intx_mu_), bit per vector
  uint32_t intms_ = 0;                      // GUARDED_BY(intx_mu_)
  std::atomic<bool> intx_asserted_{false};  // written under intx_mu_
};

}  // namespace nvemu::pcie
