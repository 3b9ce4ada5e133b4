#include "app/enum_names.h"

#include <utility>

namespace nvemu::app {
namespace {

constexpr std::array<std::pair<std::string_view, ProcessingMode>, 3> kModes = {{
    {"poll", ProcessingMode::kPoll},
    {"notify", ProcessingMode::kNotify},
    {"timer", ProcessingMode::kTimer},
}};

constexpr std::array<std::pair<std::string_view, BackendKind>, 3> kBackends = {{
    {"ram", BackendKind::kRam},
    {"file", BackendKind::kFile},
    {"null", BackendKind::kNull},
}};

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::pair<std::string_view, E>, N>& table, E value) {
  for (const auto& [name, v] : table) {
    if (v == value) return name;
  }
  return "?";
}

template <typename E, size_t N>
std::optional<E> ValueOf(const std::array<std::pair<std::string_view, E>, N>& table,
                         std::string_view name) {
  for (const auto& [n, v] : table) {
    if (n == name) return v;
  }
  return std::nullopt;
}

}  // namespace

std::string_view ProcessingModeName(ProcessingMode mode) { return NameOf(kModes, mode); }
std::optional<ProcessingMode> ParseProcessingMode(std::string_view name) {
  return ValueOf(kModes, name);
}

std::string_view BackendName(BackendKind kind) { return NameOf(kBackends, kind); }
std::optional<BackendKind> ParseBackend(std::string_view name) { return ValueOf(kBackends, name); }

}  // namespace nvemu::app
