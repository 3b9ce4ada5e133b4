// Listener: a listening TCP socket (IPv4 or IPv6) for NVMe/TCP. It lives in one poller's epoll set;
// when readable it accepts every pending connection (non-blocking, TCP_NODELAY) and hands each
// socket to `on_accept`, which assigns it to a reactor.
//
// Threading: Create() anywhere; OnEvents() on the reactor thread of the poller it is registered in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "nvemu/status.h"
#include "storage/unique_fd.h"
#include "tcp/poller.h"

namespace nvemu::tcp {

class Listener final : public EpollHandler {
 public:
  using AcceptFn = std::function<void(UniqueFd)>;

  // Binds `address` (an IPv4 or IPv6 literal) and `port` (0: any free port) and listens.
  static Result<std::unique_ptr<Listener>> Create(const std::string& address, uint16_t port,
                                                  AcceptFn on_accept);

  uint32_t OnEvents(uint32_t events) override;

  int fd() const { return fd_.get(); }
  uint16_t port() const { return port_; }
  bool ipv6() const { return ipv6_; }

 private:
  Listener(UniqueFd fd, uint16_t port, bool ipv6, AcceptFn on_accept)
      : fd_(std::move(fd)), port_(port), ipv6_(ipv6), on_accept_(std::move(on_accept)) {}

  UniqueFd fd_;
  uint16_t port_;
  bool ipv6_;
  AcceptFn on_accept_;
};

}  // namespace nvemu::tcp
