// Identify data as JSON, with the key names of nvme-cli's `nvme id-ctrl -o json` / `id-ns -o json`:
// integers as numbers, ASCII fields as trimmed strings, 128-bit capacities as numbers when they fit
// in 64 bits (else decimal strings), NGUID/EUI64 as hex strings, "psds" and "lbafs" as arrays.
// Pure functions, thread-safe.
#pragma once

#include <nvme/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>

namespace nvemu::app {

nlohmann::ordered_json IdCtrlJson(const nvme_id_ctrl& id);
nlohmann::ordered_json IdNsJson(const nvme_id_ns& id);

}  // namespace nvemu::app
