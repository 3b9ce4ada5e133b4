#include "storage/logger.h"

#include <system_error>

namespace nvemu {

std::shared_ptr<spdlog::logger> StorageLogger() {
  if (auto logger = spdlog::get(kStorageLoggerName)) return logger;
  return spdlog::default_logger();
}

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

}  // namespace nvemu
