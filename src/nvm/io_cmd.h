// NVM command set I/O commands (NVM Command Set 1.0, 3.2 and 3.3): table-driven dispatch by opcode.
//
// Threading: ExecuteIoCommand runs on I/O reactors concurrently; it reads IoContext, the
// namespaces' thread-safe backends and lock-free per-namespace state. No locks and no allocation
// on the Read/Write path; documented slow paths: fused Compare and Write (a range lock),
// reservation changes (a mutex), and per-thread scratch buffers that grow to the largest
// metadata-format or Copy command seen (allocated once per reactor thread).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "nvm/io_stats.h"
#include "nvm/namespace.h"
#include "spec/request.h"

namespace nvemu {

// The fused Compare and Write state of one submission queue (NVMe Base 2.0, 3.4.2). Touched only
// by the reactor that owns the SQ (and by the admin reactor once the SQ is gone).
struct FusedSlot {
  bool pending = false;  // the first command succeeded; its range is locked until the second
  bool failed = false;   // the first command failed: abort the second
  uint32_t nsid = 0;
  uint64_t slba = 0;
  uint32_t nlb = 0;
  Namespace* ns = nullptr;
};

// Per-controller state the I/O path needs from its controller (owned by core/Controller, which
// points IoContext::controller at it; tests may build their own).
class IoControllerState {
 public:
  IoControllerState(uint16_t cntlid, uint32_t max_sqid);

  uint16_t cntlid() const { return cntlid_; }
  // Volatile Write Cache feature (NVMe Base 2.0, 5.27.1.5): enabled, writes complete before they
  // are durable (Flush makes them durable); disabled, every write is durable before it completes.
  bool volatile_write_cache() const { return vwc_.load(std::memory_order_acquire); }
  void set_volatile_write_cache(bool on) { vwc_.store(on, std::memory_order_release); }
  // Host Identifier (NVMe Base 2.0, 5.27.1.25; fabrics: Connect HOSTID). Zero when not set.
  std::array<uint8_t, 16> host_id() const;
  void set_host_id(const std::array<uint8_t, 16>& id);
  HostRef host() const { return HostRef{cntlid_, host_id()}; }

  // Fused state of SQ `sqid`; null when sqid is beyond the controller's queues.
  FusedSlot* fused(uint16_t sqid) { return sqid < fused_count_ ? &fused_[sqid] : nullptr; }
  // Drops SQ `sqid`'s pending fused pair (its SQ was deleted) or every one (controller reset).
  // REQUIRES: no command of that SQ executes meanwhile.
  void ReleaseFused(uint16_t sqid);
  void ReleaseAllFused();
  uintptr_t FusedOwner(uint16_t sqid) const {
    return reinterpret_cast<uintptr_t>(this) * 65536 + sqid;
  }

 private:
  const uint16_t cntlid_;
  std::atomic<bool> vwc_{true};
  std::atomic<uint64_t> host_id_[2] = {};
  const uint32_t fused_count_;
  std::unique_ptr<FusedSlot[]> fused_;
};

struct IoContext {
  // The active namespace table (NSID - 1 -> Namespace*, null = inactive NSID within NN). Namespace
  // management and Format NVM publish a new table; a command loads the pointer once, and the old
  // table (and any namespace it alone references) is freed only after every reactor has finished
  // the commands it was running (core/subsystem.h).
  const std::atomic<const NamespaceTable*>* namespaces = nullptr;
  // Largest data transfer in bytes (Identify MDTS); 0 = no limit.
  uint64_t max_transfer_bytes = 0;
  // SMART / Health counters (data units and commands read/written); may be null.
  IoStats* stats = nullptr;
  // The controller's VWC, Host Identifier and fused state; null = VWC enabled, host of CNTLID 0,
  // no fused operations.
  IoControllerState* controller = nullptr;
};

// Executes an I/O command; sets req.dw0/dw1 when the command defines them.
Status ExecuteIoCommand(const IoContext& ctx, Request& req);

// True when the NVM command set table implements opcode `opc` (Identify ONCS, Commands Supported
// and Effects log).
bool IsIoCommandSupported(uint8_t opc);

// Identify Controller ONCS (NVM Command Set 1.0, 4.1.5.1 / NVMe Base 2.0 Figure 275) and FUSES for
// the commands this table implements.
uint16_t SupportedOncs();
inline constexpr uint16_t kFusesCompareAndWrite = 1u << 0;

// Performance hint for a command that will execute soon (the next SQ entry): for Read/Write of a
// valid range, asks the namespace's backend to prefetch the start of its data. No side effects,
// no validation errors (an invalid command is simply not prefetched).
void PrefetchIoCommand(const IoContext& ctx, const Sqe& sqe);

}  // namespace nvemu
