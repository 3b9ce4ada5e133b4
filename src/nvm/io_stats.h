// IoStats: the SMART / Health counters the I/O path feeds (NVMe Base 2.0, 5.16.1.3: Data Units
// Read/Written, Host Read/Write Commands; Controller Busy Time is core/busy_time.h).
//
// No locked instruction on the I/O path: each IoStats has kWriterSlots cache-line sized shards,
// and a thread that counts first claims one of kWriterSlots process-wide writer slots for its
// lifetime (released when it exits). Shard i of every IoStats then has one writer, the owner of
// slot i, which adds with a relaxed load and a relaxed store (a plain add; readers never see a
// torn value). Threads that find every slot taken (more than kWriterSlots counting at once) share
// the overflow shard, updated with atomic fetch_add. Readers sum the shards with relaxed loads: a
// snapshot in which each counter is a value it had, which is what the SMART log needs.
// A slot that changes owner (one thread exited, another claimed it) keeps its values: the new owner
// adds to them; the release of the slot and the acquire of the claim order the two writers.
// Threading: Count* from any thread; Sum() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace nvemu {

struct IoTotals {
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_commands = 0;
  uint64_t write_commands = 0;
};

namespace io_stats_internal {

inline constexpr unsigned kWriterSlots = 16;
inline constexpr unsigned kUnclaimed = ~0u;
// The calling thread's writer slot (< kWriterSlots), kWriterSlots for the shared overflow shard,
// or kUnclaimed before the thread's first count.
inline constinit thread_local unsigned t_slot = kUnclaimed;
// Claims a free writer slot for the calling thread (or the overflow shard) and stores it in
// t_slot; the slot is released when the thread exits.
unsigned ClaimSlot();

inline unsigned MySlot() {
  const unsigned s = t_slot;
  return s != kUnclaimed ? s : ClaimSlot();
}

}  // namespace io_stats_internal

class IoStats {
 public:
  static constexpr unsigned kWriterSlots = io_stats_internal::kWriterSlots;

  void CountRead(uint64_t bytes) {
    const unsigned slot = io_stats_internal::MySlot();
    Shard& s = shards_[slot];
    Add(slot, s.read_bytes, bytes);
    Add(slot, s.read_commands, 1);
  }
  void CountWrite(uint64_t bytes) {
    const unsigned slot = io_stats_internal::MySlot();
    Shard& s = shards_[slot];
    Add(slot, s.write_bytes, bytes);
    Add(slot, s.write_commands, 1);
  }
  IoTotals Sum() const {
    IoTotals t;
    for (const Shard& s : shards_) {
      t.read_bytes += s.read_bytes.load(std::memory_order_relaxed);
      t.write_bytes += s.write_bytes.load(std::memory_order_relaxed);
      t.read_commands += s.read_commands.load(std::memory_order_relaxed);
      t.write_commands += s.write_commands.load(std::memory_order_relaxed);
    }
    return t;
  }

 private:
  struct alignas(64) Shard {
    std::atomic<uint64_t> read_bytes{0};
    std::atomic<uint64_t> write_bytes{0};
    std::atomic<uint64_t> read_commands{0};
    std::atomic<uint64_t> write_commands{0};
  };
  static void Add(unsigned slot, std::atomic<uint64_t>& c, uint64_t v) {
    if (slot < kWriterSlots) {
      // Single writer: no read-modify-write needed.
      c.store(c.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);
    } else {
      c.fetch_add(v, std::memory_order_relaxed);
    }
  }

  // kWriterSlots single-writer shards, then the shared overflow shard.
  std::array<Shard, kWriterSlots + 1> shards_;
};

}  // namespace nvemu
