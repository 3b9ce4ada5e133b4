// IoStats: the SMART / Health counters the I/O path feeds (NVMe Base 2.0, 5.16.1.3: Data Units
// Read/Written, Host Read/Write Commands; Controller Busy Time is core/busy_time.h).
//
// Lock-free and cheap on the I/O path: each thread adds to its own cache-line sized shard with
// relaxed atomics (threads are spread over the shards round robin); readers sum the shards.
// Threading: Count* from any thread; Sum() from any thread (a consistent-enough snapshot).
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

class IoStats {
 public:
  void CountRead(uint64_t bytes) {
    Shard& s = Mine();
    s.read_bytes.fetch_add(bytes, std::memory_order_relaxed);
    s.read_commands.fetch_add(1, std::memory_order_relaxed);
  }
  void CountWrite(uint64_t bytes) {
    Shard& s = Mine();
    s.write_bytes.fetch_add(bytes, std::memory_order_relaxed);
    s.write_commands.fetch_add(1, std::memory_order_relaxed);
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
  static constexpr unsigned kShards = 16;
  struct alignas(64) Shard {
    std::atomic<uint64_t> read_bytes{0};
    std::atomic<uint64_t> write_bytes{0};
    std::atomic<uint64_t> read_commands{0};
    std::atomic<uint64_t> write_commands{0};
  };
  static unsigned ThreadSlot() {
    static std::atomic<unsigned> next{0};
    thread_local unsigned slot = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return slot;
  }
  Shard& Mine() { return shards_[ThreadSlot()]; }

  std::array<Shard, kShards> shards_;
};

}  // namespace nvemu
