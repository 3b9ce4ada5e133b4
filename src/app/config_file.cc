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
  auto parsed = ParseTomlText(text, source_name);
  if (!parsed.ok()) return parsed.error();
  toml::table root = std::move(*parsed);
  return ApplySchema(root, source_name);
}

Result<ControllerConfig> LoadConfigFile(const std::string& path) {
  auto text = ReadConfigFileText(path);
  if (!text.ok()) return text.error();
  return ParseConfig(*text, path);
}

}  // namespace nvemu::app
