// The data pattern `nvemu demo` writes: every block starts with a readable header
// ("nvemu demo nsid=1 qid=2 lba=0x10\n") followed by bytes derived from (nsid, lba), so a hexdump
// of a file-backed image shows where each block came from and any misplaced byte is detected.
// Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

namespace nvemu::app {

// Fills `len` bytes of `block` with the pattern of block `lba` of namespace `nsid` written via
// I/O queue `qid`.
void FillDemoBlock(uint8_t* block, size_t len, uint32_t nsid, uint16_t qid, uint64_t lba);

// The offset of the first byte where `got` differs from `want`, or nullopt when equal.
std::optional<size_t> FirstMismatch(const uint8_t* got, const uint8_t* want, size_t len);

}  // namespace nvemu::app
