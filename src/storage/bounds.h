// Range checks shared by every backend.
//
// Callers (the nvm/ layer) promise to stay inside the images; backends still check, so a bug above
// turns into an IoStatus{ERANGE} (mapped to LBA Out of Range) instead of memory corruption.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvemu {

// True when [off, off + len) lies inside [0, size). Never overflows, whatever the arguments.
// An empty range is valid at any offset up to and including `size`.
constexpr bool RangeInBounds(uint64_t off, uint64_t len, uint64_t size) {
  return len <= size && off <= size - len;
}

}  // namespace nvemu
