#include "core/error_log.h"

namespace nvemu {

uint64_t ErrorLog::Record(const Entry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  nvme_error_log_page& p = ring_[next_];
  p = nvme_error_log_page{};
  p.error_count = ++count_;
  p.sqid = e.sqid;
  p.cmdid = e.cid;
  p.status_field = e.status;
  p.parm_error_location = e.param_loc;
  p.lba = e.lba;
  p.nsid = e.nsid;
  p.trtype = 0;  // 2.0 Figure 206: Transport Type not indicated (PCIe)
  next_ = (next_ + 1) % kEntries;
  if (used_ < kEntries) ++used_;
  return count_;
}

std::vector<nvme_error_log_page> ErrorLog::Page() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<nvme_error_log_page> page(kEntries);
  for (uint32_t i = 0; i < used_; ++i) page[i] = ring_[(next_ + kEntries - 1 - i) % kEntries];
  return page;
}

uint64_t ErrorLog::count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

void ErrorLog::set_count(uint64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  count_ = count;
}

}  // namespace nvemu
