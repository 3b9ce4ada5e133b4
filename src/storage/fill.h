// WriteFill: writes a MetadataFill pattern (or zeroes) over a byte range through a write function,
// 4 KiB at a time from a stack buffer. Used by the default Deallocate implementations and by
// backends that cannot release storage (file metadata images, fallbacks of hole punching).
// Pure helper; thread-safe as long as `write` is.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "nvemu/backend.h"

namespace nvemu {

template <typename WriteFn>
IoStatus WriteFill(uint64_t off, uint64_t len, const MetadataFill& fill, WriteFn&& write) {
  // 4096 is a multiple of every period (<= 64), so the buffer can be written at any offset that
  // is congruent to its start: fill it starting at `off`'s phase.
  uint8_t buf[4096];
  for (size_t i = 0; i < sizeof(buf); ++i) buf[i] = fill.at(off + i);
  while (len > 0) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(len, sizeof(buf)));
    if (IoStatus st = write(off, buf, n); !st.ok()) return st;
    off += n;
    len -= n;
  }
  return IoStatus{};
}

}  // namespace nvemu
