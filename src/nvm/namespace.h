// Namespace: an NVM command set namespace over a Backend (NVM Command Set 1.0, 2.1 and 4.1.5).
//
// Immutable geometry (NSZE, LBA data size, metadata size, identifiers) plus the backend that holds the
// data and metadata images. Threading: the geometry is constant after construction; the backend is safe
// for concurrent use, so any reactor may execute I/O on a namespace without locks.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "nvemu/backend.h"
#include "nvemu/config.h"

namespace nvemu {

// LBA formats advertised in Identify Namespace (LBAF0..), NVM Command Set 1.0 Figure 98.
// Formats with metadata (512+8, 512+64, 4096+8, 4096+64) join this table with the metadata data path.
struct LbaFormat {
  uint16_t ms;    // metadata bytes per LBA
  uint8_t lbads;  // LBA data size, 2^LBADS bytes
  uint8_t rp;     // relative performance (0 = best)
};
inline constexpr std::array<LbaFormat, 2> kLbaFormats = {{
    {0, 9, 1},
    {0, 12, 0},
}};
// Index into kLbaFormats for a data size/metadata size pair, or -1 when unsupported.
int FindLbaFormat(uint32_t lba_size, uint32_t metadata_size);

class Namespace {
 public:
  Namespace(uint32_t nsid, uint8_t lbaf, uint64_t nsze, std::unique_ptr<Backend> backend);

  uint32_t nsid() const { return nsid_; }
  uint8_t lbaf() const { return lbaf_; }          // FLBAS format index
  uint64_t nsze() const { return nsze_; }         // size in logical blocks
  uint8_t lba_shift() const { return lba_shift_; }  // log2(LBA data size)
  uint32_t lba_size() const { return 1u << lba_shift_; }
  uint16_t metadata_size() const { return kLbaFormats[lbaf_].ms; }
  Backend& backend() { return *backend_; }
  const Backend& backend() const { return *backend_; }

  // Namespace identifiers (NVMe Base 2.0, 4.5.1): stable for a given subsystem serial and NSID, so a
  // host sees the same namespace after a restart.
  const std::array<uint8_t, 16>& nguid() const { return nguid_; }
  const std::array<uint8_t, 8>& eui64() const { return eui64_; }
  const std::array<uint8_t, 16>& uuid() const { return uuid_; }
  void SetIdentifiers(const std::array<uint8_t, 16>& nguid, const std::array<uint8_t, 8>& eui64,
                      const std::array<uint8_t, 16>& uuid);

  // True when [slba, slba+nlb) lies inside the namespace (overflow-safe).
  bool InRange(uint64_t slba, uint64_t nlb) const {
    return slba <= nsze_ && nlb <= nsze_ - slba;
  }

 private:
  const uint32_t nsid_;
  const uint8_t lbaf_;
  const uint64_t nsze_;
  const uint8_t lba_shift_;
  std::unique_ptr<Backend> backend_;
  std::array<uint8_t, 16> nguid_{};
  std::array<uint8_t, 8> eui64_{};
  std::array<uint8_t, 16> uuid_{};
};

// Builds namespace `nsid` from its configuration: opens or creates its backend. The identifiers are
// derived from `serial` and `nsid` (a hash), so they are stable across restarts.
Result<std::unique_ptr<Namespace>> MakeNamespace(uint32_t nsid, const NamespaceConfig& config,
                                                 const std::string& serial);

}  // namespace nvemu
