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
  auto text = ReadConfigFileText(path);
  if (!text.ok()) return text.error();
  return ParseConfig(*text, path);
}

}  // namespace nvemu::app
