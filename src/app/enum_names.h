// Names of configuration enums as written in TOML files, on the command line and in output:
// processing modes ("poll", "notify", "timer") and backends ("ram", "file", "null").
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "nvemu/config.h"

namespace nvemu::app {

inline constexpr std::array<std::string_view, 3> kProcessingModeNames = {"poll", "notify", "timer"};
inline constexpr std::array<std::string_view, 3> kBackendNames = {"ram", "file", "null"};
// File backend I/O submission (NamespaceConfig::io_uring): TOML `io`, CLI --io.
inline constexpr std::array<std::string_view, 2> kIoNames = {"sync", "uring"};

std::string_view ProcessingModeName(ProcessingMode mode);
std::optional<ProcessingMode> ParseProcessingMode(std::string_view name);

std::string_view BackendName(BackendKind kind);
std::optional<BackendKind> ParseBackend(std::string_view name);

}  // namespace nvemu::app
