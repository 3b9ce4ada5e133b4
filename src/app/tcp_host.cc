#include "app/tcp_host.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace nvemu::app {
namespace {

constexpr const char* kTcpGroup = "NVMe/TCP target (instead of an in-process controller)";
// cli_options.cc's group of the shared configuration options.
constexpr std::string_view kDeviceConfigGroup = "Configuration (override the config file)";

bool IsIpLiteral(const std::string& s) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

}  // namespace

Result<TcpEndpoint> ParseTcpEndpoint(std::string_view text) {
  TcpEndpoint ep;
  std::string_view addr = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {  // [IPv6]:port
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Error{fmt::format("--tcp '{}': missing ']' after the IPv6 address", text)};
    }
    addr = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Error{fmt::format("--tcp '{}': expected ':PORT' after ']'", text)};
      }
      port = rest.substr(1);
      if (port.empty()) return Error{fmt::format("--tcp '{}': empty port", text)};
    }
  } else if (text.find(':') != text.rfind(':')) {
    addr = text;  // bare IPv6 literal: no port
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    addr = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return Error{fmt::format("--tcp '{}': empty port", text)};
  }
  ep.address = std::string(addr);
  if (ep.address.empty() || !IsIpLiteral(ep.address)) {
    return Error{fmt::format(
        "--tcp '{}': '{}' is not an IPv4 or IPv6 address (use e.g. 127.0.0.1:4420 or [::1]:4420)",
        text, ep.address)};
  }
  if (!port.empty()) {
    uint32_t p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535) {
      return Error{fmt::format("--tcp '{}': port '{}' is not in 1..65535", text, port)};
    }
    ep.port = static_cast<uint16_t>(p);
  }
  return ep;
}

void AddTcpHostOptions(CLI::App& cmd, TcpHostArgs& a,
                       std::initializer_list<std::string_view> device_groups) {
  std::vector<CLI::Option*> device = cmd.get_options([&](const CLI::Option* o) {
    if (o->check_lname("config") || o->get_group() == kDeviceConfigGroup) return true;
    for (std::string_view g : device_groups) {
      if (o->get_group() == g) return true;
    }
    return false;
  });
  CLI::Option* tcp =
      cmd.add_option("--tcp", a.target,
                     "use the NVMe/TCP target at ADDR[:PORT] (IPv4, IPv6 or [IPv6]:PORT; port 4420 "
                     "by default) through nvemu's initiator instead of an in-process controller")
          ->type_name("ADDR[:PORT]")
          ->check(CLI::Validator(
              [](std::string& s) {
                auto r = ParseTcpEndpoint(s);
                return r.ok() ? std::string() : r.error().message;
              },
              "ADDR[:PORT]"))
          ->group(kTcpGroup);
  for (CLI::Option* o : device) tcp->excludes(o);
  cmd.add_option("--nqn", a.nqn,
                 "--tcp: subsystem NQN to connect to (default nqn.2026-11.dev.nvemu:subsys0, "
                 "nvemu serve's)")
      ->group(kTcpGroup);
  cmd.add_option("--hostnqn", a.hostnqn, "--tcp: host NQN sent in Connect (default: nvemu's)")
      ->group(kTcpGroup);
  cmd.add_flag("--hdgst", a.header_digest, "--tcp: request header digests (CRC32C)")
      ->group(kTcpGroup);
  cmd.add_flag("--ddgst", a.data_digest, "--tcp: request data digests (CRC32C)")->group(kTcpGroup);
}

Result<void> CheckTcpOnlyOptions(const TcpHostArgs& a) {
  if (a.enabled()) return {};
  const char* name = !a.nqn.empty()       ? "--nqn"
                     : !a.hostnqn.empty() ? "--hostnqn"
                     : a.header_digest    ? "--hdgst"
                     : a.data_digest      ? "--ddgst"
                                          : nullptr;
  if (name == nullptr) return {};
  return Error{fmt::format("{} requires --tcp", name)};
}

Result<host::TcpDriverOptions> TcpDriverOptionsFor(const TcpHostArgs& a) {
  auto ep = ParseTcpEndpoint(a.target);
  if (!ep.ok()) return ep.error();
  host::TcpDriverOptions o;
  o.address = ep->address;
  o.port = ep->port;
  if (!a.nqn.empty()) o.subnqn = a.nqn;
  if (!a.hostnqn.empty()) o.hostnqn = a.hostnqn;
  if (o.subnqn.size() > 223 || o.hostnqn.size() > 223) {
    return Error{"--nqn / --hostnqn: an NQN has at most 223 bytes"};
  }
  o.header_digest = a.header_digest;
  o.data_digest = a.data_digest;
  o.timeout = std::chrono::milliseconds(10000);
  return o;
}

}  // namespace nvemu::app
