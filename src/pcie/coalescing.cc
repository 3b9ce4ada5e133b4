#include "pcie/coalescing.h"

#include <algorithm>

namespace nvemu::pcie {

// NVMe Base 2.0, 5.27.1.9 Interrupt Coalescing: THR[7:0] (0's based entries), TIME[15:8] (100 us).
CoalescingParams DecodeCoalescing(uint32_t dw11) {
  CoalescingParams p;
  p.threshold = (dw11 & 0xff) + 1;
  p.time_ns = uint64_t{(dw11 >> 8) & 0xff} * 100'000;
  return p;
}

uint32_t InterruptAggregator::Attach(uint16_t iv) {
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].refs != 0 && slots_[i].iv == iv) {
      ++slots_[i].refs;
      return i;
    }
  }
  for (uint32_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i].refs == 0) {
      slots_[i] = Slot{.iv = iv, .refs = 1};
      return i;
    }
  }
  slots_.push_back(Slot{.iv = iv, .refs = 1});
  return static_cast<uint32_t>(slots_.size() - 1);
}

void InterruptAggregator::Detach(uint32_t slot) {
  Slot& s = slots_[slot];
  if (s.refs == 0 || --s.refs != 0) return;
  if (s.pending != 0) --pending_vectors_;
  s = Slot{};
}

void InterruptAggregator::Clear() {
  slots_.clear();
  pending_vectors_ = 0;
}

void InterruptAggregator::DropPending() {
  for (Slot& s : slots_) {
    s.pending = 0;
    s.waiting = false;
  }
  pending_vectors_ = 0;
}

void InterruptAggregator::Flush(const CoalescingParams& params,
                                FunctionRef<bool(uint16_t)> disabled, FunctionRef<uint64_t()> now,
                                FunctionRef<void(uint16_t)> signal) {
  uint64_t now_ns = 0;
  bool have_now = false;
  for (Slot& s : slots_) {
    if (s.pending == 0) continue;
    bool fire = !params.active() || s.pending >= params.threshold || disabled(s.iv);
    if (!fire) {
      if (!have_now) {
        now_ns = now();
        have_now = true;
      }
      if (!s.waiting) {
        s.waiting = true;
        s.since_ns = now_ns;
      }
      fire = now_ns - s.since_ns >= params.time_ns;
    }
    if (!fire) continue;
    s.pending = 0;
    s.waiting = false;
    --pending_vectors_;
    ++signals_;
    signal(s.iv);
  }
}

uint64_t InterruptAggregator::TimeoutNs(const CoalescingParams& params, uint64_t now_ns) const {
  if (pending_vectors_ == 0) return UINT64_MAX;
  uint64_t t = UINT64_MAX;
  for (const Slot& s : slots_) {
    if (s.pending == 0) continue;
    if (!s.waiting || !params.active()) return 0;  // not judged yet, or settings changed: poll now
    const uint64_t due = s.since_ns + params.time_ns;
    t = std::min(t, due > now_ns ? due - now_ns : 0);
  }
  return t;
}

}  // namespace nvemu::pcie
