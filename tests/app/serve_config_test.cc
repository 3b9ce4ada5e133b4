// The `nvemu serve` configuration file (app/serve_config.h): [target] and [[subsystem]] tables on
// top of the shared schema; every malformed case names file:line:column and the key.
#include "app/serve_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "app/cli.h"

namespace nvemu::app {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<TargetConfig> Parse(const std::string& text, const ConfigOverrides& o = {}) {
  return ParseServeConfig(text, "serve.toml", o);
}

constexpr char kTwoSubsystems[] = R"(
[engine]
io_reactors = 2

[target]
address = "::1"
port = 4430
discovery_port = -1
in_capsule_data = 16384
maxh2cdata = 65536
max_r2t_bytes = 32768
kas_100ms = 5

[[subsystem]]
nqn = "nqn.2026-11.dev.nvemu:a"
serial = "SERIALA"
allowed_hosts = ["nqn.2014-08.org.nvmexpress:uuid:host-1", "nqn.2014-08.org.nvmexpress:uuid:host-2"]
  [[subsystem.namespace]]
  size = "64MiB"
  [[subsystem.namespace]]
  size = "16MiB"
  lba_size = 4096
  backend = "null"

[[subsystem]]
nqn = "nqn.2026-11.dev.nvemu:b"
  [[subsystem.namespace]]
  size = "8MiB"
)";

TEST(ServeConfig, TwoSubsystemsAndTarget) {
  auto c = Parse(kTwoSubsystems);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->address, "::1");
  EXPECT_EQ(c->port, 4430);
  EXPECT_EQ(c->discovery_port, -1);
  EXPECT_EQ(c->in_capsule_data, 16384u);
  EXPECT_EQ(c->maxh2cdata, 65536u);
  EXPECT_EQ(c->max_r2t_bytes, 32768u);
  EXPECT_EQ(c->kas_100ms, 5);
  EXPECT_EQ(c->reactors, 2u);
  ASSERT_EQ(c->subsystems.size(), 2u);
  const SubsystemConfig& a = c->subsystems[0];
  EXPECT_EQ(a.nqn, "nqn.2026-11.dev.nvemu:a");
  EXPECT_EQ(a.serial, "SERIALA");
  ASSERT_EQ(a.allowed_hosts.size(), 2u);
  EXPECT_EQ(a.allowed_hosts[1], "nqn.2014-08.org.nvmexpress:uuid:host-2");
  ASSERT_EQ(a.namespaces.size(), 2u);
  EXPECT_EQ(a.namespaces[0].size_bytes, 64ull << 20);
  EXPECT_EQ(a.namespaces[1].lba_size, 4096u);
  EXPECT_EQ(a.namespaces[1].backend, BackendKind::kNull);
  const SubsystemConfig& b = c->subsystems[1];
  EXPECT_EQ(b.nqn, "nqn.2026-11.dev.nvemu:b");
  EXPECT_EQ(b.serial, "NVEMU0002");  // default: distinct per subsystem
  EXPECT_TRUE(b.allowed_hosts.empty());
  ASSERT_EQ(b.namespaces.size(), 1u);
  EXPECT_EQ(b.namespaces[0].size_bytes, 8ull << 20);
}

TEST(ServeConfig, WithoutSubsystemTablesOneSubsystemFromTheController) {
  auto c = Parse(R"(
[controller]
subnqn = "nqn.2026-11.dev.nvemu:single"
[[namespace]]
size = "32MiB"
[[namespace]]
size = "16MiB"
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->address, "127.0.0.1");
  EXPECT_EQ(c->port, 4420);
  ASSERT_EQ(c->subsystems.size(), 1u);
  EXPECT_EQ(c->subsystems[0].nqn, "nqn.2026-11.dev.nvemu:single");
  EXPECT_EQ(c->subsystems[0].namespaces.size(), 2u);
}

TEST(ServeConfig, NamespaceOptionsApplyToEverySubsystem) {
  ConfigOverrides o;
  o.ns_size = 4ull << 20;
  auto c = Parse(kTwoSubsystems, o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  for (const auto& s : c->subsystems) {
    for (const auto& ns : s.namespaces) EXPECT_EQ(ns.size_bytes, 4ull << 20);
  }
}

struct BadCase {
  const char* name;
  const char* text;
  const char* where;    // expected "serve.toml:LINE:" prefix
  const char* message;  // expected substring
};

// Line numbers count from the first line of `text` (line 1 is the empty line after R"().
const BadCase kBad[] = {
    {"syntax", "\n[target\n", "serve.toml:2:", "TOML syntax error"},
    {"unknown target key", "\n[target]\nprot = 1\n", "serve.toml:3:", "target.prot: unknown key"},
    {"target not a table", "\ntarget = 3\n", "serve.toml:2:", "expected a table ([target])"},
    {"address not an IP", "\n[target]\naddress = \"localhost\"\n",
     "serve.toml:3:", "not an IPv4 or IPv6 address"},
    {"port range", "\n[target]\nport = 70000\n", "serve.toml:3:", "target.port"},
    {"discovery_port range", "\n[target]\ndiscovery_port = -2\n",
     "serve.toml:3:", "target.discovery_port"},
    {"maxh2cdata small", "\n[target]\nmaxh2cdata = 100\n", "serve.toml:3:", "target.maxh2cdata"},
    {"maxh2cdata unaligned", "\n[target]\nmaxh2cdata = 4098\n", "serve.toml:3:", "multiple of 4"},
    {"kas zero", "\n[target]\nkas_100ms = 0\n", "serve.toml:3:", "target.kas_100ms"},
    {"subsystem not tables", "\nsubsystem = 1\n",
     "serve.toml:2:", "expected an array of tables ([[subsystem]])"},
    {"subsystem without nqn", "\n\n[[subsystem]]\nserial = \"X\"\n",
     "serve.toml:3:", "subsystem[1]: missing key 'nqn'"},
    {"subsystem unknown key", "\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\nhosts = []\n",
     "serve.toml:4:", "subsystem[1].hosts: unknown key"},
    {"allowed_hosts not array",
     "\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\nallowed_hosts = \"h\"\n",
     "serve.toml:4:", "expected an array of host NQN strings"},
    {"allowed_hosts element", "\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\nallowed_hosts = [1]\n",
     "serve.toml:4:", "subsystem[1].allowed_hosts"},
    {"nqn too long",
     "\n[[subsystem]]\nnqn = "
     "\"nqn.2026-11.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n",
     "serve.toml:3:", "subsystem[1].nqn"},
    {"namespace key in subsystem",
     "\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\n[[subsystem.namespace]]\nsize = \"1MiB\"\n"
     "lba_size = 1000\n",
     "serve.toml:6:", "lba_size"},
    {"namespace unknown key in subsystem",
     "\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\n[[subsystem.namespace]]\nsise = \"1MiB\"\n",
     "serve.toml:5:", "unknown key"},
    {"top-level namespace with subsystems",
     "\n[[namespace]]\nsize = \"1MiB\"\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\n",
     "serve.toml:2:", "cannot be combined with [[subsystem]]"},
    {"shared schema still checked", "\n[controller]\nmdts = 99\n", "serve.toml:3:", "mdts"},
};

TEST(ServeConfig, EachMalformedCaseNamesFileLineAndKey) {
  for (const BadCase& c : kBad) {
    auto r = Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_THAT(r.error().message, StartsWith(c.where)) << c.name << ": " << r.error().message;
    EXPECT_THAT(r.error().message, HasSubstr(c.message)) << c.name << ": " << r.error().message;
  }
}

TEST(ServeConfig, SeveralProblemsAllReportedInLineOrder) {
  auto r = Parse("\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\nbogus = 1\n[target]\nport = -5\n");
  ASSERT_FALSE(r.ok());
  const std::string& m = r.error().message;
  const size_t a = m.find("serve.toml:4:");
  const size_t b = m.find("serve.toml:6:");
  ASSERT_NE(a, std::string::npos) << m;
  ASSERT_NE(b, std::string::npos) << m;
  EXPECT_LT(a, b);
}

TEST(ServeConfig, ValidationAcrossSubsystems) {
  auto dup = Parse(
      "\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\n[[subsystem]]\nnqn = \"nqn.2026-11.x:a\"\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.error().message, HasSubstr("serve.toml: duplicate subsystem NQN"));
  auto disc = Parse("\n[[subsystem]]\nnqn = \"nqn.2014-08.org.nvmexpress.discovery\"\n");
  ASSERT_FALSE(disc.ok());
  EXPECT_THAT(disc.error().message, HasSubstr("discovery NQN"));
}

TEST(ServeConfig, MissingFile) {
  ConfigOverrides o;
  o.config_file = "/nonexistent/serve.toml";
  auto r = BuildServeConfig(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/serve.toml: cannot open"));
}

TEST(ServeConfig, ServeCommandReportsFileLineAndExits2) {
  const std::string path = "/tmp/nvemu_serve_config_test_" + std::to_string(getpid()) + ".toml";
  std::ofstream(path) << "# comment\n[target]\nport = \"x\"\n";
  const char* argv[] = {"nvemu", "serve", "--config", path.c_str()};
  std::ostringstream out, err;
  EXPECT_EQ(RunCli(4, argv, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr(path + ":3:"));
  EXPECT_THAT(err.str(), HasSubstr("target.port"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace nvemu::app
