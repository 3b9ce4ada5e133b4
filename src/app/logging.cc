#include "app/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace nvemu::app {
namespace {

constexpr std::array<std::string_view, 7> kModuleLoggers = {"pcie",   "storage", "core", "nvm",
                                                            "engine", "host",    "app"};

}  // namespace

std::optional<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  using spdlog::level::level_enum;
  constexpr std::array<level_enum, 6> kLevels = {level_enum::trace, level_enum::debug,
                                                 level_enum::info,  level_enum::warn,
                                                 level_enum::err,   level_enum::off};
  for (size_t i = 0; i < kLogLevelNames.size(); ++i) {
    if (name == kLogLevelNames[i]) return kLevels[i];
  }
  return std::nullopt;
}

void SetupLogging(spdlog::level::level_enum level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  sink->set_pattern("[%H:%M:%S.%e] [%n] [%^%l%$] %v");
  auto make = [&](std::string_view name) {
    spdlog::drop(std::string(name));
    auto logger = std::make_shared<spdlog::logger>(std::string(name), sink);
    spdlog::register_logger(logger);
    return logger;
  };
  spdlog::set_default_logger(make("nvemu"));
  for (std::string_view name : kModuleLoggers) make(name);
  spdlog::set_level(level);
}

}  // namespace nvemu::app
