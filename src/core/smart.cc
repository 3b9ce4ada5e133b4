#include "core/smart.h"

#include <cstring>

namespace nvemu {
namespace {

// 128-bit little-endian counters (Figure 207) from a 64-bit value.
void Put128(uint8_t (&dst)[16], uint64_t v) {
  std::memset(dst, 0, sizeof(dst));
  std::memcpy(dst, &v, sizeof(v));
}

// Data Units Read/Written: thousands of 512-byte units, rounded up.
uint64_t DataUnits(uint64_t bytes) { return (bytes / 512 + 999) / 1000; }

}  // namespace

void Health::Restore(const PersistentState& st, uint64_t now_ns) {
  base_.read_bytes = st.read_bytes;
  base_.write_bytes = st.write_bytes;
  base_.read_commands = st.read_commands;
  base_.write_commands = st.write_commands;
  base_power_on_seconds_ = st.power_on_seconds;
  start_ns_ = now_ns;
  power_cycles_ = st.power_cycles;
  unsafe_shutdowns_ = st.unsafe_shutdowns;
  base_media_errors_ = st.media_errors;
}

void Health::Store(PersistentState* st, uint64_t now_ns) const {
  IoTotals t = io_.Sum();
  st->read_bytes = base_.read_bytes + t.read_bytes;
  st->write_bytes = base_.write_bytes + t.write_bytes;
  st->read_commands = base_.read_commands + t.read_commands;
  st->write_commands = base_.write_commands + t.write_commands;
  st->power_on_seconds = power_on_seconds(now_ns);
  st->media_errors = base_media_errors_ + media_errors_.load(std::memory_order_relaxed);
}

uint8_t Health::CriticalWarning(uint16_t over, uint16_t under) const {
  uint8_t w = 0;
  if (available_spare() < kSpareThreshold) w |= NVME_SMART_CRIT_SPARE;
  uint16_t t = temperature();
  // Figure 207 bit 1: at or above an over temperature threshold, or at or below an under one.
  if (t >= over || t <= under) w |= NVME_SMART_CRIT_TEMPERATURE;
  return w;
}

nvme_smart_log Health::Page(uint64_t now_ns, uint16_t over, uint16_t under,
                            uint64_t error_entries) const {
  nvme_smart_log log{};
  IoTotals t = io_.Sum();
  log.critical_warning = CriticalWarning(over, under);
  uint16_t temp = temperature();
  std::memcpy(log.temperature, &temp, 2);
  log.avail_spare = available_spare();
  log.spare_thresh = kSpareThreshold;
  log.percent_used = 0;
  Put128(log.data_units_read, DataUnits(base_.read_bytes + t.read_bytes));
  Put128(log.data_units_written, DataUnits(base_.write_bytes + t.write_bytes));
  Put128(log.host_reads, base_.read_commands + t.read_commands);
  Put128(log.host_writes, base_.write_commands + t.write_commands);
  Put128(log.power_cycles, power_cycles_);
  Put128(log.power_on_hours, power_on_seconds(now_ns) / 3600);
  Put128(log.unsafe_shutdowns, unsafe_shutdowns_);
  Put128(log.media_errors, base_media_errors_ + media_errors_.load(std::memory_order_relaxed));
  Put128(log.num_err_log_entries, error_entries);
  return log;
}

}  // namespace nvemu
