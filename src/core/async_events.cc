#include "core/async_events.h"

#include <algorithm>

namespace nvemu {

void AsyncEventQueue::Post(const AsyncEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(pending_.begin(), pending_.end(), event) == pending_.end()) {
    pending_.push_back(event);
  }
}

std::vector<AsyncEvent> AsyncEventQueue::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

void AsyncEventQueue::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.clear();
}

}  // namespace nvemu
