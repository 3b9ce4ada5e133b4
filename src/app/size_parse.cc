#include "app/size_parse.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <limits>

namespace nvemu::app {
namespace {

struct Unit {
  std::string_view name;
  uint64_t factor;
};

constexpr uint64_t kKi = 1024;
constexpr uint64_t kK = 1000;

constexpr std::array<Unit, 13> kUnits = {{
    {"B", 1},
    {"KiB", kKi},
    {"MiB", kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"TiB", kKi* kKi* kKi* kKi},
    {"PiB", kKi* kKi* kKi* kKi* kKi},
    {"kB", kK},
    {"KB", kK},
    {"MB", kK* kK},
    {"GB", kK* kK* kK},
    {"TB", kK* kK* kK* kK},
    {"PB", kK* kK* kK* kK* kK},
    {"", 1},
}};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsAmbiguous(std::string_view unit) {
  return unit.size() == 1 && std::string_view("kKmMgGtTpP").find(unit[0]) != std::string_view::npos;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view text) {
  std::string_view s = Trim(text);
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  if (digits == 0) {
    return Error{fmt::format("size '{}' must start with a non-negative integer", text)};
  }
  uint64_t number = 0;
  for (size_t i = 0; i < digits; ++i) {
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (number > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      return Error{fmt::format("size '{}' is too large", text)};
    }
    number = number * 10 + d;
  }
  std::string_view unit = Trim(s.substr(digits));
  if (!unit.empty() && unit.front() == '.') {
    return Error{fmt::format("size '{}': fractions are not supported, use a smaller unit", text)};
  }
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    if (number != 0 && u.factor > std::numeric_limits<uint64_t>::max() / number) {
      return Error{fmt::format("size '{}' is too large", text)};
    }
    return number * u.factor;
  }
  if (IsAmbiguous(unit)) {
    return Error{
        fmt::format("size '{}': unit '{}' is ambiguous, write {}iB (binary) or {}B "
                    "(decimal)",
                    text, unit, static_cast<char>(std::toupper(unit[0])),
                    static_cast<char>(std::toupper(unit[0])))};
  }
  return Error{
      fmt::format("size '{}': unknown unit '{}' (use B, KiB, MiB, GiB, TiB, PiB, kB, MB, "
                  "GB, TB or PB)",
                  text, unit)};
}

std::string FormatSize(uint64_t bytes) {
  static constexpr std::array<const char*, 6> kNames = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  size_t i = 0;
  uint64_t whole = bytes;
  while (i + 1 < kNames.size() && whole >= 1024) {
    whole /= 1024;
    ++i;
  }
  if (i == 0) return fmt::format("{} B", bytes);
  uint64_t unit = uint64_t{1} << (10 * i);
  if (bytes % unit == 0) return fmt::format("{} {}", bytes / unit, kNames[i]);
  return fmt::format("{:.2f} {}", static_cast<double>(bytes) / static_cast<double>(unit),
                     kNames[i]);
}

}  // namespace nvemu::app
