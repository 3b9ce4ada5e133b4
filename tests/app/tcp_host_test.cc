// `nvemu perf --tcp`, `nvemu identify --tcp`, `nvemu log --tcp` (app/perf_tcp.h, app/admin_port.h,
// app/tcp_host.h) against an in-process NVMe/TCP target on 127.0.0.1 with an ephemeral port: the
// same load generator and printers over the host library's initiator, and clear errors (non-zero
// exit, no hang) for bad addresses, closed ports, unknown subsystems and device-only options.
#include "app/tcp_host.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app/cli.h"
#include "nvemu/tcp_target.h"

namespace nvemu::app {
namespace {

using ::testing::HasSubstr;

constexpr char kNqn[] = "nqn.2026-11.dev.nvemu:tcp-host-test";
constexpr uint64_t kNsBytes = 32ull << 20;

struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
};

CliRun Cli(const std::vector<std::string>& args) {
  std::vector<const char*> argv = {"nvemu"};
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  CliRun r;
  r.rc = RunCli(static_cast<int>(argv.size()), argv.data(), out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// An in-process NVMe/TCP target on 127.0.0.1 with an ephemeral port, no discovery port and one
// subsystem; stopped at the end of the test.
class LoopbackTarget : public ::testing::Test {
 protected:
  void StartTarget(const SubsystemConfig& s, const ControllerConfig& controller = {}) {
    TargetConfig c;
    c.address = "127.0.0.1";
    c.port = 0;
    c.discovery_port = -1;
    c.reactors = 1;
    c.controller = controller;
    c.subsystems = {s};
    auto t = TcpTarget::Create(c);
    ASSERT_TRUE(t.ok()) << t.error().message;
    target_ = std::move(t.value());
    auto r = target_->Start();
    ASSERT_TRUE(r.ok()) << r.error().message;
    addr_ = "127.0.0.1:" + std::to_string(target_->port());
  }
  void TearDown() override {
    if (target_) target_->Stop();
  }

  std::unique_ptr<TcpTarget> target_;
  std::string addr_;
};

class TcpHost : public LoopbackTarget {
 protected:
  void SetUp() override {
    SubsystemConfig s;
    s.nqn = kNqn;
    s.serial = "TCPHOST01";
    NamespaceConfig ns;
    ns.size_bytes = kNsBytes;
    ns.lba_size = 512;
    s.namespaces = {ns, ns};
    StartTarget(s);
  }
};

nlohmann::json Json(const CliRun& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

TEST_F(TcpHost, PerfRandReadCountsEveryCommandPerQueue) {
  CliRun r = Cli({"perf", "--tcp", addr_, "--nqn", kNqn, "--ios", "300", "--qd", "8", "--queues",
                  "2", "--size", "4MiB", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = Json(r);
  EXPECT_EQ(j["ios"], 600);
  EXPECT_EQ(j["reads"], 600);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["range_bytes"], 4u << 20);
  EXPECT_EQ(j["lba_size"], 512);
  EXPECT_THAT(j["target"].get<std::string>(), HasSubstr(addr_));
  ASSERT_EQ(j["per_queue"].size(), 2u);
  for (const auto& q : j["per_queue"]) EXPECT_EQ(q["ios"], 300);
  EXPECT_GT(j["latency"]["p50_ns"].get<double>(), 0);
  EXPECT_FALSE(j.contains("engine") && !j["engine"].empty());
  EXPECT_THAT(j["copy_limit"]["note"].get<std::string>(), HasSubstr("not applicable"));
  // The association ended (I/O connections closed, controller shut down).
  for (int i = 0; i < 3000 && target_->controller_count() != 0; ++i) usleep(10000);
  EXPECT_EQ(target_->controller_count(), 0u);
}

TEST_F(TcpHost, PerfWritesUseR2TAndInCapsuleData) {
  // 16 KiB writes exceed the 8 KiB in-capsule limit: R2T/H2CData; 4 KiB ones go in-capsule.
  for (const char* bs : {"16KiB", "4KiB"}) {
    CliRun r = Cli({"perf", "--tcp", addr_, "--nqn", kNqn, "--ios", "64", "--qd", "4", "--rw",
                    "randwrite", "--bs", bs, "--namespace", "2", "--json"});
    ASSERT_EQ(r.rc, 0) << bs << ": " << r.err;
    auto j = Json(r);
    EXPECT_EQ(j["writes"], 64) << bs;
    EXPECT_EQ(j["errors"], 0) << bs;
  }
}

TEST_F(TcpHost, PerfTextNamesTheTarget) {
  CliRun r = Cli({"perf", "--tcp", addr_, "--nqn", kNqn, "--ios", "50", "--qd", "1", "--rw", "read",
                  "--size", "1MiB"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("target: tcp " + addr_ + " " + kNqn));
  EXPECT_THAT(r.out, HasSubstr("completed 50 commands"));
  EXPECT_THAT(r.out, HasSubstr("IOPS"));
}

// `perf --tcp` takes the namespace's format from Identify Namespace (app/perf_format.h): extended
// LBAs carry their metadata inside the data buffer, protected namespaces get PRACT (the target
// generates PI on the prefill's writes and checks Guard / Reference Tag on the reads), and a
// namespace whose metadata would have to travel apart from the data is refused with a message,
// since NVMe/TCP has no metadata pointer.
struct TcpFormatCase {
  const char* name;
  uint32_t metadata_size = 0;
  bool extended = false;
  uint8_t pi_type = 0;
  bool pi_64b = false;
  bool pi_first = false;
  const char* describes = "";  // in the report's format text (perf_format.h DescribeFormat)
  uint32_t lba_size = 512;
  BackendKind backend = BackendKind::kRam;
  uint8_t mdts = 7;        // 1: 8 KiB per command, so the prefill writes one 4 KiB block each
  bool prchk_off = false;  // the target keeps no data: perf's PI probe turns PRCHK off
};

class TcpHostFormat : public LoopbackTarget, public ::testing::WithParamInterface<TcpFormatCase> {
 protected:
  void SetUp() override {
    const TcpFormatCase& c = GetParam();
    SubsystemConfig s;
    s.nqn = kNqn;
    s.serial = "TCPHOST02";
    NamespaceConfig ns;
    ns.size_bytes = 4ull << 20;
    ns.lba_size = c.lba_size;
    ns.backend = c.backend;
    ns.metadata_size = c.metadata_size;
    ns.extended_lba = c.extended;
    ns.pi_type = c.pi_type;
    ns.pi_64b_guard = c.pi_64b;
    ns.pi_first = c.pi_first;
    s.namespaces = {ns};
    ControllerConfig controller;
    controller.mdts = c.mdts;
    StartTarget(s, controller);
  }
};

TEST_P(TcpHostFormat, EveryCommandSucceeds) {
  // 16 KiB with metadata: more than the 8 KiB in-capsule limit, so writes go through R2T (not
  // with an 8 KiB MDTS, which 4 KiB + 8 bytes of metadata per command just fits).
  std::vector<const char*> sizes = {"4KiB"};
  if (GetParam().mdts != 1) sizes.push_back("16KiB");
  for (const char* rw : {"randread", "randwrite", "randrw"}) {
    for (const char* bs : sizes) {
      CliRun r = Cli({"perf", "--tcp", addr_, "--nqn", kNqn, "--ios", "200", "--qd", "8", "--rw",
                      rw, "--bs", bs, "--json"});
      ASSERT_EQ(r.rc, 0) << rw << " " << bs << ": " << r.err;
      auto j = Json(r);
      EXPECT_EQ(j["ios"], 200) << rw << " " << bs;
      EXPECT_EQ(j["errors"], 0) << rw << " " << bs;
      const std::string format = j["format"].get<std::string>();
      EXPECT_THAT(format, HasSubstr(GetParam().describes));
      // Reads of prefilled blocks check the PI the target generated (PRACT, PRCHK), unless the
      // target keeps no data.
      if (GetParam().pi_type != 0 && std::string(rw) != "randwrite") {
        if (GetParam().prchk_off) {
          EXPECT_THAT(format, HasSubstr("PRCHK off")) << rw;
        } else {
          EXPECT_THAT(format, HasSubstr("PRCHK guard")) << rw;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, TcpHostFormat,
                         ::testing::Values(TcpFormatCase{.name = "Extended8",
                                                         .metadata_size = 8,
                                                         .extended = true,
                                                         .describes = "metadata 8 B extended"},
                                           TcpFormatCase{.name = "Pi1Separate",
                                                         .metadata_size = 8,
                                                         .pi_type = 1,
                                                         .describes = "PI type 1 (PRACT"},
                                           TcpFormatCase{.name = "Pi1Extended",
                                                         .metadata_size = 8,
                                                         .extended = true,
                                                         .pi_type = 1,
                                                         .describes = "PI type 1 (PRACT"},
                                           TcpFormatCase{.name = "Pi2Ext64First",
                                                         .metadata_size = 64,
                                                         .extended = true,
                                                         .pi_type = 2,
                                                         .pi_first = true,
                                                         .describes = "PI type 2 (PRACT"},
                                           TcpFormatCase{.name = "Pi3Ext64bGuard",
                                                         .metadata_size = 16,
                                                         .extended = true,
                                                         .pi_type = 3,
                                                         .pi_64b = true,
                                                         .describes = "PI type 3 64b guard"},
                                           TcpFormatCase{.name = "Lba4kExtended8Mdts8k",
                                                         .metadata_size = 8,
                                                         .extended = true,
                                                         .describes = "metadata 8 B extended",
                                                         .lba_size = 4096,
                                                         .mdts = 1},
                                           TcpFormatCase{.name = "Lba4kPi1Extended",
                                                         .metadata_size = 8,
                                                         .extended = true,
                                                         .pi_type = 1,
                                                         .describes = "PI type 1 (PRACT",
                                                         .lba_size = 4096},
                                           TcpFormatCase{.name = "NullBackendPi1",
                                                         .metadata_size = 8,
                                                         .extended = true,
                                                         .pi_type = 1,
                                                         .describes = "PI type 1 (PRACT",
                                                         .backend = BackendKind::kNull,
                                                         .prchk_off = true}),
                         [](const testing::TestParamInfo<TcpFormatCase>& i) {
                           return std::string(i.param.name);
                         });

using TcpHostFormatRefused = LoopbackTarget;

TEST_F(TcpHostFormatRefused, SeparateMetadataThatMustTravelIsAnError) {
  SubsystemConfig s;
  s.nqn = kNqn;
  NamespaceConfig ns;
  ns.size_bytes = 4ull << 20;
  ns.metadata_size = 8;  // no PI: nothing strips it, and it is not in the data buffer
  s.namespaces = {ns};
  StartTarget(s);
  CliRun r = Cli({"perf", "--tcp", addr_, "--nqn", kNqn, "--ios", "10"});
  EXPECT_NE(r.rc, 0);
  EXPECT_THAT(r.err, HasSubstr("extended LBAs"));
}

TEST_F(TcpHost, IdentifyJsonOverTcp) {
  CliRun r = Cli({"identify", "--tcp", addr_, "--nqn", kNqn, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto j = Json(r);
  EXPECT_THAT(j["controller"]["sn"].get<std::string>(), HasSubstr("TCPHOST01"));
  ASSERT_EQ(j["namespaces"].size(), 2u);
  EXPECT_EQ(j["namespaces"][0]["nsid"], 1);
  EXPECT_EQ(j["namespaces"][0]["nsze"], kNsBytes / 512);

  CliRun one = Cli({"identify", "--tcp", addr_, "--nqn", kNqn, "-n", "2"});
  ASSERT_EQ(one.rc, 0) << one.err;
  EXPECT_THAT(one.out, HasSubstr("TCPHOST01"));
  EXPECT_THAT(one.out, HasSubstr("nsze"));

  CliRun missing = Cli({"identify", "--tcp", addr_, "--nqn", kNqn, "-n", "9"});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_THAT(missing.err, HasSubstr("namespace 9 does not exist"));
}

TEST_F(TcpHost, LogPagesOverTcp) {
  CliRun r = Cli({"log", "--tcp", addr_, "--nqn", kNqn});
  ASSERT_EQ(r.rc, 0) << r.err;
  CliRun smart = Cli({"log", "--tcp", addr_, "--nqn", kNqn, "--page", "smart"});
  ASSERT_EQ(smart.rc, 0) << smart.err;
  EXPECT_FALSE(smart.out.empty());
  EXPECT_THAT(r.out, HasSubstr(smart.out.substr(0, smart.out.find('\n'))));
}

TEST_F(TcpHost, UnknownSubsystemIsRefused) {
  for (const char* cmd : {"perf", "identify", "log"}) {
    CliRun r = Cli({cmd, "--tcp", addr_, "--nqn", "nqn.2026-11.dev.nvemu:nope", "--ios", "1"});
    if (std::string(cmd) != "perf") {
      r = Cli({cmd, "--tcp", addr_, "--nqn", "nqn.2026-11.dev.nvemu:nope"});
    }
    EXPECT_EQ(r.rc, 1) << cmd;
    EXPECT_THAT(r.err, HasSubstr("Connect refused")) << cmd;
    EXPECT_THAT(r.err, HasSubstr("nqn.2026-11.dev.nvemu:nope")) << cmd;
  }
}

TEST_F(TcpHost, ClosedPortFailsAtOnce) {
  // A port that was free a moment ago: connect is refused, no wait.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  ::close(fd);
  const std::string closed = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  for (const char* cmd : {"perf", "identify", "log"}) {
    CliRun r = Cli({cmd, "--tcp", closed});
    EXPECT_EQ(r.rc, 1) << cmd;
    EXPECT_THAT(r.err, HasSubstr("connect 127.0.0.1 port")) << cmd << ": " << r.err;
  }
}

TEST_F(TcpHost, BadOptionsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
    std::string option = "";  // also named in the message
  };
  const std::vector<Case> cases = {
      {{"perf", "--tcp", "localhost:4420"}, "not an IPv4 or IPv6 address"},
      {{"perf", "--tcp", "127.0.0.1:0"}, "not in 1..65535"},
      {{"perf", "--tcp", "127.0.0.1:70000"}, "not in 1..65535"},
      {{"identify", "--tcp", "[::1"}, "missing ']'"},
      {{"log", "--tcp", "127.0.0.1:"}, "empty port"},
      {{"perf", "--tcp", addr_, "--ns-size", "1GiB"}, "excludes", "--ns-size"},
      {{"identify", "--tcp", addr_, "--config", "x.toml"}, "excludes", "--config"},
      {{"log", "--tcp", addr_, "--backend", "null"}, "excludes", "--backend"},
      {{"perf", "--tcp", addr_, "--irq"}, "excludes", "--irq"},
      {{"perf", "--tcp", addr_, "--arb", "wrr"}, "excludes", "--arb"},
      {{"perf", "--tcp", addr_, "--coalesce", "1,1"}, "excludes", "--coalesce"},
      {{"perf", "--tcp", addr_, "--reactors", "2"}, "excludes", "--reactors"},
      {{"perf", "--nqn", kNqn}, "requires", "--nqn"},
      {{"identify", "--hdgst"}, "requires", "--hdgst"},
  };
  for (const Case& c : cases) {
    CliRun r = Cli(c.args);
    EXPECT_EQ(r.rc, 2) << c.message;
    EXPECT_THAT(r.err + r.out, HasSubstr(c.message)) << r.err + r.out;
    EXPECT_THAT(r.err + r.out, HasSubstr(c.option)) << r.err + r.out;
  }
  EXPECT_EQ(target_->controller_count(), 0u);
}

TEST(TcpEndpoint, Forms) {
  auto a = ParseTcpEndpoint("10.0.2.2");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->address, "10.0.2.2");
  EXPECT_EQ(a->port, 4420);
  auto b = ParseTcpEndpoint("[::1]:4421");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->address, "::1");
  EXPECT_EQ(b->port, 4421);
  auto c = ParseTcpEndpoint("fe80::1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->address, "fe80::1");
  EXPECT_EQ(c->port, 4420);
  EXPECT_FALSE(ParseTcpEndpoint("").ok());
  EXPECT_FALSE(ParseTcpEndpoint("1.2.3.4:x").ok());
  EXPECT_FALSE(ParseTcpEndpoint("[::1]x").ok());
}

}  // namespace
}  // namespace nvemu::app
