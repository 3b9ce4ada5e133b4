#include "app/toml_fields.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/size_parse.h"

namespace nvemu::app {

namespace {
constexpr uintmax_t kMaxFileBytes = 1 << 20;  // a configuration file is small; refuse anything big
}  // namespace

Result<std::string> ReadConfigFileText(const std::string& path) {
  std::error_code ec;
  auto status = std::filesystem::status(path, ec);
  if (ec) return Error{fmt::format("{}: cannot open config file: {}", path, ec.message())};
  if (std::filesystem::is_directory(status)) {
    return Error{fmt::format("{}: cannot open config file: is a directory", path)};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error{fmt::format("{}: cannot open config file", path)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error{fmt::format("{}: read error", path)};
  if (text.view().size() > kMaxFileBytes) {
    return Error{fmt::format("{}: config file larger than {} bytes", path, kMaxFileBytes)};
  }
  return text.str();
}

Result<toml::table> ParseTomlText(std::string_view text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return Error{fmt::format("{}:{}:{}: TOML syntax error: {}", source_name, at.line, at.column,
                             e.description())};
  } catch (const std::exception& e) {
    return Error{fmt::format("{}: cannot parse: {}", source_name, e.what())};
  }
  return root;
}

namespace {

Error WrongType(const toml::node& node, std::string_view expected) {
  return Error{fmt::format("expected {}, got {}", expected, TomlTypeName(node.type()))};
}

}  // namespace

std::string_view TomlTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::none:
      return "nothing";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
  }
  return "an unknown type";
}

Result<int64_t> ReadInt(const toml::node& node, int64_t min, int64_t max) {
  const auto* v = node.as_integer();
  if (v == nullptr) return WrongType(node, "an integer");
  int64_t value = v->get();
  if (value < min || value > max) {
    return Error{fmt::format("{} is outside {}..{}", value, min, max)};
  }
  return value;
}

Result<bool> ReadBool(const toml::node& node) {
  const auto* v = node.as_boolean();
  if (v == nullptr) return WrongType(node, "a boolean (true or false)");
  return v->get();
}

Result<std::string> ReadAsciiString(const toml::node& node, size_t min_len, size_t max_len) {
  const auto* v = node.as_string();
  if (v == nullptr) return WrongType(node, "a string");
  const std::string& s = v->get();
  if (s.size() < min_len || s.size() > max_len) {
    return Error{
        fmt::format("\"{}\" has {} characters, must have {}..{}", s, s.size(), min_len, max_len)};
  }
  for (char c : s) {
    if (c < ' ' || c > '~') {
      return Error{fmt::format("\"{}\" must be printable ASCII (NVMe ASCII string)", s)};
    }
  }
  return s;
}

Result<std::string> ReadPath(const toml::node& node) {
  const auto* v = node.as_string();
  if (v == nullptr) return WrongType(node, "a string (a path)");
  if (v->get().empty()) return Error{"path must not be empty"};
  return v->get();
}

Result<uint64_t> ReadSize(const toml::node& node) {
  if (const auto* i = node.as_integer()) {
    if (i->get() < 0) return Error{fmt::format("size {} is negative", i->get())};
    return static_cast<uint64_t>(i->get());
  }
  if (const auto* s = node.as_string()) return ParseSize(s->get());
  return WrongType(node, "an integer (bytes) or a string with a unit such as \"1GiB\"");
}

Result<std::string> ReadChoice(const toml::node& node, std::span<const std::string_view> names) {
  std::string list;
  for (std::string_view name : names) {
    list += list.empty() ? "" : ", ";
    list += fmt::format("\"{}\"", name);
  }
  const auto* v = node.as_string();
  if (v == nullptr) return WrongType(node, fmt::format("a string, one of {}", list));
  for (std::string_view name : names) {
    if (v->get() == name) return v->get();
  }
  return Error{fmt::format("\"{}\" is not one of {}", v->get(), list)};
}

}  // namespace nvemu::app
