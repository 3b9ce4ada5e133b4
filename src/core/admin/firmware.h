// nvemu firmware images (for 5.13 Firmware Image Download / 5.12 Firmware Commit): a 32-byte header
// followed by the payload. Firmware Commit accepts an image only when the header is intact, the
// length matches and the CRC-32 of the payload is right; otherwise Invalid Firmware Image. The
// revision in the header becomes Identify FR once the image is activated.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nvemu {

struct FirmwareImageHeader {
  char magic[8];     // "NVEMUFW1"
  char revision[8];  // ASCII, space padded (Identify FR)
  uint32_t payload_bytes;
  uint32_t crc32;  // CRC-32 (IEEE 802.3) of the payload
  uint8_t reserved[8];
};
static_assert(sizeof(FirmwareImageHeader) == 32);

uint32_t Crc32(const uint8_t* data, size_t len);
// Builds a valid image (tools and tests).
std::vector<uint8_t> BuildFirmwareImage(const std::string& revision,
                                        const std::vector<uint8_t>& payload);
// True when `image` is a valid nvemu firmware image; sets `revision` (trailing spaces removed).
bool ParseFirmwareImage(const std::vector<uint8_t>& image, std::string* revision);

}  // namespace nvemu
