// Status codes of the NVM command set that include/nvemu/status.h does not name (NVMe Base 2.0,
// 4.6.1.2: Figure 94 Generic, Figure 95 Command Specific, Figure 96 Media and Data Integrity;
// NVM Command Set 1.0, Figure 31 command specific values).
#pragma once

#include "nvemu/status.h"

namespace nvemu::nvm_sc {

// Generic Command Status (Figure 94).
inline constexpr Status kSglOffsetInvalid = Status::Generic(0x16);
inline constexpr Status kSglDataBlockGranularityInvalid = Status::Generic(0x1e);
inline constexpr Status kCommandInterrupted = Status::Generic(0x21, false);
inline constexpr Status kReservationConflict = Status::Generic(0x83);
inline constexpr Status kNamespaceWriteProtected = Status::Generic(0x20);
// NVM Command Set command specific (NVM Command Set 1.0, Figure 31).
inline constexpr Status kConflictingAttributes = Status::CommandSpecific(0x80);
inline constexpr Status kInvalidProtectionInformation = Status::CommandSpecific(0x81);
inline constexpr Status kCommandSizeLimitExceeded = Status::CommandSpecific(0x83);
// Media and Data Integrity Errors (Figure 96).
inline constexpr Status kWriteFault = Status::Media(0x80, false);
inline constexpr Status kUnrecoveredReadError = Status::Media(0x81, false);
inline constexpr Status kGuardCheckError = Status::Media(0x82);
inline constexpr Status kApplicationTagCheckError = Status::Media(0x83);
inline constexpr Status kReferenceTagCheckError = Status::Media(0x84);
inline constexpr Status kCompareFailure = Status::Media(0x85);

}  // namespace nvemu::nvm_sc
