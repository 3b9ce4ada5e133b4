// Asynchronous events waiting for an Asynchronous Event Request (NVMe Base 2.0, 5.2).
//
// Sources on any thread (an I/O reactor that sees an invalid doorbell write, the control path) Post()
// events; the admin command set delivers them. Threading: thread-safe (mutex; never on the I/O path's
// normal case: only bad input posts events).
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

namespace nvemu {

// NVMe Base 2.0, Figure 146: Asynchronous Event Type.
enum class AsyncEventType : uint8_t {
  kError = 0,
  kSmartHealth = 1,
  kNotice = 2,
  kImmediate = 3,
  kIoCommandSet = 6,
  kVendor = 7,
};

// NVMe Base 2.0, Figure 147: Error status information.
inline constexpr uint8_t kAenErrorInvalidDoorbellRegister = 0x00;  // write to an invalid doorbell
inline constexpr uint8_t kAenErrorInvalidDoorbellValue = 0x01;     // invalid doorbell write value
inline constexpr uint8_t kLogErrorInformation = 0x01;

struct AsyncEvent {
  AsyncEventType type;
  uint8_t info;
  uint8_t log_page;
  friend bool operator==(const AsyncEvent&, const AsyncEvent&) = default;
};

class AsyncEventQueue {
 public:
  // Queues an event. An event equal to one already pending is not queued twice.
  void Post(const AsyncEvent& event);
  std::vector<AsyncEvent> Pending() const;
  void Clear();

 private:
  mutable std::mutex mu_;
  std::vector<AsyncEvent> pending_;  // guarded by mu_
};

}  // namespace nvemu
