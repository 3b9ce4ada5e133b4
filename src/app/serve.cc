#include "app/serve.h"

#include <fmt/format.h>
#include <signal.h>

#include <cstring>
#include <memory>

#include "app/cli_options.h"
#include "app/commands.h"
#include "app/serve_config.h"
#include "nvemu/tcp_target.h"

namespace nvemu::app {
namespace {

// The discovery NQN every NVMe-oF target serves (NVMe Base 2.0, 1.5.x).
constexpr char kDiscoveryNqn[] = "nqn.2014-08.org.nvmexpress.discovery";

std::string HostAddress(const std::string& address) {
  // What a host types: loopback stays loopback; a wildcard means "this machine's address".
  if (address == "0.0.0.0" || address == "::") return "<this host's address>";
  return address;
}

void PrintHowToConnect(std::ostream& out, const TargetConfig& cfg, const TcpTarget& target) {
  const std::string addr = HostAddress(cfg.address);
  out << fmt::format("nvemu: NVMe/TCP target listening on {} port {}", cfg.address, target.port());
  if (target.discovery_port() >= 0)
    out << fmt::format(" (discovery port {})", target.discovery_port());
  out << "\n";
  for (const SubsystemConfig& s : cfg.subsystems) {
    out << fmt::format("  subsystem {}: {} namespace(s)", s.nqn, s.namespaces.size());
    if (!s.allowed_hosts.empty())
      out << ", hosts allowed: " << fmt::format("{}", fmt::join(s.allowed_hosts, " "));
    out << "\n";
  }
  out << "Connect with nvme-cli (as root, after `modprobe nvme-tcp`):\n";
  if (target.discovery_port() >= 0) {
    out << fmt::format("  nvme discover -t tcp -a {} -s {}\n", addr, target.discovery_port());
  } else {
    out << fmt::format("  nvme discover -t tcp -a {} -s {}\n", addr, target.port());
  }
  for (const SubsystemConfig& s : cfg.subsystems) {
    out << fmt::format("  nvme connect -t tcp -a {} -s {} -n {}\n", addr, target.port(), s.nqn);
  }
  for (const SubsystemConfig& s : cfg.subsystems) {
    out << fmt::format("  nvme disconnect -n {}\n", s.nqn);
  }
  out << "  (from a QEMU guest with user networking, use -a 10.0.2.2 for a target on 127.0.0.1)\n";
  out << "Stop with Ctrl-C (SIGINT) or SIGTERM.\n";
  out.flush();
}

}  // namespace

void AddServe(CLI::App& app, ServeArgs& a) {
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run an NVMe/TCP target (NVMe over Fabrics) serving the configured namespaces until SIGINT "
      "or SIGTERM; prints the nvme-cli commands that connect to it (default log level: info)");
  serve->fallthrough();
  AddConfigOptions(*serve, a.overrides);
  serve->add_option_function<std::string>(
      "-a,--address", [&a](const std::string& s) { a.address = s; },
      "IPv4 or IPv6 address to listen on (default 127.0.0.1 or the file's [target] address; "
      "0.0.0.0 or :: for all)");
  serve
      ->add_option_function<uint32_t>(
          "-p,--port", [&a](uint32_t p) { a.port = static_cast<uint16_t>(p); },
          "NVMe/TCP port (default 4420; 0 picks a free port)")
      ->check(CLI::Range(0u, 65535u));
  serve
      ->add_option_function<int32_t>(
          "--discovery-port", [&a](int32_t p) { a.discovery_port = p; },
          "extra discovery port (default 8009; -1 for none; discovery also answers on --port)")
      ->check(CLI::Range(-1, 65535));
  serve->add_option("-n,--nqn", a.nqn,
                    "subsystem NQN (default: the configuration's subnqn, "
                    "nqn.2026-11.dev.nvemu:subsys0; only with one subsystem)");
  serve->add_option("--allow-host", a.allowed_hosts,
                    "host NQN allowed to connect (repeatable; default: any host; only with one "
                    "subsystem)");
}

int ServeCommand(const ServeArgs& a, std::ostream& out, std::ostream& err) {
  auto built = BuildServeConfig(a.overrides);
  if (!built.ok()) {
    err << "nvemu serve: configuration error:\n" << built.error().message << "\n";
    return kExitConfig;
  }
  TargetConfig cfg = std::move(*built);
  if (a.address) cfg.address = *a.address;
  if (a.port) cfg.port = *a.port;
  if (a.discovery_port) cfg.discovery_port = *a.discovery_port;
  if ((!a.nqn.empty() || !a.allowed_hosts.empty()) && cfg.subsystems.size() != 1) {
    err << "nvemu serve: configuration error:\n--nqn/--allow-host need exactly one subsystem "
           "(the file has "
        << cfg.subsystems.size() << "); set nqn/allowed_hosts in its [[subsystem]] tables\n";
    return kExitConfig;
  }
  if (!a.nqn.empty()) cfg.subsystems[0].nqn = a.nqn;
  if (!a.allowed_hosts.empty()) cfg.subsystems[0].allowed_hosts = a.allowed_hosts;
  for (const SubsystemConfig& s : cfg.subsystems) {
    if (s.nqn == kDiscoveryNqn) {
      err << "nvemu serve: configuration error:\nthe discovery NQN cannot name a subsystem\n";
      return kExitConfig;
    }
  }

  // Block SIGINT/SIGTERM before any reactor thread starts (threads inherit the mask), then wait
  // for them synchronously: no async-signal-safety concerns, and Stop() runs on this thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &signals, &old);

  auto target = TcpTarget::Create(cfg);
  if (!target.ok()) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    err << "nvemu serve: configuration error:\n" << target.error().message << "\n";
    return kExitConfig;
  }
  if (auto r = target.value()->Start(); !r.ok()) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    err << "nvemu serve: cannot start: " << r.error().message << "\n";
    return kExitFailure;
  }
  PrintHowToConnect(out, cfg, *target.value());

  int sig = 0;
  while (sigwait(&signals, &sig) != 0) {
  }
  err << "nvemu serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ": stopping ("
      << target.value()->connection_count() << " connection(s), "
      << target.value()->controller_count() << " controller(s))\n";
  target.value()->Stop();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  err << "nvemu serve: stopped\n";
  return kExitOk;
}

}  // namespace nvemu::app
