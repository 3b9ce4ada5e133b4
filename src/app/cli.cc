#include "app/cli.h"

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "app/cli_options.h"
#include "app/commands.h"
#include "app/log_cmd.h"
#include "app/logging.h"
#include "app/perf_cli.h"
#include "app/serve.h"
#include "app/size_parse.h"
#include "app/tcp_host.h"

#ifndef NVEMU_VERSION
#error "NVEMU_VERSION must be defined by the build (project version)"
#endif

namespace nvemu::app {
namespace {

struct DemoArgs {
  ConfigOverrides overrides;
  DemoOptions options;
  bool json = false;
};

struct IdentifyArgs {
  ConfigOverrides overrides;
  TcpHostArgs tcp;
  std::optional<uint32_t> nsid;
  bool json = false;
};

void AddDemo(CLI::App& app, DemoArgs& a) {
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Start an in-process controller, create I/O queues, write a pattern through every queue, "
      "read it back and verify it; exit 0 only if every byte verified (default log level: info)");
  demo->fallthrough();
  AddConfigOptions(*demo, a.overrides);
  demo->add_option_function<uint32_t>(
          "-q,--queues", [&a](uint32_t n) { a.options.queues = static_cast<uint16_t>(n); },
          "I/O queue pairs to create and use (default 2; at most max_io_queues)")
      ->check(CLI::Range(1u, 65535u));
  demo->add_option_function<std::string>(
          "--io-size", [&a](const std::string& s) { a.options.io_size = ParseSize(s).value(); },
          "bytes per command (default 64KiB; capped by MDTS, at least one LBA)")
      ->check(SizeValidator());
  demo->add_option("--ios", a.options.ios,
                   "commands per queue and namespace in each direction (default 8)")
      ->check(CLI::Range(1u, 4096u));
  demo->add_flag("--json", a.json, "print one JSON document instead of the summary");
}

void AddIdentify(CLI::App& app, IdentifyArgs& a) {
  CLI::App* identify = app.add_subcommand(
      "identify",
      "Start an in-process controller (or connect to an NVMe/TCP target with --tcp) and print "
      "Identify Controller and Identify Namespace, like nvme-cli's id-ctrl / id-ns (default log "
      "level: warn)");
  identify->fallthrough();
  AddConfigOptions(*identify, a.overrides);
  AddTcpHostOptions(*identify, a.tcp);
  identify
      ->add_option_function<uint32_t>(
          "-n,--namespace", [&a](uint32_t n) { a.nsid = n; },
          "only this NSID (default: every namespace)")
      ->check(CLI::Range(1u, 0xffffffffu))
      ->type_name("NSID");
  identify->add_flag("--json", a.json, "print JSON (nvme-cli's field names) instead of text");
}

// `nvemu log` (app/log_cmd.h): the admin command set's log pages.
struct LogArgs {
  ConfigOverrides overrides;
  TcpHostArgs tcp;
  std::vector<std::string> pages;
};

void AddLog(CLI::App& app, LogArgs& a) {
  CLI::App* log = app.add_subcommand(
      "log",
      "Start an in-process controller (or connect to an NVMe/TCP target with --tcp) and print its "
      "log pages (supported log pages, error, SMART / health, firmware slots, changed namespaces, "
      "commands supported and effects, device self-test)");
  log->fallthrough();
  AddConfigOptions(*log, a.overrides);
  AddTcpHostOptions(*log, a.tcp);
  log->add_option("-p,--page", a.pages, "log pages to print (default: all)")
      ->check(CLI::IsMember(kLogPageNames));
}

}  // namespace

int RunCli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app("nvemu " NVEMU_VERSION ": a userspace NVMe controller emulator", "nvemu");
  app.set_version_flag("-V,--version", "nvemu " NVEMU_VERSION);
  app.require_subcommand(1);
  std::string log_level;
  app.add_option("--log-level", log_level,
                 "log verbosity on stderr: trace, debug, info, warn, error, off (default: info "
                 "for demo, warn for identify)")
      ->check(
          CLI::IsMember(std::vector<std::string>(kLogLevelNames.begin(), kLogLevelNames.end())));
  DemoArgs demo;
  IdentifyArgs identify;
  AddDemo(app, demo);
  AddIdentify(app, identify);
  LogArgs log;
  AddLog(app, log);
  PerfArgs perf;
  AddPerf(app, perf);
  ServeArgs serve;
  AddServe(app, serve);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e, out, err);
    return rc == 0 ? kExitOk : kExitConfig;
  }

  bool is_demo = app.got_subcommand("demo");
  bool is_serve = app.got_subcommand("serve");
  auto level =
      ParseLogLevel(log_level.empty() ? (is_demo || is_serve ? "info" : "warn") : log_level);
  SetupLogging(*level);
  if (app.got_subcommand("log")) return LogCommand(log.overrides, log.tcp, log.pages, out, err);
  if (app.got_subcommand("perf")) return PerfCommand(perf, out, err);
  if (is_serve) return ServeCommand(serve, out, err);
  if (is_demo) return DemoCommand(demo.overrides, demo.options, demo.json, out, err);
  return IdentifyCommand(identify.overrides, identify.tcp, identify.nsid, identify.json, out, err);
}

}  // namespace nvemu::app
