// Identify data as text, in the layout of nvme-cli's `nvme id-ctrl` and `nvme id-ns`: one
// "field : value" line per field, integers as nvme-cli prints them (flags and identifiers in hex,
// counts in decimal), ASCII strings trimmed, 128-bit capacities in decimal.
//
// The printers take libnvme's structs so that any transport (PCIe now, NVMe/TCP later) can use
// them. Pure functions, thread-safe.
#pragma once

#include <nvme/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace nvemu::app {

// "NVME Identify Controller:" followed by every field, power state descriptors 0..NPSS last.
std::string FormatIdCtrl(const nvme_id_ctrl& id);

// "NVME Identify Namespace <nsid>:" followed by every field and the LBA formats 0..NLBAF, the one
// selected by FLBAS marked "(in use)".
std::string FormatIdNs(const nvme_id_ns& id, uint32_t nsid);

// A space-padded ASCII Identify field (SN, MN, FR; NVMe Base 2.0, 1.5) without its padding.
std::string IdString(const char* field, size_t len);

// VER (NVMe Base 2.0, 3.1.4.2): 0x00020000 -> "2.0.0".
std::string FormatVersion(uint32_t ver);

// The LBA format FLBAS selects (bits 3:0 plus bits 6:5 as bits 5:4).
unsigned InUseLbaFormat(const nvme_id_ns& id);

// A little-endian unsigned integer of `len` bytes (up to 16: TNVMCAP, NVMCAP) in decimal.
std::string LittleEndianDecimal(const uint8_t* bytes, size_t len);

// Bytes as lowercase hex without separators (NGUID, EUI64).
std::string HexBytes(const uint8_t* bytes, size_t len);

}  // namespace nvemu::app
