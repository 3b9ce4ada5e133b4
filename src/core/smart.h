// SMART / Health Information (NVMe Base 2.0, 5.16.1.3, Log Identifier 02h) and the health
// conditions behind critical warnings and SMART asynchronous events.
//
// Counters: data units and commands read/written come from the I/O path's IoStats (lock-free
// shards) plus the totals persisted by earlier runs; power-on hours from the Clock; power cycles,
// unsafe shutdowns and the base totals from the state file; media errors from the completion path.
// Controller Busy Time: the time at least one I/O command is outstanding, from the BusyClock every
// front end's BusyTracker reports to (core/busy_time.h), in minutes. Percentage Used: data written
// over the rated endurance (ControllerConfig::endurance_bytes), 255 at most. Warning / Critical
// Composite Temperature Time: minutes the composite temperature spent at or above WCTEMP /
// CCTEMP, accounted at every temperature change and when the page is read. All of these are
// lifetime values kept in the state file.
// The composite temperature (also reported as Temperature Sensor 1, the only sensor) and the
// available spare are model values that tests (fault injection) change with
// set_temperature()/set_available_spare(); the controller compares them with the Temperature
// Threshold feature (04h) and the spare threshold and posts SMART events.
//
// One Health per NVM subsystem, shared by its controllers (core/subsystem.h): Restore() once at
// power-on, Store() writes the absolute totals, so concurrent controllers never overwrite each
// other's counts.
//
// Threading: counters are atomics (any thread); Page() on any admin reactor.
#pragma once

#include <nvme/types.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/busy_time.h"
#include "core/state_file.h"
#include "nvm/io_stats.h"

namespace nvemu {

class Health {
 public:
  static constexpr uint16_t kDefaultTemperature = 313;  // Kelvin (40 C)
  static constexpr uint8_t kSpareThreshold = 10;        // percent

  // WCTEMP/CCTEMP (Identify Controller, Kelvin) and the rated endurance in bytes written (0 = no
  // wear: Percentage Used stays 0). Set before use.
  void Configure(uint16_t wctemp, uint16_t cctemp, uint64_t endurance_bytes) {
    wctemp_ = wctemp;
    cctemp_ = cctemp;
    endurance_bytes_ = endurance_bytes;
  }

  // Takes the persisted totals; `now_ns` is the power-on instant.
  void Restore(const PersistentState& st, uint64_t now_ns);
  // Adds the live totals into `st` (for the state file).
  void Store(PersistentState* st, uint64_t now_ns) const;

  IoStats& io() { return io_; }
  void CountMediaError() { media_errors_.fetch_add(1, std::memory_order_relaxed); }
  // An Error Information log entry was recorded by any controller (SMART Number of Error
  // Information Log Entries: the subsystem's lifetime total).
  void CountErrorEntry() { error_entries_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t error_entries() const {
    return base_error_entries_ + error_entries_.load(std::memory_order_relaxed);
  }

  uint16_t temperature() const { return temperature_.load(std::memory_order_relaxed); }
  // A new composite temperature from `now_ns` on (the time at the old one is accounted first).
  void set_temperature(uint16_t kelvin, uint64_t now_ns);
  // Controller Busy Time source (any thread; lock-free).
  BusyClock& busy() { return busy_; }
  // Minutes (Figure 207 units).
  uint64_t busy_minutes(uint64_t now_ns) const;
  uint32_t warning_temp_minutes(uint64_t now_ns) const;
  uint32_t critical_temp_minutes(uint64_t now_ns) const;
  // Percentage Used (Figure 207): data written / endurance, at most 255.
  uint8_t percentage_used() const;
  // Lifetime nanoseconds at or above WCTEMP / CCTEMP up to `now_ns`.
  void TemperatureTimes(uint64_t now_ns, uint64_t* warning, uint64_t* critical) const;
  uint8_t available_spare() const { return spare_.load(std::memory_order_relaxed); }
  void set_available_spare(uint8_t pct) { spare_.store(pct, std::memory_order_relaxed); }

  uint64_t power_on_seconds(uint64_t now_ns) const {
    return base_power_on_seconds_ + (now_ns - start_ns_) / 1'000'000'000ull;
  }

  // Builds the log page. `over`/`under`: the composite temperature thresholds (feature 04h) of the
  // controller asking.
  nvme_smart_log Page(uint64_t now_ns, uint16_t over, uint16_t under) const;
  // Critical Warning bits 0 (spare) and 1 (temperature).
  uint8_t CriticalWarning(uint16_t over, uint16_t under) const;

 private:
  IoStats io_;
  BusyClock busy_;
  IoTotals base_;  // from earlier runs
  uint64_t base_power_on_seconds_ = 0;
  uint64_t start_ns_ = 0;
  uint64_t power_cycles_ = 0;
  uint64_t unsafe_shutdowns_ = 0;
  uint64_t base_media_errors_ = 0;
  uint64_t base_busy_ns_ = 0;
  uint64_t base_error_entries_ = 0;
  uint16_t wctemp_ = 0;
  uint16_t cctemp_ = 0;
  uint64_t endurance_bytes_ = 0;
  std::atomic<uint64_t> media_errors_{0};
  std::atomic<uint64_t> error_entries_{0};
  // Composite temperature time accounting (set_temperature and the readers): nanoseconds at or
  // above WCTEMP / CCTEMP up to temp_since_ns_, then the current temperature since then.
  mutable std::mutex temp_mu_;
  uint64_t warning_ns_ = 0;     // GUARDED_BY(temp_mu_)
  uint64_t critical_ns_ = 0;    // GUARDED_BY(temp_mu_)
  uint64_t temp_since_ns_ = 0;  // GUARDED_BY(temp_mu_)
  std::atomic<uint16_t> temperature_{kDefaultTemperature};
  std::atomic<uint8_t> spare_{100};
};

}  // namespace nvemu
