// `nvemu serve` as a user runs it: the real binary in a child process, reached over loopback by the
// initiator (discovery, connect, I/O), stopped by SIGTERM or SIGINT with exit status 0.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/fabrics/fabrics.h"
#include "nvemu/host/tcp_initiator.h"

extern char** environ;

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;
using std::chrono::milliseconds;

struct Server {
  pid_t pid = -1;
  int out = -1;
  std::string text;
  uint16_t port = 0;
  uint16_t discovery_port = 0;

  ~Server() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (out >= 0) close(out);
  }
};

// Starts `nvemu serve --port 0 --discovery-port 0 ARGS...` and waits for its "listening" line.
bool Start(Server& s, std::vector<std::string> args) {
  int p[2];
  if (pipe(p) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addclose(&fa, p[0]);
  std::vector<std::string> argv_s = {
      NVEMU_BINARY, "--log-level",      "warn", "serve",     "--port",
      "0",          "--discovery-port", "0",    "--ns-size", "64MiB"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  int rc = posix_spawn(&s.pid, NVEMU_BINARY, &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(p[1]);
  s.out = p[0];
  if (rc != 0) return false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pf{s.out, POLLIN, 0};
    if (poll(&pf, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = read(s.out, buf, sizeof(buf));
    if (n <= 0) return false;
    s.text.append(buf, static_cast<size_t>(n));
    // "... listening on ADDR port P (discovery port D)", complete once "Stop with" follows.
    size_t at = s.text.find("listening on ");
    if (at == std::string::npos || s.text.find("Stop with") == std::string::npos) continue;
    unsigned port = 0, disc = 0;
    size_t pos = s.text.find(" port ", at);
    if (pos == std::string::npos ||
        std::sscanf(s.text.c_str() + pos, " port %u (discovery port %u)", &port, &disc) != 2) {
      return false;
    }
    s.port = static_cast<uint16_t>(port);
    s.discovery_port = static_cast<uint16_t>(disc);
    return true;
  }
  return false;
}

// Waits up to `ms` for the child to exit; returns its exit status or -1.
int WaitExit(Server& s, int ms) {
  for (int i = 0; i < ms / 10; ++i) {
    int status = 0;
    if (waitpid(s.pid, &status, WNOHANG) == s.pid) {
      s.pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    usleep(10000);
  }
  return -1;
}

host::TcpDriverOptions Options(uint16_t port, const std::string& nqn) {
  host::TcpDriverOptions o;
  o.port = port;
  o.subnqn = nqn;
  o.timeout = milliseconds(5000);
  return o;
}

TEST(NvemuServe, DiscoverConnectIoAndStopOnSigterm) {
  Server s;
  ASSERT_TRUE(Start(s, {})) << s.text;
  EXPECT_NE(s.text.find("nvme discover -t tcp -a 127.0.0.1 -s " + std::to_string(s.discovery_port)),
            std::string::npos)
      << s.text;
  EXPECT_NE(s.text.find("nvme connect -t tcp -a 127.0.0.1 -s " + std::to_string(s.port) +
                        " -n nqn.2026-11.dev.nvemu:subsys0"),
            std::string::npos)
      << s.text;
  auto disc = TcpDriver::ConnectAndEnable(Options(s.discovery_port, fabrics::kDiscoveryNqn));
  ASSERT_TRUE(disc.ok()) << disc.error().message;
  auto entries = disc.value()->DiscoveryEntries();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries.value().size(), 1u);
  std::string nqn = entries.value()[0].subnqn;
  EXPECT_EQ(nqn, "nqn.2026-11.dev.nvemu:subsys0");
  EXPECT_EQ(std::string(entries.value()[0].trsvcid), std::to_string(s.port));

  auto d = TcpDriver::ConnectAndEnable(Options(s.port, nqn));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto ns = d.value()->IdentifyNamespace(1);
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns.value().nsze, (64ull << 20) / 512);
  ASSERT_TRUE(d.value()->SetNumberOfQueues(1).ok());
  auto io = d.value()->ConnectIoQueue(1, 32);
  ASSERT_TRUE(io.ok()) << io.error().message;
  std::vector<uint8_t> data(32768), back(32768);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 13);
  auto w = io.value()->Execute(TcpDriver::ReadWriteSqe(0x01, 1, 0, 64), data);
  ASSERT_TRUE(w.ok());
  auto r = io.value()->Execute(TcpDriver::ReadWriteSqe(0x02, 1, 0, 64), {}, back);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(back, data);

  ASSERT_EQ(kill(s.pid, SIGTERM), 0);
  EXPECT_EQ(WaitExit(s, 10000), 0);
  EXPECT_TRUE(io.value()->WaitClosed(milliseconds(2000)));
  EXPECT_TRUE(d.value()->admin().WaitClosed(milliseconds(2000)));
}

TEST(NvemuServe, SigintStopsIt) {
  Server s;
  ASSERT_TRUE(Start(s, {})) << s.text;
  auto d = TcpDriver::ConnectAndEnable(Options(s.port, "nqn.2026-11.dev.nvemu:subsys0"));
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(kill(s.pid, SIGINT), 0);
  EXPECT_EQ(WaitExit(s, 10000), 0);
}

TEST(NvemuServe, NqnAndAllowedHostOptions) {
  Server s;
  ASSERT_TRUE(Start(s, {"--nqn", "nqn.2026-11.test:serve", "--allow-host",
                        "nqn.2014-08.org.nvmexpress:uuid:only-me"}))
      << s.text;
  auto refused = TcpDriver::Connect(Options(s.port, "nqn.2026-11.test:serve"));
  EXPECT_FALSE(refused.ok());
  auto o = Options(s.port, "nqn.2026-11.test:serve");
  o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:only-me";
  EXPECT_TRUE(TcpDriver::ConnectAndEnable(o).ok());
  kill(s.pid, SIGTERM);
  EXPECT_EQ(WaitExit(s, 10000), 0);
}

TEST(NvemuServe, BadConfigurationExits2) {
  Server s;
  EXPECT_FALSE(Start(s, {"--nqn", "nqn.2014-08.org.nvmexpress.discovery"}));
  EXPECT_EQ(WaitExit(s, 10000), 2);
}

TEST(NvemuServe, ConfigFileWithSeveralSubsystems) {
  const std::string path = "/tmp/nvemu_serve_test_" + std::to_string(getpid()) + "_subsystems.toml";
  {
    std::ofstream f(path);
    f << "[target]\n"
         "in_capsule_data = 4096\n"
         "[[subsystem]]\n"
         "nqn = \"nqn.2026-11.test:cfg-a\"\n"
         "  [[subsystem.namespace]]\n"
         "  size = \"8MiB\"\n"
         "  [[subsystem.namespace]]\n"
         "  size = \"4MiB\"\n"
         "[[subsystem]]\n"
         "nqn = \"nqn.2026-11.test:cfg-b\"\n"
         "allowed_hosts = [\"nqn.2014-08.org.nvmexpress:uuid:only-b\"]\n"
         "  [[subsystem.namespace]]\n"
         "  size = \"4MiB\"\n";
  }
  Server s;
  // Start() adds --ns-size 64MiB: namespace options apply to every subsystem's namespaces.
  ASSERT_TRUE(Start(s, {"--config", path})) << s.text;
  std::remove(path.c_str());
  EXPECT_NE(s.text.find("subsystem nqn.2026-11.test:cfg-a: 2 namespace(s)"), std::string::npos)
      << s.text;
  EXPECT_NE(s.text.find("subsystem nqn.2026-11.test:cfg-b: 1 namespace(s)"), std::string::npos)
      << s.text;
  EXPECT_NE(s.text.find("-n nqn.2026-11.test:cfg-b"), std::string::npos) << s.text;

  auto a = TcpDriver::ConnectAndEnable(Options(s.port, "nqn.2026-11.test:cfg-a"));
  ASSERT_TRUE(a.ok()) << a.error().message;
  auto id = a.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->ioccsz, (4096 + 64) / 16);  // [target] in_capsule_data
  auto ns2 = a.value()->IdentifyNamespace(2);
  ASSERT_TRUE(ns2.ok());
  EXPECT_EQ(ns2->nsze * 512, 64ull << 20);

  EXPECT_FALSE(TcpDriver::Connect(Options(s.port, "nqn.2026-11.test:cfg-b")).ok());
  auto o = Options(s.port, "nqn.2026-11.test:cfg-b");
  o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:only-b";
  auto b = TcpDriver::ConnectAndEnable(o);
  ASSERT_TRUE(b.ok()) << b.error().message;
  auto b1 = b.value()->IdentifyNamespace(1);
  ASSERT_TRUE(b1.ok());
  EXPECT_EQ(b1->nsze * 512, 64ull << 20);
  auto b2 = b.value()->IdentifyNamespace(2);  // one namespace only: beyond NN, or inactive
  EXPECT_TRUE(!b2.ok() || b2->nsze == 0);
  kill(s.pid, SIGTERM);
  EXPECT_EQ(WaitExit(s, 10000), 0);
}

TEST(NvemuServe, MalformedConfigFileExits2) {
  const std::string path = "/tmp/nvemu_serve_test_" + std::to_string(getpid()) + "_bad.toml";
  std::ofstream(path) << "[target]\nprot = 4420\n";
  Server s;
  EXPECT_FALSE(Start(s, {"--config", path}));
  EXPECT_EQ(WaitExit(s, 10000), 2);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace nvemu::tcp::testing
