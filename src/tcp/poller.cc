#include "tcp/poller.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

namespace nvemu::tcp {
namespace {

constexpr int kMaxEvents = 64;
constexpr uint64_t kMaxBlockNs = 100'000'000;
constexpr uint64_t kTimerCheckNs = 10'000'000;  // keep-alive / drain deadlines: 10 ms resolution

// Drains the eventfd that Kick() writes; the messages themselves run from the reactor's mailbox.
class Waker final : public EpollHandler {
 public:
  explicit Waker(int fd) : fd_(fd) {}
  uint32_t OnEvents(uint32_t) override {
    uint64_t v;
    while (::read(fd_, &v, sizeof(v)) > 0) {
    }
    return 0;
  }

 private:
  int fd_;
};

}  // namespace

struct TcpPoller::ConnHandler final : EpollHandler {
  ConnHandler(Connection* c, const uint32_t* budget) : conn(c), budget(budget) {}
  uint32_t OnEvents(uint32_t events) override {
    if (conn->closed()) return 0;
    uint32_t work = 0;
    if (events & EPOLLOUT) {
      conn->Flush();
      ++work;
    }
    if (!conn->closed() && (events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
      work += std::max<uint32_t>(conn->Service(*budget), 1);
    }
    return work;
  }
  Connection* conn;
  const uint32_t* budget;
};

TcpPoller::TcpPoller(engine::Reactor& reactor, fabrics::TargetCore& core,
                     const ConnectionLimits& limits)
    : reactor_(reactor),
      core_(core),
      limits_(limits),
      epfd_(epoll_create1(EPOLL_CLOEXEC)),
      evfd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!epfd_.valid() || !evfd_.valid()) {
    spdlog::critical("tcp: cannot create epoll/eventfd: {}", std::strerror(errno));
    std::abort();
  }
  waker_ = std::make_unique<Waker>(evfd_.get());
  AddHandler(evfd_.get(), waker_.get(), EPOLLIN);
}

TcpPoller::~TcpPoller() {
  for (auto& [id, conn] : conns_) conn->Close("poller destroyed");
  Reap();
}

bool TcpPoller::AddHandler(int fd, EpollHandler* handler, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    spdlog::error("tcp: epoll_ctl ADD fd {}: {}", fd, std::strerror(errno));
    return false;
  }
  return true;
}

void TcpPoller::RemoveHandler(int fd) { epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr); }

void TcpPoller::Kick() {
  uint64_t one = 1;
  ssize_t r = ::write(evfd_.get(), &one, sizeof(one));
  (void)r;  // EAGAIN: the counter is already non-zero, the poller will wake anyway
}

void TcpPoller::Post(std::function<void()> fn) {
  reactor_.Post(std::move(fn));
  Kick();
}

void TcpPoller::RunSync(const std::function<void()>& fn) {
  if (!reactor_.Running() || reactor_.OnThread()) {
    fn();
    return;
  }
  std::promise<void> done;
  auto fut = done.get_future();
  Post([&] {
    fn();
    done.set_value();
  });
  fut.wait();
}

void TcpPoller::Adopt(UniqueFd fd) {
  auto holder = std::make_shared<UniqueFd>(std::move(fd));
  Post([this, holder] {
    if (draining_) return;  // the target is stopping: the socket just closes
    const uint64_t id = next_id_++;
    auto conn = std::make_unique<Connection>(std::move(*holder), id, *this, core_, limits_);
    auto handler = std::make_unique<ConnHandler>(conn.get(), &budget_);
    if (!AddHandler(conn->fd(), handler.get(), EPOLLIN)) return;
    spdlog::debug("tcp: connection {} adopted by {}", id, reactor_.name());
    conns_.emplace(id, std::move(conn));
    handlers_.emplace(id, std::move(handler));
    count_.store(conns_.size(), std::memory_order_release);
  });
}

void TcpPoller::RequestClose(uint64_t id, const char* why) {
  Post([this, id, why] {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->Close(why);
  });
}

void TcpPoller::DeliverDeferred(uint64_t id, uint16_t cid, Status status, uint32_t dw0) {
  Post([this, id, cid, status, dw0] {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->CompleteDeferred(cid, status, dw0);
  });
}

void TcpPoller::SetWriteInterest(Connection* conn, bool on) {
  auto it = handlers_.find(conn->id());
  if (it == handlers_.end()) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
  ev.data.ptr = it->second.get();
  epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, conn->fd(), &ev);
}

void TcpPoller::OnClosed(Connection* conn) {
  if (conn->fd() >= 0) RemoveHandler(conn->fd());
  closed_.push_back(conn->id());
}

void TcpPoller::Reap() {
  if (closed_.empty()) return;
  // Destroying a connection may end an association, which posts closes to other connections
  // (possibly on this poller): those run later from the mailbox, never re-entrantly here.
  std::vector<uint64_t> ids;
  ids.swap(closed_);
  for (uint64_t id : ids) {
    handlers_.erase(id);
    conns_.erase(id);
  }
  count_.store(conns_.size(), std::memory_order_release);
}

void TcpPoller::DrainAll(const char* why, uint64_t deadline_ns) {
  draining_ = true;
  for (auto& [id, conn] : conns_) conn->Drain(why, deadline_ns);
  Reap();
}

void TcpPoller::ForEachConnection(const std::function<void(Connection&)>& fn) {
  for (auto& [id, conn] : conns_) {
    if (!conn->closed()) fn(*conn);
  }
}

// Keep-alive expiry of admin queues (NVMe Base 2.0, 3.9: the controller is torn down) and drain
// deadlines.
uint32_t TcpPoller::RunTimers(uint64_t now_ns) {
  uint32_t work = 0;
  for (auto& [id, conn] : conns_) {
    if (conn->closed()) continue;
    if (conn->queue().KeepAliveExpired(now_ns)) {
      spdlog::warn("tcp: connection {}: keep-alive timeout (KATO {} ms); controller {} torn down",
                   id, conn->queue().controller()->kato_ms(), conn->queue().controller()->cntlid());
      conn->Close("keep-alive timeout");
      ++work;
    } else if (conn->state() == ConnState::kDraining && now_ns >= conn->drain_deadline_ns()) {
      conn->Close("drain deadline passed");
      ++work;
    }
  }
  return work;
}

// The reactor sleeps on the epoll set (WaitFd) until a socket is ready, a message arrives, or the
// nearest keep-alive / drain deadline (at most kMaxBlockNs, and not before the next timer check).
uint64_t TcpPoller::TimeoutNs() {
  if (draining_) return kTimerCheckNs;
  const uint64_t now = core_.clock().NowNs();
  uint64_t wait_ns = kMaxBlockNs;
  for (auto& [id, conn] : conns_) {
    uint64_t deadline = conn->queue().KeepAliveDeadlineNs();
    if (conn->state() == ConnState::kDraining) deadline = conn->drain_deadline_ns();
    if (deadline == 0) continue;
    wait_ns = std::min(wait_ns, deadline > now ? deadline - now : 0);
  }
  // RunTimers runs at most every kTimerCheckNs: waking earlier would only spin until then.
  if (next_timer_check_ns_ > now) wait_ns = std::max(wait_ns, next_timer_check_ns_ - now);
  return wait_ns;
}

uint32_t TcpPoller::Poll(uint32_t budget) {
  budget_ = budget;
  passes_.store(passes_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  // Never blocks: a notify-mode reactor sleeps on WaitFd() (the epoll set) between passes.
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epfd_.get(), events, kMaxEvents, 0);
  uint32_t work = 0;
  for (int i = 0; i < n; ++i) {
    work += static_cast<EpollHandler*>(events[i].data.ptr)->OnEvents(events[i].events);
  }
  // Connections that stopped for budget with input already buffered get another turn.
  for (auto& [id, conn] : conns_) {
    if (conn->has_buffered_input()) work += conn->Service(budget);
  }
  uint64_t now = core_.clock().NowNs();
  if (now >= next_timer_check_ns_ || draining_) {
    work += RunTimers(now);
    next_timer_check_ns_ = now + kTimerCheckNs;
  }
  Reap();
  return work;
}

}  // namespace nvemu::tcp
