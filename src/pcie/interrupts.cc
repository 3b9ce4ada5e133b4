// MSI-X table/PBA and INTx logic of the NVMe function; see interrupts.h for the contract.
#include "pcie/interrupts.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <bit>

namespace nvemu::pcie {
namespace {

std::shared_ptr<spdlog::logger> Log() {
  auto logger = spdlog::get("pcie");
  return logger ? logger : spdlog::default_logger();
}

constexpr uint16_t kMaxVectors = 2048;

// PCIe Base 4.0, 6.1.4.2: software uses aligned full DWORD or aligned full QWORD accesses to the
// MSI-X table and PBA; other accesses have undefined results, which we define as "ignored".
bool ValidAccess(uint32_t off, unsigned size, uint32_t limit) {
  if (size != 4 && size != 8) return false;
  if (off % size != 0) return false;
  return off < limit && size <= limit - off;
}

uint16_t ClampVectors(uint16_t vectors) {
  if (vectors < 1 || vectors > kMaxVectors) {
    Log()->error("pcie: MSI-X vector count {} not in 1..2048; clamping", vectors);
  }
  return std::clamp<uint16_t>(vectors, 1, kMaxVectors);
}

uint64_t Bit(uint16_t vector) { return uint64_t{1} << (vector % 64); }

}  // namespace

Interrupts::Interrupts(uint16_t vectors, InterruptSink& sink, ConfigSpace& config)
    : vectors_(ClampVectors(vectors)),
      sink_(sink),
      config_(config),
      table_(std::make_unique<Entry[]>(vectors_)),
      pba_(std::make_unique<std::atomic<uint64_t>[]>((vectors_ + 63) / 64)),
      intx_sources_((vectors_ + 63) / 64, 0) {
  if (vectors_ != config.MsixVectors()) {
    Log()->warn("pcie: Interrupts has {} vectors but MSI-X Table Size advertises {}", vectors_,
                config.MsixVectors());
  }
  for (unsigned i = 0; i < (vectors_ + 63u) / 64; ++i) pba_[i].store(0);
}

// --- MSI-X table and PBA (PCIe Base 4.0, 7.7.2.5-7.7.2.9) ---

uint32_t Interrupts::ReadTableDword(uint32_t off) const {
  const Entry& e = table_[off / kEntrySize];
  switch ((off % kEntrySize) / 4) {
    case 0:
      return e.addr_lo.load();
    case 1:
      return e.addr_hi.load();
    case 2:
      return e.data.load();
    default:
      return e.control.load();
  }
}

void Interrupts::WriteTableDword(uint32_t off, uint32_t value) {
  const auto vector = static_cast<uint16_t>(off / kEntrySize);
  Entry& e = table_[vector];
  switch ((off % kEntrySize) / 4) {
    case 0:
      e.addr_lo.store(value);
      break;
    case 1:
      e.addr_hi.store(value);
      break;
    case 2:
      e.data.store(value);
      break;
    default: {
      // Only the Mask Bit is implemented; the other Vector Control bits are reserved (read 0).
      const uint32_t old = e.control.exchange(value & kVectorControlMask);
      if ((old & kVectorControlMask) && !(value & kVectorControlMask)) {
        // 6.1.4.5: unmasking a vector with its pending bit set sends the message.
        if (config_.MsixEnabled() && !config_.MsixFunctionMasked()) DeliverIfPending(vector);
      }
      break;
    }
  }
}

uint64_t Interrupts::ReadTable(uint32_t off, unsigned size) const {
  if (!ValidAccess(off, size, TableBytes())) {
    Log()->warn("pcie: invalid MSI-X table read off={:#x} size={}; returning 0", off, size);
    return 0;
  }
  uint64_t value = ReadTableDword(off);
  if (size == 8) value |= uint64_t{ReadTableDword(off + 4)} << 32;
  return value;
}

void Interrupts::WriteTable(uint32_t off, unsigned size, uint64_t value) {
  if (!ValidAccess(off, size, TableBytes())) {
    Log()->warn("pcie: invalid MSI-X table write off={:#x} size={} value={:#x}; ignored", off, size,
                value);
    return;
  }
  // A QWORD write at entry offset 8 updates Message Data before Vector Control, so a combined
  // "set data and unmask" write delivers with the new data.
  WriteTableDword(off, static_cast<uint32_t>(value));
  if (size == 8) WriteTableDword(off + 4, static_cast<uint32_t>(value >> 32));
}

uint64_t Interrupts::ReadPba(uint32_t off, unsigned size) const {
  if (!ValidAccess(off, size, PbaBytes())) {
    Log()->warn("pcie: invalid MSI-X PBA read off={:#x} size={}; returning 0", off, size);
    return 0;
  }
  const uint64_t word = pba_[off / 8].load();
  if (size == 8) return word;
  return (off % 8 == 0) ? (word & 0xffffffffu) : (word >> 32);
}

void Interrupts::WritePba(uint32_t off, unsigned size, uint64_t value) {
  // PCIe Base 4.0, 7.7.2.4: Pending Bits are read-only.
  Log()->debug("pcie: write to read-only MSI-X PBA off={:#x} size={} value={:#x}; ignored", off,
               size, value);
}

// --- Signalling ---

bool Interrupts::VectorMasked(uint16_t vector) const {
  return config_.MsixFunctionMasked() || (table_[vector].control.load() & kVectorControlMask);
}

void Interrupts::Deliver(uint16_t vector) {
  const Entry& e = table_[vector];
  const uint64_t addr = (uint64_t{e.addr_hi.load()} << 32) | e.addr_lo.load();
  sink_.Msi(addr, e.data.load());
}

void Interrupts::DeliverIfPending(uint16_t vector) {
  // Whoever clears the bit sends the message: exactly one sender per pending bit.
  if (pba_[vector / 64].fetch_and(~Bit(vector)) & Bit(vector)) Deliver(vector);
}

void Interrupts::ReplayPending() {
  if (!config_.MsixEnabled() || config_.MsixFunctionMasked()) return;
  for (unsigned w = 0; w < (vectors_ + 63u) / 64; ++w) {
    uint64_t bits = pba_[w].load();
    while (bits != 0) {
      const auto vector = static_cast<uint16_t>(w * 64 + std::countr_zero(bits));
      bits &= bits - 1;
      if (!(table_[vector].control.load() & kVectorControlMask)) DeliverIfPending(vector);
    }
  }
}

void Interrupts::Signal(uint16_t vector) {
  if (vector >= vectors_) {
    Log()->warn("pcie: interrupt for vector {} but only {} vectors; ignored", vector, vectors_);
    return;
  }
  if (!config_.MsixEnabled()) {
    SetIntxSource(vector, true);
    return;
  }
  if (!VectorMasked(vector)) {
    Deliver(vector);
    return;
  }
  // Masked: set the pending bit (PCIe Base 4.0, 6.1.4.5). An unmask may have raced with the check
  // above and already scanned the PBA; re-check after publishing the bit. Both sides use seq_cst
  // (store mask / load PBA versus store PBA / load mask), so at least one of them sees the other,
  // and DeliverIfPending lets only one of them send.
  pba_[vector / 64].fetch_or(Bit(vector));
  if (config_.MsixEnabled() && !VectorMasked(vector)) DeliverIfPending(vector);
}

void Interrupts::OnMsixControlChanged() {
  ReplayPending();
  std::lock_guard lock(intx_mu_);
  UpdateIntxLocked();
}

void Interrupts::OnIntxDisableChanged() {
  std::lock_guard lock(intx_mu_);
  UpdateIntxLocked();
}

// --- INTx ---

void Interrupts::SetIntxSource(uint16_t vector, bool pending) {
  if (vector >= vectors_) {
    Log()->warn("pcie: INTx source for vector {} but only {} vectors; ignored", vector, vectors_);
    return;
  }
  std::lock_guard lock(intx_mu_);
  uint64_t& word = intx_sources_[vector / 64];
  word = pending ? (word | Bit(vector)) : (word & ~Bit(vector));
  UpdateIntxLocked();
}

void Interrupts::SetIntMask(uint32_t intms) {
  std::lock_guard lock(intx_mu_);
  intms_ = intms;
  UpdateIntxLocked();
}

void Interrupts::UpdateIntxLocked() {
  // Internal interrupt state: an unmasked pending source, and MSI-X not in use (a function with
  // MSI-X enabled must not use INTx; PCIe Base 4.0, 7.7.2.2).
  bool pending = (intx_sources_[0] & ~uint64_t{intms_}) != 0;
  for (size_t i = 1; i < intx_sources_.size() && !pending; ++i) pending = intx_sources_[i] != 0;
  pending = pending && !config_.MsixEnabled();

  config_.SetInterruptStatus(pending);
  const bool assert_pin = pending && !config_.IntxDisabled();
  if (assert_pin != intx_asserted_.load()) {
    intx_asserted_.store(assert_pin);
    sink_.Intx(assert_pin);
  }
}

// --- Reset ---

void Interrupts::Reset() {
  for (unsigned v = 0; v < vectors_; ++v) {
    Entry& e = table_[v];
    e.control.store(kVectorControlMask);
    e.addr_lo.store(0);
    e.addr_hi.store(0);
    e.data.store(0);
  }
  for (unsigned w = 0; w < (vectors_ + 63u) / 64; ++w) pba_[w].store(0);
  std::lock_guard lock(intx_mu_);
  std::fill(intx_sources_.begin(), intx_sources_.end(), 0);
  intms_ = 0;
  UpdateIntxLocked();
}

}  // namespace nvemu::pcie
