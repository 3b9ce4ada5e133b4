// NVMe status values (NVMe Base 2.0, 4.6.1 Status Field) and a small Result type.
//
// `Status` is the 15-bit Status Field of a completion entry as a value: Status Code (SC), Status Code Type
// (SCT), Command Retry Delay (CRD), More and Do Not Retry (DNR). Command handlers return one; C++
// exceptions never cross the command path. `Error`/`Result<T>` carry non-NVMe failures (configuration,
// files) with a human-readable message.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace nvemu {

// NVMe Base 2.0, Figure 93: Status Code Type values.
enum class Sct : uint8_t {
  kGeneric = 0,
  kCommandSpecific = 1,
  kMediaError = 2,
  kPathRelated = 3,
  kVendor = 7,
};

class [[nodiscard]] Status {
 public:
  constexpr Status() = default;
  constexpr Status(Sct sct, uint8_t sc, bool dnr = true)
      : sf_(static_cast<uint16_t>(sc | (static_cast<uint16_t>(sct) << 8) | (dnr ? kDnr : 0))) {}

  static constexpr Status Success() { return Status(); }
  static constexpr Status Generic(uint8_t sc, bool dnr = true) {
    return Status(Sct::kGeneric, sc, dnr);
  }
  static constexpr Status CommandSpecific(uint8_t sc, bool dnr = true) {
    return Status(Sct::kCommandSpecific, sc, dnr);
  }
  static constexpr Status Media(uint8_t sc, bool dnr = true) {
    return Status(Sct::kMediaError, sc, dnr);
  }
  // Builds a Status from a completion entry's 15-bit status field.
  static constexpr Status FromField(uint16_t sf) {
    Status s;
    s.sf_ = sf & 0x7fff;
    return s;
  }

  constexpr bool ok() const { return (sf_ & 0x7ff) == 0; }
  constexpr uint8_t sc() const { return sf_ & 0xff; }
  constexpr Sct sct() const { return static_cast<Sct>((sf_ >> 8) & 0x7); }
  constexpr bool dnr() const { return sf_ & kDnr; }
  constexpr bool more() const { return sf_ & kMore; }
  constexpr uint16_t field() const { return sf_; }

  constexpr Status with_more() const { return FromField(sf_ | kMore); }
  constexpr Status without_dnr() const { return FromField(sf_ & ~kDnr); }

  constexpr bool same_code(const Status& o) const { return (sf_ & 0x7ff) == (o.sf_ & 0x7ff); }
  friend constexpr bool operator==(const Status&, const Status&) = default;

  // "Generic/Invalid Field in Command (0/02h) DNR" style text for logs and tests.
  std::string ToString() const;

 private:
  static constexpr uint16_t kMore = 1u << 13;
  static constexpr uint16_t kDnr = 1u << 14;
  uint16_t sf_ = 0;
};

// Named status values used across the code base (NVMe Base 2.0, 4.6.1.2).
namespace sc {
// Generic Command Status (Figure 94).
inline constexpr Status kSuccess = Status::Success();
inline constexpr Status kInvalidOpcode = Status::Generic(0x01);
inline constexpr Status kInvalidField = Status::Generic(0x02);
inline constexpr Status kCommandIdConflict = Status::Generic(0x03);
inline constexpr Status kDataTransferError = Status::Generic(0x04, false);
inline constexpr Status kPowerLossAbort = Status::Generic(0x05, false);
inline constexpr Status kInternalError = Status::Generic(0x06, false);
inline constexpr Status kAbortRequested = Status::Generic(0x07, false);
inline constexpr Status kAbortSqDeleted = Status::Generic(0x08, false);
inline constexpr Status kAbortFailedFused = Status::Generic(0x09);
inline constexpr Status kAbortMissingFused = Status::Generic(0x0a);
inline constexpr Status kInvalidNamespaceOrFormat = Status::Generic(0x0b);
inline constexpr Status kCommandSequenceError = Status::Generic(0x0c);
inline constexpr Status kInvalidSglDescriptor = Status::Generic(0x0d);
inline constexpr Status kInvalidNumberOfSgl = Status::Generic(0x0e);
inline constexpr Status kDataSglLengthInvalid = Status::Generic(0x0f);
inline constexpr Status kMetadataSglLengthInvalid = Status::Generic(0x10);
inline constexpr Status kSglTypeInvalid = Status::Generic(0x11);
inline constexpr Status kInvalidPrpOffset = Status::Generic(0x13);
inline constexpr Status kHostIdInconsistentFormat = Status::Generic(0x18);
inline constexpr Status kInvalidIoCommandSet = Status::Generic(0x2c);
inline constexpr Status kLbaOutOfRange = Status::Generic(0x80);
inline constexpr Status kCapacityExceeded = Status::Generic(0x81);
inline constexpr Status kNamespaceNotReady = Status::Generic(0x82, false);
// Command Specific Status (Figure 95).
inline constexpr Status kCompletionQueueInvalid = Status::CommandSpecific(0x00);
inline constexpr Status kInvalidQueueIdentifier = Status::CommandSpecific(0x01);
inline constexpr Status kInvalidQueueSize = Status::CommandSpecific(0x02);
inline constexpr Status kAbortCommandLimitExceeded = Status::CommandSpecific(0x03);
inline constexpr Status kAsyncEventRequestLimitExceeded = Status::CommandSpecific(0x05);
inline constexpr Status kInvalidFirmwareSlot = Status::CommandSpecific(0x06);
inline constexpr Status kInvalidFirmwareImage = Status::CommandSpecific(0x07);
inline constexpr Status kInvalidInterruptVector = Status::CommandSpecific(0x08);
inline constexpr Status kInvalidLogPage = Status::CommandSpecific(0x09);
inline constexpr Status kInvalidFormat = Status::CommandSpecific(0x0a);
inline constexpr Status kInvalidQueueDeletion = Status::CommandSpecific(0x0c);
inline constexpr Status kFeatureIdNotSaveable = Status::CommandSpecific(0x0d);
inline constexpr Status kFeatureNotChangeable = Status::CommandSpecific(0x0e);
inline constexpr Status kFeatureNotNamespaceSpecific = Status::CommandSpecific(0x0f);
inline constexpr Status kNamespaceAlreadyAttached = Status::CommandSpecific(0x18);
inline constexpr Status kNamespaceNotAttached = Status::CommandSpecific(0x1a);
inline constexpr Status kNamespaceIdUnavailable = Status::CommandSpecific(0x16);
inline constexpr Status kConflictingAttributes = Status::CommandSpecific(0x80);
// Media and Data Integrity Errors (Figure 96).
inline constexpr Status kUnrecoveredReadError = Status::Media(0x81, false);
}  // namespace sc

// A non-NVMe failure: configuration, file or system errors. Carries a message for people.
struct Error {
  std::string message;
};

// Either a value or an Error. C++20 has no std::expected; this is the small subset nvemu needs.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T& operator*() & { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool failed_ = false;
};

}  // namespace nvemu
