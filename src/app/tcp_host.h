// Command-line options that point a host-side command (`nvemu perf`, `identify`, `log`) at a
// remote NVMe/TCP target instead of an in-process controller: --tcp ADDR[:PORT], --nqn, --hostnqn,
// --hdgst, --ddgst. The commands then use the host library's initiator (host/tcp_initiator.h);
// the device options (--config, --namespaces, ...) describe an in-process controller and are
// refused with --tcp (CLI11 "excludes").
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "nvemu/host/tcp_initiator.h"
#include "nvemu/status.h"

namespace nvemu::app {

inline constexpr uint16_t kDefaultTcpPort = 4420;  // NVMe/TCP IANA port

struct TcpHostArgs {
  std::string target;   // --tcp ADDR[:PORT]; empty: in-process controller
  std::string nqn;      // --nqn (default: nvemu serve's default subsystem NQN)
  std::string hostnqn;  // --hostnqn (default: the host library's)
  bool header_digest = false;
  bool data_digest = false;
  bool enabled() const { return !target.empty(); }
};

struct TcpEndpoint {
  std::string address;
  uint16_t port = kDefaultTcpPort;
};

// "127.0.0.1", "127.0.0.1:4420", "::1", "[::1]:4420" -> address literal and port. The address must
// be an IPv4 or IPv6 literal (no name lookup); the port 1..65535.
Result<TcpEndpoint> ParseTcpEndpoint(std::string_view text);

// Adds --tcp, --nqn, --hostnqn, --hdgst, --ddgst to `cmd` in the group "NVMe/TCP target". Call it
// after the command's other options: --tcp then excludes (a parse error, exit 2) every option
// already registered that configures an in-process device: --config, the configuration group
// (cli_options.h) and the groups named in `device_groups`.
void AddTcpHostOptions(CLI::App& cmd, TcpHostArgs& a,
                       std::initializer_list<std::string_view> device_groups = {});

// Fails ("--nqn requires --tcp") when a --tcp-only option was given without --tcp.
Result<void> CheckTcpOnlyOptions(const TcpHostArgs& a);

// Driver options for `a` (REQUIRES a.enabled()); fails with a message naming --tcp.
Result<host::TcpDriverOptions> TcpDriverOptionsFor(const TcpHostArgs& a);

}  // namespace nvemu::app
