#include "core/smart.h"

#include <algorithm>
#include <climits>
#include <cstdint>
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
  base_busy_ns_ = st.busy_ns;
  base_error_entries_ = st.error_log_entries;
  std::lock_guard<std::mutex> lock(temp_mu_);
  warning_ns_ = st.warning_temp_ns;
  critical_ns_ = st.critical_temp_ns;
  temp_since_ns_ = now_ns;
}

void Health::Store(PersistentState* st, uint64_t now_ns) const {
  IoTotals t = io_.Sum();
  st->read_bytes = base_.read_bytes + t.read_bytes;
  st->write_bytes = base_.write_bytes + t.write_bytes;
  st->read_commands = base_.read_commands + t.read_commands;
  st->write_commands = base_.write_commands + t.write_commands;
  st->power_on_seconds = power_on_seconds(now_ns);
  st->media_errors = base_media_errors_ + media_errors_.load(std::memory_order_relaxed);
  st->busy_ns = base_busy_ns_ + busy_.BusyNs(now_ns);
  st->error_log_entries = error_entries();
  uint64_t warning = 0, critical = 0;
  TemperatureTimes(now_ns, &warning, &critical);
  st->warning_temp_ns = warning;
  st->critical_temp_ns = critical;
}

void Health::TemperatureTimes(uint64_t now_ns, uint64_t* warning, uint64_t* critical) const {
  std::lock_guard<std::mutex> lock(temp_mu_);
  uint64_t span = now_ns > temp_since_ns_ ? now_ns - temp_since_ns_ : 0;
  uint16_t t = temperature();
  *warning = warning_ns_ + (wctemp_ != 0 && t >= wctemp_ ? span : 0);
  *critical = critical_ns_ + (cctemp_ != 0 && t >= cctemp_ ? span : 0);
}

void Health::set_temperature(uint16_t kelvin, uint64_t now_ns) {
  std::lock_guard<std::mutex> lock(temp_mu_);
  uint64_t span = now_ns > temp_since_ns_ ? now_ns - temp_since_ns_ : 0;
  uint16_t t = temperature();
  if (wctemp_ != 0 && t >= wctemp_) warning_ns_ += span;
  if (cctemp_ != 0 && t >= cctemp_) critical_ns_ += span;
  temp_since_ns_ = now_ns;
  temperature_.store(kelvin, std::memory_order_relaxed);
}

uint64_t Health::busy_minutes(uint64_t now_ns) const {
  return (base_busy_ns_ + busy_.BusyNs(now_ns)) / 60'000'000'000ull;
}

uint32_t Health::warning_temp_minutes(uint64_t now_ns) const {
  uint64_t w = 0, c = 0;
  TemperatureTimes(now_ns, &w, &c);
  return static_cast<uint32_t>(std::min<uint64_t>(w / 60'000'000'000ull, UINT32_MAX));
}

uint32_t Health::critical_temp_minutes(uint64_t now_ns) const {
  uint64_t w = 0, c = 0;
  TemperatureTimes(now_ns, &w, &c);
  return static_cast<uint32_t>(std::min<uint64_t>(c / 60'000'000'000ull, UINT32_MAX));
}

uint8_t Health::percentage_used() const {
  if (endurance_bytes_ == 0) return 0;
  uint64_t written = base_.write_bytes + io_.Sum().write_bytes;
  // 100 * written / endurance without overflow for any 64-bit inputs.
  unsigned __int128 pct = static_cast<unsigned __int128>(written) * 100 / endurance_bytes_;
  return static_cast<uint8_t>(pct > 255 ? 255 : pct);
}

uint8_t Health::CriticalWarning(uint16_t over, uint16_t under) const {
  uint8_t w = 0;
  if (available_spare() < kSpareThreshold) w |= NVME_SMART_CRIT_SPARE;
  uint16_t t = temperature();
  // Figure 207 bit 1: at or above an over temperature threshold, or at or below an under one.
  if (t >= over || t <= under) w |= NVME_SMART_CRIT_TEMPERATURE;
  return w;
}

nvme_smart_log Health::Page(uint64_t now_ns, uint16_t over, uint16_t under) const {
  nvme_smart_log log{};
  IoTotals t = io_.Sum();
  log.critical_warning = CriticalWarning(over, under);
  uint16_t temp = temperature();
  std::memcpy(log.temperature, &temp, 2);
  log.avail_spare = available_spare();
  log.spare_thresh = kSpareThreshold;
  log.percent_used = percentage_used();
  Put128(log.data_units_read, DataUnits(base_.read_bytes + t.read_bytes));
  Put128(log.data_units_written, DataUnits(base_.write_bytes + t.write_bytes));
  Put128(log.host_reads, base_.read_commands + t.read_commands);
  Put128(log.host_writes, base_.write_commands + t.write_commands);
  Put128(log.power_cycles, power_cycles_);
  Put128(log.power_on_hours, power_on_seconds(now_ns) / 3600);
  Put128(log.unsafe_shutdowns, unsafe_shutdowns_);
  Put128(log.media_errors, base_media_errors_ + media_errors_.load(std::memory_order_relaxed));
  Put128(log.num_err_log_entries, error_entries());
  Put128(log.ctrl_busy_time, busy_minutes(now_ns));
  log.warning_temp_time = warning_temp_minutes(now_ns);
  log.critical_comp_time = critical_temp_minutes(now_ns);
  log.temp_sensor[0] = temp;  // Temperature Sensor 1: the composite sensor (the only one)
  return log;
}

}  // namespace nvemu
