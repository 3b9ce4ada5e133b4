// Runs the built `nvemu` binary (NVEMU_BINARY) as a user would and checks exit status and output.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

class NvemuCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nvemu_cli_e2e_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `nvemu <args>` in the test's own directory (file backends create images there).
  Outcome Nvemu(const std::string& args) {
    std::string err_path = (dir_ / "stderr.txt").string();
    std::string cmd =
        "cd '" + dir_.string() + "' && '" NVEMU_BINARY "' " + args + " 2>'" + err_path + "'";
    Outcome r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    int rc = ::pclose(p);
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
    std::ifstream in(err_path);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    return r;
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::filesystem::path dir_;
};

#define EXPECT_STATUS(run, expected) \
  EXPECT_EQ((run).status, expected) << "stdout:\n" << (run).out << "\nstderr:\n" << (run).err

TEST_F(NvemuCli, DemoWithDefaultsPasses) {
  Outcome r = Nvemu("demo");
  EXPECT_STATUS(r, 0);
  EXPECT_THAT(r.out, HasSubstr("serial (sn)   : NVEMU0001\n"));
  EXPECT_THAT(r.out, HasSubstr("model (mn)    : nvemu NVMe controller\n"));
  EXPECT_THAT(r.out, HasSubstr("version       : 2.0.0\n"));
  EXPECT_THAT(r.out, HasSubstr("mdts          : 7 (512 KiB max transfer)\n"));
  EXPECT_THAT(r.out, HasSubstr("namespaces    : 1 active (nn "));
  EXPECT_THAT(r.out, HasSubstr("nsid 1        : 1 GiB (2097152 LBAs of 512 B"));
  EXPECT_THAT(r.out, HasSubstr("queues        : 2 I/O queue pair(s), qid 1..2"));
  EXPECT_THAT(r.out, HasSubstr("verification  : PASSED (2048 blocks read back"));
  EXPECT_THAT(r.out, HasSubstr("not a benchmark"));
  EXPECT_THAT(r.out, HasSubstr("shutdown      : ok"));
  EXPECT_THAT(r.out, HasSubstr("\nRESULT: PASS\n"));
  EXPECT_THAT(r.err, HasSubstr("[info]")) << "demo logs at info by default";
}

TEST_F(NvemuCli, DemoJson) {
  Outcome r = Nvemu("demo --json --log-level off");
  EXPECT_STATUS(r, 0);
  EXPECT_EQ(r.err, "");
  auto j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["result"], "pass");
  EXPECT_EQ(j["controller"]["sn"], "NVEMU0001");
  EXPECT_EQ(j["controller"]["active_namespaces"], 1);
  EXPECT_EQ(j["io"]["queues"], 2);
  EXPECT_EQ(j["io"]["bytes_written"], 1 << 20);
  EXPECT_EQ(j["io"]["bytes_read"], 1 << 20);
  EXPECT_EQ(j["verification"]["passed"], true);
  EXPECT_EQ(j["verification"]["blocks_mismatched"], 0);
  EXPECT_EQ(j["namespaces"][0]["nuse"], 2048) << "NUSE counts the LBAs the demo wrote";
}

TEST_F(NvemuCli, DemoOptionsOverrideDefaults) {
  Outcome r = Nvemu(
      "demo --log-level warn --namespaces 2 --ns-size 16MiB --lba-size 4096 --backend null "
      "--queues 3 --mode poll --io-reactors 2 --ios 4 --io-size 8KiB");
  EXPECT_STATUS(r, 0);
  EXPECT_THAT(r.out, HasSubstr("namespaces    : 2 active (nn "));
  EXPECT_THAT(r.out, HasSubstr("engine        : poll mode, 2 I/O reactor(s)\n"));
  EXPECT_THAT(r.out, HasSubstr("nsid 2        : 16 MiB (4096 LBAs of 4096 B"));
  EXPECT_THAT(r.out, HasSubstr("backend null"));
  EXPECT_THAT(r.out, HasSubstr("queues        : 3 I/O queue pair(s), qid 1..3"));
  // 2 namespaces x 3 queues x 4 commands x 8 KiB
  EXPECT_THAT(r.out, HasSubstr("written       : 192 KiB in 24 write commands (+2 flush)"));
  EXPECT_THAT(r.out, HasSubstr("RESULT: PASS"));
  EXPECT_THAT(r.err, Not(HasSubstr("[info]"))) << "--log-level warn";
}

TEST_F(NvemuCli, DemoWithFileBackendLeavesThePatternInTheImage) {
  Outcome r = Nvemu("demo --log-level warn --backend file --ns-size 1MiB --data-path data.img");
  EXPECT_STATUS(r, 0);
  std::ifstream image(dir_ / "data.img", std::ios::binary);
  ASSERT_TRUE(image.good());
  std::string head(64, '\0');
  image.read(head.data(), head.size());
  EXPECT_THAT(head, HasSubstr("nvemu demo nsid=1 qid=1 lba=0x0\n"));
  EXPECT_EQ(std::filesystem::file_size(dir_ / "data.img"), 1u << 20);
}

TEST_F(NvemuCli, DemoWithTheShippedExampleConfig) {
  Outcome r = Nvemu("demo --log-level warn --config '" NVEMU_EXAMPLE_CONFIG "'");
  EXPECT_STATUS(r, 0);
  EXPECT_THAT(r.out, HasSubstr("namespaces    : 2 active (nn "));
  EXPECT_THAT(r.out, HasSubstr("backend file"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "nvemu-n2.img")) << "relative to the working dir";
}

TEST_F(NvemuCli, DemoWithABadConfigFileFailsClearly) {
  std::string path = Write("bad.toml", "[controller]\nmdts = 99\n[engine]\nmode = \"fast\"\n");
  Outcome r = Nvemu("demo --config '" + path + "'");
  EXPECT_STATUS(r, 2);
  EXPECT_THAT(r.err, HasSubstr("nvemu demo: configuration error"));
  EXPECT_THAT(r.err, HasSubstr(path + ":2:8: controller.mdts: 99 is outside 0..15"));
  EXPECT_THAT(r.err, HasSubstr(path + ":4:8: engine.mode: \"fast\" is not one of"));
  EXPECT_THAT(r.out, Not(HasSubstr("RESULT")));
}

TEST_F(NvemuCli, DemoWithAMissingConfigFile) {
  Outcome r = Nvemu("demo --config does-not-exist.toml");
  EXPECT_STATUS(r, 2);
  EXPECT_THAT(r.err, HasSubstr("does-not-exist.toml: cannot open config file"));
}

TEST_F(NvemuCli, DemoJsonReportsConfigErrors) {
  std::string path = Write("bad.toml", "[[namespace]]\nsize = \"1G\"\n");
  Outcome r = Nvemu("demo --json --config '" + path + "'");
  EXPECT_STATUS(r, 2);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["result"], "error");
  EXPECT_THAT(j["error"].get<std::string>(), HasSubstr("unit 'G' is ambiguous"));
}

TEST_F(NvemuCli, DemoRejectsMoreQueuesThanTheControllerHas) {
  Outcome r = Nvemu("demo --max-io-queues 2 --queues 3");
  EXPECT_STATUS(r, 1);
  EXPECT_THAT(r.err, HasSubstr("--queues 3 outside 1..2 (max_io_queues)"));
}

TEST_F(NvemuCli, BadCommandLinesExit2) {
  Outcome mode = Nvemu("demo --mode bogus");
  EXPECT_STATUS(mode, 2);
  EXPECT_THAT(mode.err, HasSubstr("--mode"));
  Outcome size = Nvemu("demo --ns-size 1G");
  EXPECT_STATUS(size, 2);
  EXPECT_THAT(size.err, HasSubstr("ambiguous"));
  Outcome none = Nvemu("");
  EXPECT_STATUS(none, 2);
  Outcome unknown = Nvemu("frobnicate");
  EXPECT_STATUS(unknown, 2);
}

TEST_F(NvemuCli, HelpAndVersion) {
  Outcome version = Nvemu("--version");
  EXPECT_STATUS(version, 0);
  EXPECT_EQ(version.out, "nvemu " NVEMU_VERSION "\n");
  Outcome help = Nvemu("--help");
  EXPECT_STATUS(help, 0);
  EXPECT_THAT(help.out, HasSubstr("demo"));
  EXPECT_THAT(help.out, HasSubstr("identify"));
  EXPECT_THAT(help.out, HasSubstr("--log-level"));
  Outcome demo_help = Nvemu("demo --help");
  EXPECT_STATUS(demo_help, 0);
  EXPECT_THAT(demo_help.out, HasSubstr("--config"));
  EXPECT_THAT(demo_help.out, HasSubstr("--queues"));
}

TEST_F(NvemuCli, IdentifyPrintsControllerAndNamespaces) {
  Outcome r = Nvemu("identify --namespaces 2");
  EXPECT_STATUS(r, 0);
  EXPECT_THAT(r.out, HasSubstr("NVME Identify Controller:\n"));
  EXPECT_THAT(r.out, HasSubstr("\nvid       : 0x8086\n"));
  EXPECT_THAT(r.out, HasSubstr("\nsn        : NVEMU0001\n"));
  EXPECT_THAT(r.out, HasSubstr("\nnn        : "));
  EXPECT_THAT(r.out, HasSubstr("NVME Identify Namespace 1:\n"));
  EXPECT_THAT(r.out, HasSubstr("NVME Identify Namespace 2:\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("NVME Identify Namespace 3:\n"))) << "active namespaces only";
  EXPECT_THAT(r.out, HasSubstr("\nnsze    : 0x200000\n"));
  EXPECT_THAT(r.out, HasSubstr("lbads:9  rp:0x1 (in use)"));
  EXPECT_THAT(r.err, Not(HasSubstr("[info]"))) << "identify logs at warn by default";
}

TEST_F(NvemuCli, IdentifyOneNamespaceAsJson) {
  Outcome r = Nvemu("identify --namespaces 3 --lba-size 4096 --namespace 2 --json");
  EXPECT_STATUS(r, 0);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_GE(j["controller"]["nn"], 3);
  ASSERT_EQ(j["namespaces"].size(), 1u);
  EXPECT_EQ(j["namespaces"][0]["nsid"], 2);
  EXPECT_EQ(j["namespaces"][0]["nsze"], (1 << 30) / 4096);
}

TEST_F(NvemuCli, IdentifyAMissingNamespaceFails) {
  Outcome r = Nvemu("identify --namespace 5000");
  EXPECT_STATUS(r, 1);
  EXPECT_THAT(r.err, HasSubstr("namespace 5000 does not exist (the controller has NN = "));
}

}  // namespace
