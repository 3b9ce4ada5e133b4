#include "app/config_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <exception>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <vector>

#include "app/config_schema.h"
#include "app/toml_fields.h"

namespace nvemu::app {
namespace {

constexpr uintmax_t kMaxFileBytes = 1 << 20;  // a configuration file is small; refuse anything big

Result<std::string> ReadWholeFile(const std::string& path) {
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

}  // namespace

Result<ControllerConfig> ParseConfig(std::string_view text, std::string_view source_name) {
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
  return ApplySchema(root, source_name);
}

Result<ControllerConfig> LoadConfigFile(const std::string& path) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.error();
  return ParseConfig(*text, path);
}

}  // namespace nvemu::app
