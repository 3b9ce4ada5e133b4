#include "app/config_file.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace nvemu::app {
namespace {

using ::testing::HasSubstr;

constexpr const char* kFullFile = R"(# every key
[controller]
vendor_id = 0x1b36
device_id = 0x0010
subsystem_vendor_id = 0x1af4
subsystem_id = 0x1100
revision_id = 2
serial = "SN-TEST-42"
model = "test model"
firmware_revision = "9.9"
subnqn = "nqn.2014-08.org.example:test"
max_io_queues = 8
mqes = 255
cqr = true
dstrd = 1
timeout_500ms = 40
mdts = 5
mpsmin = 0
mpsmax = 2
msix_vectors = 9
state_file = "/tmp/test.state.json"
max_namespaces = 8
nvm_capacity = "2GiB"
firmware_slots = 5
firmware_slot1_read_only = false
endurance_bytes = "1TiB"
composite_temperature = 350
available_spare = 7

[engine]
io_reactors = 3
mode = "timer"
timer_period_us = 100
entries_per_tick = 16

[[namespace]]
size = "512MiB"
lba_size = 4096
metadata_size = 8
extended_lba = true
pi_type = 2
pi_first = true
backend = "null"

[[namespace]]
size = 1048576
backend = "file"
data_path = "/tmp/ns2.img"
metadata_path = "/tmp/ns2.meta"
metadata_size = 16
pi_64b_guard = true
pi_type = 1
direct_io = true
)";

ControllerConfig MustParse(std::string_view text) {
  auto r = ParseConfig(text, "test.toml");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ControllerConfig{};
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseConfig(text, "test.toml");
  EXPECT_FALSE(r.ok()) << "parsed without error:\n" << text;
  return r.ok() ? "" : r.error().message;
}

TEST(ConfigFile, FullFileSetsEveryField) {
  ControllerConfig c = MustParse(kFullFile);
  EXPECT_EQ(c.vendor_id, 0x1b36);
  EXPECT_EQ(c.device_id, 0x0010);
  EXPECT_EQ(c.subsystem_vendor_id, 0x1af4);
  EXPECT_EQ(c.subsystem_id, 0x1100);
  EXPECT_EQ(c.revision_id, 2);
  EXPECT_EQ(c.serial, "SN-TEST-42");
  EXPECT_EQ(c.model, "test model");
  EXPECT_EQ(c.firmware_revision, "9.9");
  EXPECT_EQ(c.subnqn, "nqn.2014-08.org.example:test");
  EXPECT_EQ(c.max_io_queues, 8u);
  EXPECT_EQ(c.mqes, 255u);
  EXPECT_TRUE(c.cqr);
  EXPECT_EQ(c.dstrd, 1);
  EXPECT_EQ(c.timeout_500ms, 40);
  EXPECT_EQ(c.mdts, 5);
  EXPECT_EQ(c.mpsmin, 0);
  EXPECT_EQ(c.mpsmax, 2);
  EXPECT_EQ(c.msix_vectors, 9);
  EXPECT_EQ(c.state_file, "/tmp/test.state.json");
  EXPECT_EQ(c.max_namespaces, 8u);
  EXPECT_EQ(c.nvm_capacity, 2ull << 30);
  EXPECT_EQ(c.firmware_slots, 5);
  EXPECT_FALSE(c.firmware_slot1_read_only);
  EXPECT_EQ(c.endurance_bytes, 1ull << 40);
  EXPECT_EQ(c.composite_temperature, 350);
  EXPECT_EQ(c.available_spare, 7);
  EXPECT_EQ(c.io_reactors, 3u);
  EXPECT_EQ(c.mode, ProcessingMode::kTimer);
  EXPECT_EQ(c.timer_period_us, 100u);
  EXPECT_EQ(c.entries_per_tick, 16u);
  ASSERT_EQ(c.namespaces.size(), 2u);
  EXPECT_EQ(c.namespaces[0].size_bytes, 512ull << 20);
  EXPECT_EQ(c.namespaces[0].lba_size, 4096u);
  EXPECT_EQ(c.namespaces[0].backend, BackendKind::kNull);
  EXPECT_EQ(c.namespaces[0].metadata_size, 8u);
  EXPECT_TRUE(c.namespaces[0].extended_lba);
  EXPECT_EQ(c.namespaces[0].pi_type, 2);
  EXPECT_TRUE(c.namespaces[0].pi_first);
  EXPECT_FALSE(c.namespaces[0].pi_64b_guard);
  EXPECT_FALSE(c.namespaces[0].direct_io);
  EXPECT_EQ(c.namespaces[1].metadata_size, 16u);
  EXPECT_TRUE(c.namespaces[1].pi_64b_guard);
  EXPECT_EQ(c.namespaces[1].pi_type, 1);
  EXPECT_FALSE(c.namespaces[1].pi_first);
  EXPECT_FALSE(c.namespaces[1].extended_lba);
  EXPECT_TRUE(c.namespaces[1].direct_io);
  EXPECT_EQ(c.namespaces[1].size_bytes, 1048576u);
  EXPECT_EQ(c.namespaces[1].lba_size, 512u);  // default
  EXPECT_EQ(c.namespaces[1].backend, BackendKind::kFile);
  EXPECT_EQ(c.namespaces[1].data_path, "/tmp/ns2.img");
  EXPECT_EQ(c.namespaces[1].metadata_path, "/tmp/ns2.meta");
}

TEST(ConfigFile, EmptyFileGivesDefaults) {
  ControllerConfig c = MustParse("");
  ControllerConfig d;
  EXPECT_EQ(c.serial, d.serial);
  EXPECT_EQ(c.mdts, d.mdts);
  ASSERT_EQ(c.namespaces.size(), 1u);
  EXPECT_EQ(c.namespaces[0].size_bytes, 1ull << 30);
  EXPECT_EQ(c.namespaces[0].backend, BackendKind::kRam);
}

TEST(ConfigFile, KeysLeftOutKeepDefaults) {
  ControllerConfig c = MustParse("[controller]\nmdts = 3\n");
  EXPECT_EQ(c.mdts, 3);
  EXPECT_EQ(c.serial, ControllerConfig{}.serial);
  EXPECT_EQ(c.mode, ControllerConfig{}.mode);
  EXPECT_EQ(c.namespaces.size(), 1u);
}

TEST(ConfigFile, TimeoutMsRoundsUpTo500msUnits) {
  EXPECT_EQ(MustParse("[controller]\ntimeout_ms = 10000\n").timeout_500ms, 20);
  EXPECT_EQ(MustParse("[controller]\ntimeout_ms = 1\n").timeout_500ms, 1);
  EXPECT_EQ(MustParse("[controller]\ntimeout_ms = 1001\n").timeout_500ms, 3);
  EXPECT_THAT(ErrorOf("[controller]\ntimeout_ms = 200000\n"),
              HasSubstr("test.toml:2:14: controller.timeout_ms: 200000 is outside 1..127500"));
  EXPECT_THAT(ErrorOf("[controller]\ntimeout_ms = 1000\ntimeout_500ms = 2\n"),
              HasSubstr("controller.timeout_ms: give either timeout_ms or timeout_500ms"));
}

TEST(ConfigFile, SizesAcceptIntegersAndUnits) {
  auto size_of = [](std::string_view value) {
    return MustParse(fmt::format("[[namespace]]\nsize = {}\n", value)).namespaces.at(0).size_bytes;
  };
  EXPECT_EQ(size_of("1073741824"), 1ull << 30);
  EXPECT_EQ(size_of("\"1GiB\""), 1ull << 30);
  EXPECT_EQ(size_of("\"512MiB\""), 512ull << 20);
  EXPECT_EQ(size_of("\"4TiB\""), 4ull << 40);
  EXPECT_EQ(size_of("\"1 GB\""), 1'000'000'000ull);  // a multiple of 512
}

TEST(ConfigFile, EmptyNamespaceArrayMeansNoNamespaces) {
  EXPECT_TRUE(MustParse("namespace = []\n").namespaces.empty());
}

// ---- errors: each names the file, line, column and key ----

TEST(ConfigFileErrors, SyntaxError) {
  EXPECT_THAT(ErrorOf("[controller]\nmdts = = 3\n"), HasSubstr("test.toml:2:"));
  EXPECT_THAT(ErrorOf("[controller]\nmdts = = 3\n"), HasSubstr("TOML syntax error"));
  EXPECT_THAT(ErrorOf("[controller]\nmdts = 1\nmdts = 2\n"), HasSubstr("test.toml:3:"));
}

TEST(ConfigFileErrors, UnknownKeyWithSuggestion) {
  EXPECT_THAT(ErrorOf("[controller]\nmdst = 5\n"),
              HasSubstr("test.toml:2:1: controller.mdst: unknown key (did you mean 'mdts'?)"));
  EXPECT_THAT(ErrorOf("[engine]\nfoo = 1\n"),
              HasSubstr("test.toml:2:1: engine.foo: unknown key (known keys: io_reactors, mode"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = 4096\nlba = 512\n"),
              HasSubstr("test.toml:3:1: namespace[1].lba: unknown key"));
}

TEST(ConfigFileErrors, UnknownTable) {
  EXPECT_THAT(ErrorOf("\n[controler]\nmdts = 5\n"),
              HasSubstr("test.toml:2:2: controler: unknown table or key"));
  EXPECT_THAT(ErrorOf("serial = \"x\"\n"), HasSubstr("test.toml:1:1: serial: unknown table"));
}

TEST(ConfigFileErrors, WrongTypes) {
  EXPECT_THAT(ErrorOf("[controller]\nmdts = \"5\"\n"),
              HasSubstr("test.toml:2:8: controller.mdts: expected an integer, got a string"));
  EXPECT_THAT(ErrorOf("[controller]\nserial = 42\n"),
              HasSubstr("controller.serial: expected a string, got an integer"));
  EXPECT_THAT(ErrorOf("[controller]\ncqr = 1\n"),
              HasSubstr("controller.cqr: expected a boolean (true or false), got an integer"));
  EXPECT_THAT(ErrorOf("[controller]\nmdts = 5.0\n"),
              HasSubstr("expected an integer, got a floating-point number"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = true\n"),
              HasSubstr("namespace[1].size: expected an integer (bytes) or a string with a unit"));
  EXPECT_THAT(ErrorOf("controller = 5\n"),
              HasSubstr("test.toml:1:14: controller: expected a table ([controller]), got an "
                        "integer"));
  EXPECT_THAT(ErrorOf("[namespace]\nsize = 4096\n"),
              HasSubstr("namespace: expected an array of tables ([[namespace]]), got a table"));
  EXPECT_THAT(ErrorOf("namespace = [1]\n"),
              HasSubstr("namespace[1]: expected a table, got an integer"));
}

TEST(ConfigFileErrors, OutOfRange) {
  EXPECT_THAT(ErrorOf("[controller]\nmdts = 16\n"),
              HasSubstr("test.toml:2:8: controller.mdts: 16 is outside 0..15"));
  EXPECT_THAT(ErrorOf("[controller]\nvendor_id = 0x10000\n"),
              HasSubstr("controller.vendor_id: 65536 is outside 0..65535"));
  EXPECT_THAT(ErrorOf("[controller]\nmsix_vectors = 0\n"),
              HasSubstr("controller.msix_vectors: 0 is outside 1..2048"));
  EXPECT_THAT(ErrorOf("[controller]\nmqes = -1\n"), HasSubstr("controller.mqes: -1 is outside"));
  EXPECT_THAT(ErrorOf("[engine]\nio_reactors = 300\n"),
              HasSubstr("engine.io_reactors: 300 is outside 1..256"));
  EXPECT_THAT(ErrorOf("[controller]\nserial = \"123456789012345678901\"\n"),
              HasSubstr("controller.serial: \"123456789012345678901\" has 21 characters, must "
                        "have 1..20"));
  EXPECT_THAT(ErrorOf("[controller]\nmodel = \"caf\u00e9\"\n"),
              HasSubstr("controller.model: \"caf\u00e9\" must be printable ASCII"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = -4096\n"),
              HasSubstr("namespace[1].size: size -4096 is negative"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = 0\n"), HasSubstr("namespace[1].size: size must not"));
}

TEST(ConfigFileErrors, BadChoices) {
  EXPECT_THAT(ErrorOf("[engine]\nmode = \"busy\"\n"),
              HasSubstr("test.toml:2:8: engine.mode: \"busy\" is not one of \"poll\", \"notify\", "
                        "\"timer\""));
  EXPECT_THAT(
      ErrorOf("[[namespace]]\nbackend = \"disk\"\n"),
      HasSubstr("namespace[1].backend: \"disk\" is not one of \"ram\", \"file\", \"null\""));
}

TEST(ConfigFileErrors, BadSizeUnits) {
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = \"1G\"\n"),
              HasSubstr("test.toml:2:8: namespace[1].size: size '1G': unit 'G' is ambiguous"));
  EXPECT_THAT(ErrorOf("[[namespace]]\n[[namespace]]\nsize = \"2 XiB\"\n"),
              HasSubstr("test.toml:3:8: namespace[2].size: size '2 XiB': unknown unit 'XiB'"));
}

TEST(ConfigFileErrors, ValidateRulesAreReportedAtTheKey) {
  // Rules that live in ControllerConfig::Validate(), located at the key they are about.
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = 4096\nlba_size = 520\n"),
              HasSubstr("test.toml:3:12: namespace[1].lba_size: lba_size 520 (must be 512 or "
                        "4096)"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nsize = 1000\n"),
              HasSubstr("test.toml:2:8: namespace[1].size: size_bytes 1000 is not a non-zero "
                        "multiple of lba_size 512"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nmetadata_size = 7\n"),
              HasSubstr("test.toml:2:17: namespace[1].metadata_size: metadata_size 7"));
  EXPECT_THAT(ErrorOf("[controller]\nmpsmin = 3\nmpsmax = 2\n"),
              HasSubstr("test.toml:2:10: controller.mpsmin: mpsmin 3 / mpsmax 2 invalid"));
}

// The admin / persistence keys and the metadata / protection keys: each malformed value is
// reported at its key, naming it.
TEST(ConfigFileErrors, AdminAndProtectionKeys) {
  EXPECT_THAT(ErrorOf("[controller]\nstate_file = 5\n"),
              HasSubstr("test.toml:2:14: controller.state_file: expected a string"));
  EXPECT_THAT(ErrorOf("[controller]\nmax_namespaces = 1025\n"),
              HasSubstr("controller.max_namespaces: 1025 is outside 0..1024"));
  EXPECT_THAT(ErrorOf("[controller]\nnvm_capacity = \"1G\"\n"),
              HasSubstr("controller.nvm_capacity: size '1G': unit 'G' is ambiguous"));
  EXPECT_THAT(ErrorOf("[controller]\nfirmware_slots = 0\n"),
              HasSubstr("controller.firmware_slots: 0 is outside 1..7"));
  EXPECT_THAT(ErrorOf("[controller]\nfirmware_slots = 8\n"),
              HasSubstr("controller.firmware_slots: 8 is outside 1..7"));
  EXPECT_THAT(ErrorOf("[controller]\nfirmware_slot1_read_only = \"yes\"\n"),
              HasSubstr("controller.firmware_slot1_read_only: expected a boolean"));
  EXPECT_THAT(ErrorOf("[controller]\nendurance_bytes = -1\n"),
              HasSubstr("controller.endurance_bytes: size -1 is negative"));
  EXPECT_THAT(ErrorOf("[controller]\ncomposite_temperature = 0\n"),
              HasSubstr("controller.composite_temperature: 0 is outside 1..65535"));
  EXPECT_THAT(ErrorOf("[controller]\navailable_spare = 101\n"),
              HasSubstr("controller.available_spare: 101 is outside 0..100"));
  EXPECT_THAT(ErrorOf("[engine]\ntimer_period_us = 1000001\n"),
              HasSubstr("engine.timer_period_us: 1000001 is outside 1..1000000"));
  EXPECT_THAT(ErrorOf("[engine]\nentries_per_tick = 0\n"),
              HasSubstr("engine.entries_per_tick: 0 is outside 1..65536"));
  EXPECT_THAT(ErrorOf("[[namespace]]\npi_type = 4\n"),
              HasSubstr("namespace[1].pi_type: 4 is outside 0..3"));
  EXPECT_THAT(ErrorOf("[[namespace]]\npi_first = 1\n"),
              HasSubstr("namespace[1].pi_first: expected a boolean"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nextended_lba = \"x\"\n"),
              HasSubstr("namespace[1].extended_lba: expected a boolean"));
  EXPECT_THAT(ErrorOf("[[namespace]]\npi_64b_guard = 2\n"),
              HasSubstr("namespace[1].pi_64b_guard: expected a boolean"));
  EXPECT_THAT(ErrorOf("[[namespace]]\ndirect_io = \"no\"\n"),
              HasSubstr("namespace[1].direct_io: expected a boolean"));
  // Cross-field rules of Validate(), at the key they name.
  EXPECT_THAT(ErrorOf("[[namespace]]\npi_type = 1\n"),
              HasSubstr("test.toml:2:11: namespace[1].pi_type: pi_type 1 needs metadata"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nmetadata_size = 8\npi_first = true\n"),
              HasSubstr("test.toml:3:12: namespace[1].pi_first: pi_first needs pi_type 1..3"));
  EXPECT_THAT(ErrorOf("[[namespace]]\nextended_lba = true\n"),
              HasSubstr("namespace[1].extended_lba: extended_lba needs metadata"));
  EXPECT_THAT(ErrorOf("[[namespace]]\ndirect_io = true\n"),
              HasSubstr("namespace[1].direct_io: direct_io needs the file backend"));
  EXPECT_THAT(ErrorOf("[controller]\nnvm_capacity = \"512MiB\"\n"),
              HasSubstr("test.toml:2:16: controller.nvm_capacity: nvm_capacity 536870912 is "
                        "below the 1073741824 bytes of the configured namespaces"));
  EXPECT_THAT(ErrorOf("[controller]\nmax_namespaces = 1\n[[namespace]]\n[[namespace]]\n"),
              HasSubstr("controller.max_namespaces: max_namespaces 1 is below the 2 namespaces"));
  EXPECT_THAT(ErrorOf("[controller]\nstate_file = \"/tmp/dir/\"\n"),
              HasSubstr("controller.state_file: state_file '/tmp/dir/' names a directory"));
}

TEST(ConfigFileErrors, PathsNeedTheFileBackend) {
  EXPECT_THAT(
      ErrorOf("[[namespace]]\ndata_path = \"x.img\"\n"),
      HasSubstr("test.toml:2:13: namespace[1].data_path: only used with backend = \"file\""));
  EXPECT_THAT(ErrorOf("[[namespace]]\nbackend = \"file\"\ndata_path = \"\"\n"),
              HasSubstr("namespace[1].data_path: path must not be empty"));
}

TEST(ConfigFileErrors, EveryProblemIsReportedSortedByLine) {
  std::string msg = ErrorOf("[engine]\nmode = \"x\"\n[controller]\nmdts = 99\nbogus = 1\n");
  size_t mode = msg.find("test.toml:2:");
  size_t mdts = msg.find("test.toml:4:");
  size_t bogus = msg.find("test.toml:5:");
  ASSERT_NE(mode, std::string::npos) << msg;
  ASSERT_NE(mdts, std::string::npos) << msg;
  ASSERT_NE(bogus, std::string::npos) << msg;
  EXPECT_LT(mode, mdts);
  EXPECT_LT(mdts, bogus);
}

// ---- files ----

class ConfigFileOnDisk : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("nvemu_config_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, std::string_view text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFileOnDisk, LoadsAFile) {
  auto r = LoadConfigFile(Write("full.toml", kFullFile));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->serial, "SN-TEST-42");
}

TEST_F(ConfigFileOnDisk, ErrorsNameTheFile) {
  std::string path = Write("bad.toml", "[controller]\nmdts = 99\n");
  auto r = LoadConfigFile(path);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(path + ":2:8: controller.mdts: 99 is outside 0..15"));
}

TEST_F(ConfigFileOnDisk, MissingFileAndDirectory) {
  auto missing = LoadConfigFile((dir_ / "none.toml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("none.toml: cannot open config file"));
  auto directory = LoadConfigFile(dir_.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_THAT(directory.error().message, HasSubstr("is a directory"));
}

TEST_F(ConfigFileOnDisk, BinaryGarbageIsAnErrorNotACrash) {
  std::string garbage("\x00\xff\xfe[[[\x01\x02\"\n", 11);
  auto r = LoadConfigFile(Write("garbage.toml", garbage));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("garbage.toml:"));
}

TEST(ConfigFileExample, ShippedExampleIsValid) {
  auto r = LoadConfigFile(NVEMU_EXAMPLE_CONFIG);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->namespaces.size(), 2u);
  EXPECT_EQ(r->namespaces[1].backend, BackendKind::kFile);
}

}  // namespace
}  // namespace nvemu::app
