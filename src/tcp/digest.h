// CRC32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the NVMe/TCP header and data digest
// (NVMe/TCP 1.0, 3.6.1.2: HDGST/DDGST are CRC32C, stored little-endian).
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at run time) and a
// slicing-by-8 table otherwise. Threading: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nvemu::tcp {

inline constexpr uint32_t kCrc32cInit = 0xffffffffu;

// Continues a CRC32C over `len` bytes: start from kCrc32cInit, finish with Crc32cFinish().
uint32_t Crc32cUpdate(uint32_t state, const void* data, size_t len);
inline uint32_t Crc32cFinish(uint32_t state) { return ~state; }

// The CRC32C digest of one buffer.
inline uint32_t Crc32c(const void* data, size_t len) {
  return Crc32cFinish(Crc32cUpdate(kCrc32cInit, data, len));
}

// The two implementations, exposed for tests and benchmarks.
uint32_t Crc32cUpdateTable(uint32_t state, const void* data, size_t len);
uint32_t Crc32cUpdateSse42(uint32_t state, const void* data, size_t len);  // REQUIRES: HasSse42()
bool HasSse42();

}  // namespace nvemu::tcp
