#include "core/async_events.h"

#include <algorithm>

namespace nvemu {

void AsyncEventQueue::SetDeliver(Deliver deliver) {
  std::lock_guard<std::mutex> lock(mu_);
  deliver_ = std::move(deliver);
}

// 5.27.1 Asynchronous Event Configuration: which events may be reported. Error events are always
// reported (they have no configuration bit).
bool AsyncEventQueue::Enabled(const AsyncEvent& e) const {
  switch (e.type) {
    case AsyncEventType::kSmartHealth:
      // SMART critical warning bits: 0 spare, 1 temperature, 2 reliability (Figure 207).
      switch (e.info) {
        case kAenSmartSpare:
          return config_ & (1u << 0);
        case kAenSmartTemperature:
          return config_ & (1u << 1);
        default:
          return config_ & (1u << 2);
      }
    case AsyncEventType::kNotice:
      if (e.info == kAenNoticeNamespaceChanged) return config_ & kAecNamespaceAttribute;
      if (e.info == kAenNoticeFirmwareActivation) return config_ & kAecFirmwareActivation;
      return false;
    default:
      return true;
  }
}

std::vector<std::pair<uint16_t, uint32_t>> AsyncEventQueue::MatchLocked() {
  std::vector<std::pair<uint16_t, uint32_t>> done;
  // 5.2: events of a type already reported stay masked until their log page is read.
  auto masked = [&](const AsyncEvent& e) {
    return std::any_of(reported_.begin(), reported_.end(),
                       [&](const AsyncEvent& r) { return r.type == e.type; });
  };
  for (auto it = pending_.begin(); it != pending_.end() && !requests_.empty();) {
    if (masked(*it)) {
      ++it;
      continue;
    }
    done.emplace_back(requests_.front(), it->dw0());
    requests_.erase(requests_.begin());
    reported_.push_back(*it);
    it = pending_.erase(it);
  }
  return done;
}

void AsyncEventQueue::Complete(const std::vector<std::pair<uint16_t, uint32_t>>& done) {
  for (const auto& [cid, dw0] : done) {
    if (deliver_) deliver_(cid, dw0);
  }
}

void AsyncEventQueue::SetObserver(std::function<void(const AsyncEvent&)> observer) {
  std::lock_guard<std::mutex> lock(mu_);
  observer_ = std::move(observer);
}

void AsyncEventQueue::Post(const AsyncEvent& event) {
  if (observer_) observer_(event);
  std::vector<std::pair<uint16_t, uint32_t>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!Enabled(event)) return;
    if (std::find(pending_.begin(), pending_.end(), event) == pending_.end()) {
      pending_.push_back(event);
    }
    done = MatchLocked();
  }
  Complete(done);
}

bool AsyncEventQueue::AddRequest(uint16_t cid, uint32_t limit) {
  std::vector<std::pair<uint16_t, uint32_t>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (requests_.size() >= limit) return false;
    requests_.push_back(cid);
    done = MatchLocked();
  }
  Complete(done);
  return true;
}

bool AsyncEventQueue::RemoveRequest(uint16_t cid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find(requests_.begin(), requests_.end(), cid);
  if (it == requests_.end()) return false;
  requests_.erase(it);
  return true;
}

void AsyncEventQueue::LogRead(uint8_t log_page) {
  std::vector<std::pair<uint16_t, uint32_t>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(reported_, [&](const AsyncEvent& e) { return e.log_page == log_page; });
    done = MatchLocked();
  }
  Complete(done);
}

void AsyncEventQueue::set_config(uint32_t aec) {
  std::lock_guard<std::mutex> lock(mu_);
  config_ = aec & kAecSupported;
}

uint32_t AsyncEventQueue::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

std::vector<AsyncEvent> AsyncEventQueue::Pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_;
}

std::vector<AsyncEvent> AsyncEventQueue::Reported() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reported_;
}

size_t AsyncEventQueue::outstanding() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

void AsyncEventQueue::DropRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

void AsyncEventQueue::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.clear();
  reported_.clear();
  requests_.clear();
  config_ = kAecSupported;
}

}  // namespace nvemu
