// The storage module's logger.
//
// Returns the spdlog logger named "storage" when the application registered one, else spdlog's
// default logger. Never registers a logger itself, so the app can create "storage" later without a
// name clash. Thread-safe (spdlog's registry has its own lock); meant for error paths, not per I/O.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace nvemu {

inline constexpr const char* kStorageLoggerName = "storage";

std::shared_ptr<spdlog::logger> StorageLogger();

// strerror-style text of an errno value (thread-safe, unlike strerror on older C libraries).
std::string ErrnoText(int err);

}  // namespace nvemu
