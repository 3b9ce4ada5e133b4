// Error Information log (NVMe Base 2.0, 5.16.1.2, Log Identifier 01h): a ring of the most recent
// errors, newest first, each with a unique, growing Error Count.
//
// The front end's completion path records every command that completes with an error
// (Controller::RecordError); errors not tied to a command (an invalid doorbell write) are recorded
// with SQID/CID FFFFh. Threading: thread-safe (a mutex taken on the error path only).
#pragma once

#include <nvme/types.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

namespace nvemu {

class ErrorLog {
 public:
  static constexpr uint32_t kEntries = 64;  // Identify ELPE = 63

  struct Entry {
    uint16_t sqid = 0xffff;
    uint16_t cid = 0xffff;
    uint16_t status = 0;  // Status Field (bits 15:1 as in the CQE; bit 0 phase tag = 0)
    uint16_t param_loc = 0xffff;
    uint64_t lba = 0;
    uint32_t nsid = 0;
  };

  // Adds an entry; returns its Error Count.
  uint64_t Record(const Entry& e);
  // The log page: kEntries entries, newest first; unused entries are zero (Error Count 0).
  std::vector<nvme_error_log_page> Page() const;
  // Lifetime number of entries (SMART "Number of Error Information Log Entries").
  uint64_t count() const;
  // Restores the lifetime count after a restart (the ring itself is not persisted).
  void set_count(uint64_t count);

 private:
  mutable std::mutex mu_;
  uint64_t count_ = 0;                                // GUARDED_BY(mu_)
  std::array<nvme_error_log_page, kEntries> ring_{};  // GUARDED_BY(mu_)
  uint32_t used_ = 0;                                 // GUARDED_BY(mu_)
  uint32_t next_ = 0;                                 // GUARDED_BY(mu_)
};

}  // namespace nvemu
