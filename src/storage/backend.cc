// Default implementations of the optional Backend operations (include/nvemu/backend.h).
#include "nvemu/backend.h"

#include <algorithm>
#include <cstring>

#include "storage/fill.h"

namespace nvemu {

IoStatus Backend::Deallocate(uint64_t off, uint64_t len) {
  return WriteFill(off, len, MetadataFill{},
                   [this](uint64_t o, const void* p, size_t n) { return Write(o, p, n); });
}

IoStatus Backend::DeallocateMetadata(uint64_t off, uint64_t len) {
  return WriteFill(off, len, MetadataFill{},
                   [this](uint64_t o, const void* p, size_t n) { return WriteMetadata(o, p, n); });
}

}  // namespace nvemu
