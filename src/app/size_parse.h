// Byte sizes written by people: "1GiB", "512 MiB", "4TiB", "1000000000", "1GB".
//
// ParseSize() accepts a non-negative integer with an optional unit: B; binary KiB MiB GiB TiB PiB
// (powers of 1024); decimal kB KB MB GB TB PB (powers of 1000). Bare K/M/G/T/P are rejected as
// ambiguous. Whitespace may separate the number and the unit. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "nvemu/status.h"

namespace nvemu::app {

// On success the size in bytes; on failure an Error whose message says what is wrong with `text`
// (no location: callers add the file, line and key).
Result<uint64_t> ParseSize(std::string_view text);

// 1073741824 -> "1 GiB", 1536 -> "1.50 KiB", 1000 -> "1000 B": for summaries.
std::string FormatSize(uint64_t bytes);

}  // namespace nvemu::app
