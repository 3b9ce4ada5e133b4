// Asynchronous events (NVMe Base 2.0, 5.2 Asynchronous Event Request command, 5.27.1 Asynchronous
// Event Configuration, feature 0Bh).
//
// Sources on any thread (the MMIO path that sees an invalid doorbell write, the admin reactor that
// attaches a namespace or activates firmware, a temperature change) Post() events. The admin
// command set adds Asynchronous Event Requests (AERs); each is completed later, event-driven: when
// an event can be reported and an AER is outstanding, the queue pairs them and calls the deliver
// callback (Controller -> FrontEnd::CompleteDeferred) outside its lock. Rules:
//   - Events disabled in feature 0Bh are not reported (dropped at Post); error events cannot be
//     disabled.
//   - Once an event of a type has been reported, further events of that type are held until the
//     host reads the event's log page with RAE = 0 (LogRead); then the next one is reported.
//   - An event equal to one already pending is not queued twice.
// Threading: thread-safe (one mutex; never on the I/O path's normal case: only bad input, admin
// commands and health changes post events).
#pragma once

#include <cstdint>
#include <functional>
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
// Figure 148: SMART / Health status information.
inline constexpr uint8_t kAenSmartReliability = 0x00;
inline constexpr uint8_t kAenSmartTemperature = 0x01;
inline constexpr uint8_t kAenSmartSpare = 0x02;
// Figure 149: Notice status information.
inline constexpr uint8_t kAenNoticeNamespaceChanged = 0x00;
inline constexpr uint8_t kAenNoticeFirmwareActivation = 0x01;

// Log pages named by events (5.16.1).
inline constexpr uint8_t kLogErrorInformation = 0x01;
inline constexpr uint8_t kLogSmartHealth = 0x02;
inline constexpr uint8_t kLogFirmwareSlot = 0x03;
inline constexpr uint8_t kLogChangedNamespaces = 0x04;

// Feature 0Bh bits (5.27.1, Asynchronous Event Configuration): SMART critical warnings 7:0,
// Namespace Attribute Notices bit 8, Firmware Activation Notices bit 9.
inline constexpr uint32_t kAecSmartMask = 0xff;
inline constexpr uint32_t kAecNamespaceAttribute = 1u << 8;
inline constexpr uint32_t kAecFirmwareActivation = 1u << 9;
inline constexpr uint32_t kAecSupported =
    kAecSmartMask | kAecNamespaceAttribute | kAecFirmwareActivation;

struct AsyncEvent {
  AsyncEventType type;
  uint8_t info;
  uint8_t log_page;
  friend bool operator==(const AsyncEvent&, const AsyncEvent&) = default;
  // Completion Dword 0 of the AER that reports it (Figure 145).
  uint32_t dw0() const {
    return static_cast<uint32_t>(type) | uint32_t{info} << 8 | uint32_t{log_page} << 16;
  }
};

class AsyncEventQueue {
 public:
  // Called (outside the lock) with the CID of an AER and the Dword 0 that completes it.
  using Deliver = std::function<void(uint16_t cid, uint32_t dw0)>;
  void SetDeliver(Deliver deliver);
  // Called (outside the lock) for every event posted, enabled or not (the Error Information log
  // records error events).
  void SetObserver(std::function<void(const AsyncEvent&)> observer);

  // Queues an event (see the rules above) and reports it if an AER is outstanding.
  void Post(const AsyncEvent& event);
  // Asynchronous Event Request `cid`: false when `limit` requests are already outstanding.
  bool AddRequest(uint16_t cid, uint32_t limit);
  // Abort of an outstanding AER: true if `cid` was outstanding (it is removed).
  bool RemoveRequest(uint16_t cid);
  // Get Log Page `log_page` with RAE = 0: clears the reported events of that log page.
  void LogRead(uint8_t log_page);
  // Feature 0Bh value (bits outside kAecSupported are ignored).
  void set_config(uint32_t aec);
  uint32_t config() const;

  std::vector<AsyncEvent> Pending() const;
  std::vector<AsyncEvent> Reported() const;
  size_t outstanding() const;
  // Controller Level Reset: outstanding AERs are gone (their queue was deleted); events stay.
  void DropRequests();
  // Power-on / NVM Subsystem Reset: everything is cleared.
  void Clear();

 private:
  bool Enabled(const AsyncEvent& e) const;  // REQUIRES: mu_
  // Pairs reportable events with outstanding AERs. REQUIRES: mu_. Returns (cid, dw0) pairs.
  std::vector<std::pair<uint16_t, uint32_t>> MatchLocked();
  void Complete(const std::vector<std::pair<uint16_t, uint32_t>>& done);

  mutable std::mutex mu_;
  std::vector<AsyncEvent> pending_;   // GUARDED_BY(mu_): not reported yet
  std::vector<AsyncEvent> reported_;  // GUARDED_BY(mu_): reported, log page not read yet
  std::vector<uint16_t> requests_;    // GUARDED_BY(mu_): outstanding AER CIDs, oldest first
  uint32_t config_ = kAecSupported;   // GUARDED_BY(mu_)
  Deliver deliver_;                   // set before use
  std::function<void(const AsyncEvent&)> observer_;  // set before use
};

}  // namespace nvemu
