#include "tcp/listener.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace nvemu::tcp {
namespace {

constexpr int kBacklog = 128;
constexpr int kMaxAcceptsPerEvent = 64;

}  // namespace

Result<std::unique_ptr<Listener>> Listener::Create(const std::string& address, uint16_t port,
                                                   AcceptFn on_accept) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool ipv6 = false;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(*v4);
  } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(*v6);
    ipv6 = true;
  } else {
    return Error{fmt::format("'{}' is not an IPv4 or IPv6 address", address)};
  }
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Error{fmt::format("socket: {}", std::strerror(errno))};
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (ipv6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error{fmt::format("bind {} port {}: {}", address, port, std::strerror(errno))};
  }
  if (::listen(fd.get(), kBacklog) != 0) {
    return Error{fmt::format("listen {} port {}: {}", address, port, std::strerror(errno))};
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  uint16_t actual = ipv6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return std::unique_ptr<Listener>(new Listener(std::move(fd), actual, ipv6, std::move(on_accept)));
}

uint32_t Listener::OnEvents(uint32_t) {
  uint32_t accepted = 0;
  for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
    int c = ::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        spdlog::warn("tcp: accept on port {}: {}", port_, std::strerror(errno));
      }
      break;
    }
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    on_accept_(UniqueFd(c));
    ++accepted;
  }
  return accepted;
}

}  // namespace nvemu::tcp
