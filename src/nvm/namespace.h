// Namespace: an NVM command set namespace over a Backend (NVM Command Set 1.0, 2.1 and 4.1.5).
//
// Immutable geometry (NSZE, LBA format, metadata layout, protection information, identifiers) plus
// the backend that holds the data and metadata images, and the per-namespace state the NVM commands
// share: the uncorrectable-block set (lock-free), the fused-operation range lock and write gate
// (nvm/range_lock.h: a mutex taken by fused Compare and Write, and by other writes only while a
// pair is in flight) and the reservation state (a mutex for changes; I/O checks are
// lock-free). Threading: the geometry is constant after construction; everything else is safe
// for concurrent use, so any reactor may execute I/O on a namespace.
//
// Metadata layout: the backend's metadata image holds MS bytes per logical block, at offset
// LBA * MS, whatever the transfer form (separate buffer or extended LBA); so an extended-LBA
// namespace keeps nvmeqemu's split data + metadata image layout on disk and interleaves only on the
// wire. Unwritten or deallocated blocks read as data 00h; their metadata reads as 00h except the
// protection information, which reads as all FFh (Application Tag FFFFh and Reference Tag all
// ones: the controller skips every check on them, as NVM Command Set 1.0, 5.2.1 allows).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "nvemu/backend.h"
#include "nvemu/config.h"
#include "nvm/lba_bitmap.h"
#include "nvm/range_lock.h"
#include "nvm/reservations.h"

namespace nvemu {

// LBA formats advertised in Identify Namespace (LBAF0..), NVM Command Set 1.0 Figure 98, with the
// protection information format of each (Extended LBA Format, NVM Command Set 1.0 Figure 116
// ELBAF.PIF, reported by Identify CNS 05h). Indexes are stable (Format NVM and saved namespaces
// refer to them): new formats are appended only.
inline constexpr uint8_t kPif16bGuard = 0;
inline constexpr uint8_t kPif64bGuard = 2;
struct LbaFormat {
  uint16_t ms;                 // metadata bytes per LBA
  uint8_t lbads;               // LBA data size, 2^LBADS bytes
  uint8_t rp;                  // relative performance (0 = best)
  uint8_t pif = kPif16bGuard;  // protection information format when PI is enabled
};
inline constexpr std::array<LbaFormat, 8> kLbaFormats = {{
    {0, 9, 1},                  // 0: 512
    {0, 12, 0},                 // 1: 4096
    {8, 9, 2},                  // 2: 512+8
    {64, 9, 2},                 // 3: 512+64
    {8, 12, 1},                 // 4: 4096+8
    {64, 12, 1},                // 5: 4096+64
    {16, 9, 2, kPif64bGuard},   // 6: 512+16, 64b Guard PI
    {16, 12, 1, kPif64bGuard},  // 7: 4096+16, 64b Guard PI
}};
// Index into kLbaFormats for a data size/metadata size pair, or -1 when unsupported.
int FindLbaFormat(uint32_t lba_size, uint32_t metadata_size, bool guard64 = false);

// How a namespace's metadata is transferred and protected (FLBAS bit 4, DPS).
struct NamespaceFormat {
  bool extended = false;  // metadata at the end of each LBA's data in the host buffer
  uint8_t pi_type = 0;    // 0: no PI; 1..3: Type 1..3
  bool pi_first = false;  // PI in the first bytes of the metadata (else the last)
};

class Namespace {
 public:
  Namespace(uint32_t nsid, uint8_t lbaf, uint64_t nsze, std::unique_ptr<Backend> backend,
            const NamespaceFormat& format = {});

  uint32_t nsid() const { return nsid_; }
  uint8_t lbaf() const { return lbaf_; }            // FLBAS format index
  uint64_t nsze() const { return nsze_; }           // size in logical blocks
  uint8_t lba_shift() const { return lba_shift_; }  // log2(LBA data size)
  uint32_t lba_size() const { return 1u << lba_shift_; }
  uint16_t metadata_size() const { return kLbaFormats[lbaf_].ms; }
  bool extended() const { return format_.extended; }
  uint8_t pi_type() const { return format_.pi_type; }
  bool pi_first() const { return format_.pi_first; }
  bool pi_64b() const { return kLbaFormats[lbaf_].pif == kPif64bGuard; }
  uint8_t pi_size() const { return pi_64b() ? 16 : 8; }
  // Offset of the PI inside a block's metadata (0 when first; MS - PI size when last).
  uint16_t pi_offset() const { return format_.pi_first ? 0 : metadata_size() - pi_size(); }
  // Identify Namespace FLBAS (format index bits 3:0 and 6:5, extended bit 4) and DPS.
  uint8_t flbas() const {
    return static_cast<uint8_t>((lbaf_ & 0xf) | ((lbaf_ >> 4) << 5) | (format_.extended << 4));
  }
  uint8_t dps() const { return static_cast<uint8_t>(format_.pi_type | (format_.pi_first << 3)); }
  Backend& backend() { return *backend_; }
  const Backend& backend() const { return *backend_; }

  // Blocks made uncorrectable by Write Uncorrectable (cleared when rewritten or deallocated).
  LbaBitmap& uncorrectable() { return uncorrectable_; }
  // Fused Compare and Write ranges, and the gate every other LBA write passes.
  RangeLock& fused_lock() { return fused_lock_; }
  Reservations& reservations() { return reservations_; }
  const Reservations& reservations() const { return reservations_; }

  // Namespace identifiers (NVMe Base 2.0, 4.5.1): stable for a given subsystem serial and NSID, so
  // a host sees the same namespace after a restart.
  const std::array<uint8_t, 16>& nguid() const { return nguid_; }
  const std::array<uint8_t, 8>& eui64() const { return eui64_; }
  const std::array<uint8_t, 16>& uuid() const { return uuid_; }
  void SetIdentifiers(const std::array<uint8_t, 16>& nguid, const std::array<uint8_t, 8>& eui64,
                      const std::array<uint8_t, 16>& uuid);

  // Namespace management / Format NVM (issue #3): hands the backend to the namespace that replaces
  // this one. REQUIRES: no I/O can reach this namespace any more (its table was retired).
  std::unique_ptr<Backend> ReleaseBackend() { return std::move(backend_); }

  // True when [slba, slba+nlb) lies inside the namespace (overflow-safe).
  bool InRange(uint64_t slba, uint64_t nlb) const { return slba <= nsze_ && nlb <= nsze_ - slba; }

 private:
  const uint32_t nsid_;
  const uint8_t lbaf_;
  const uint64_t nsze_;
  const uint8_t lba_shift_;
  const NamespaceFormat format_;
  std::unique_ptr<Backend> backend_;
  LbaBitmap uncorrectable_;
  RangeLock fused_lock_;
  Reservations reservations_;
  std::array<uint8_t, 16> nguid_{};
  std::array<uint8_t, 8> eui64_{};
  std::array<uint8_t, 16> uuid_{};
};

// The active namespaces of a controller, indexed by NSID - 1 (null = inactive NSID within NN). An
// immutable snapshot once published; core/subsystem.h swaps whole tables.
using NamespaceTable = std::vector<Namespace*>;

// What unwritten metadata of a format reads as: PI bytes FFh, other bytes 00h.
MetadataFill MetadataFillFor(uint8_t lbaf, const NamespaceFormat& format);

// Builds namespace `nsid` from its configuration: opens or creates its backend. The identifiers are
// derived from `serial` and `nsid` (a hash), so they are stable across restarts.
Result<std::unique_ptr<Namespace>> MakeNamespace(uint32_t nsid, const NamespaceConfig& config,
                                                 const std::string& serial);

// Sets NGUID, EUI64 and UUID derived from `key` (a hash; MakeNamespace uses "<serial>/<nsid>").
// Namespace management derives a new key for each namespace it creates, so that identifiers are
// never reused (NVMe Base 2.0, 4.5.1).
void DeriveIdentifiers(const std::string& key, Namespace& ns);

}  // namespace nvemu
