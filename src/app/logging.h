// Logging for the nvemu CLI: every log line goes to stderr (stdout carries the command's output, so
// `--json` stays parseable), through one sink shared by the default logger ("nvemu") and the
// per-module loggers ("pcie", "storage", "core", "nvm", "engine", "host", "app").
//
// Call SetupLogging() once, early in main(), before any other thread exists.
#pragma once

#include <spdlog/common.h>

#include <array>
#include <optional>
#include <string_view>

namespace nvemu::app {

inline constexpr std::array<std::string_view, 6> kLogLevelNames = {"trace", "debug", "info",
                                                                   "warn",  "error", "off"};

// "trace", "debug", "info", "warn", "error" or "off"; nullopt for anything else.
std::optional<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// Creates (or re-creates) the stderr loggers and sets every logger to `level`.
void SetupLogging(spdlog::level::level_enum level);

}  // namespace nvemu::app
