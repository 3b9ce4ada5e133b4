// Typed reads of single TOML values for the config file schema (config_file.cc).
//
// Each reader checks the value's TOML type and range and returns the C++ value or an Error whose
// message describes the value only ("99 is outside 0..15", "expected an integer, got a string");
// the caller prefixes the file, line and key. Pure functions, thread-safe.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "nvemu/status.h"

namespace nvemu::app {

// "an integer", "a string", "a table", ... for messages.
// The text of a TOML configuration file (at most 1 MiB); errors name the path.
Result<std::string> ReadConfigFileText(const std::string& path);

// `text` parsed as TOML; a syntax error reads "<source_name>:<line>:<column>: TOML syntax error:
// ...".
Result<toml::table> ParseTomlText(std::string_view text, std::string_view source_name);

std::string_view TomlTypeName(toml::node_type type);

// An integer in [min, max].
Result<int64_t> ReadInt(const toml::node& node, int64_t min, int64_t max);

// A boolean.
Result<bool> ReadBool(const toml::node& node);

// A string of printable ASCII (space through '~') with a length in [min_len, max_len].
Result<std::string> ReadAsciiString(const toml::node& node, size_t min_len, size_t max_len);

// A non-empty string (a path).
Result<std::string> ReadPath(const toml::node& node);

// A size in bytes: a non-negative integer or a string with a unit (see size_parse.h).
Result<uint64_t> ReadSize(const toml::node& node);

// A string equal to one of `names`; the error lists them.
Result<std::string> ReadChoice(const toml::node& node, std::span<const std::string_view> names);

}  // namespace nvemu::app
