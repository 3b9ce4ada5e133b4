// TcpPoller: the NVMe/TCP event loop of one reactor (an engine::Poller). It owns the connections
// assigned to that reactor and drives them with a level-triggered epoll set: readable sockets are
// serviced (bounded PDUs per pass), blocked sends resume on EPOLLOUT, connections with buffered
// input are revisited without waiting for epoll, keep-alive timers of admin queues and drain
// deadlines are checked, and closed connections are destroyed at the end of the pass.
//
// Waiting: epoll_wait never blocks. A notify-mode reactor with nothing to do sleeps in poll(2) on
// the epoll set (WaitFd) and its own eventfd, bounded by the nearest keep-alive / drain deadline
// (TimeoutNs, at most 100 ms), so a ready socket, Reactor::Post() / Notify() or an io_uring
// completion wakes it at once. Post()/RunSync() here also write an eventfd in the epoll set.
//
// Threading: Poll() and everything the connections do run on the reactor thread. Post(), RunSync(),
// Adopt(), RequestClose() and connection_count() are safe from any thread.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/fabrics/target_core.h"
#include "engine/reactor.h"
#include "storage/unique_fd.h"
#include "tcp/connection.h"

namespace nvemu::tcp {

// Something with a file descriptor in a poller's epoll set.
class EpollHandler {
 public:
  virtual ~EpollHandler() = default;
  // Handles `events` (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP); returns units of work done.
  virtual uint32_t OnEvents(uint32_t events) = 0;
};

class TcpPoller final : public engine::Poller {
 public:
  TcpPoller(engine::Reactor& reactor, fabrics::TargetCore& core, const ConnectionLimits& limits);
  ~TcpPoller() override;
  TcpPoller(const TcpPoller&) = delete;
  TcpPoller& operator=(const TcpPoller&) = delete;

  // engine::Poller (reactor thread).
  uint32_t Poll(uint32_t budget) override;
  uint64_t TimeoutNs() override;
  int WaitFd() override { return epfd_.get(); }

  // Any thread: runs `fn` on the reactor thread (and wakes it if it sleeps).
  void Post(std::function<void()> fn);
  // Any thread except the reactor's own: runs `fn` there and waits. Inline on the reactor thread.
  void RunSync(const std::function<void()>& fn);
  // Any thread: makes `fd` (a connected, non-blocking TCP socket) a connection of this poller.
  void Adopt(UniqueFd fd);
  // Any thread: closes connection `id` if it still exists.
  void RequestClose(uint64_t id, const char* why);
  // Any thread: completes deferred command `cid` of connection `id` if both still exist.
  void DeliverDeferred(uint64_t id, uint16_t cid, Status status, uint32_t dw0);
  // Any thread: wakes the reactor out of epoll_wait.
  void Kick();
  // Connections currently owned (any thread; exact once the poller is quiescent).
  size_t connection_count() const { return count_.load(std::memory_order_acquire); }
  // Poll() passes so far (any thread): tests check that an idle notify-mode loop sleeps.
  uint64_t passes() const { return passes_.load(std::memory_order_relaxed); }

  // Reactor thread: listeners and other fds.
  bool AddHandler(int fd, EpollHandler* handler, uint32_t events);
  void RemoveHandler(int fd);
  // Reactor thread: every connection stops reading and closes once its responses are sent (or at
  // `deadline_ns`). No new connection is adopted afterwards.
  void DrainAll(const char* why, uint64_t deadline_ns);
  // Reactor thread: calls `fn` for each live connection.
  void ForEachConnection(const std::function<void(Connection&)>& fn);

  // Called by connections (reactor thread).
  void SetWriteInterest(Connection* conn, bool on);
  void OnClosed(Connection* conn);

  engine::Reactor& reactor() { return reactor_; }

 private:
  struct ConnHandler;
  uint32_t RunTimers(uint64_t now_ns);
  void Reap();

  engine::Reactor& reactor_;
  fabrics::TargetCore& core_;
  const ConnectionLimits limits_;
  UniqueFd epfd_;
  UniqueFd evfd_;
  std::unique_ptr<EpollHandler> waker_;

  // Reactor thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::unordered_map<uint64_t, std::unique_ptr<ConnHandler>> handlers_;
  std::vector<uint64_t> closed_;  // connections to destroy at the end of the pass
  uint64_t next_id_ = 1;
  uint32_t budget_ = 64;  // PDUs per connection per pass (the reactor's poll budget)
  uint64_t next_timer_check_ns_ = 0;
  bool draining_ = false;

  std::atomic<size_t> count_{0};
  std::atomic<uint64_t> passes_{0};
};

}  // namespace nvemu::tcp
