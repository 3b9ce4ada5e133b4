#include "app/overrides.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace nvemu::app {
namespace {

using ::testing::HasSubstr;

ControllerConfig Applied(const ConfigOverrides& o, ControllerConfig c = {}) {
  auto r = ApplyOverrides(o, c);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return c;
}

TEST(Overrides, NothingChangesNothing) {
  ControllerConfig c = Applied({});
  ControllerConfig d;
  EXPECT_EQ(c.max_io_queues, d.max_io_queues);
  EXPECT_EQ(c.namespaces.size(), 1u);
  EXPECT_EQ(c.namespaces[0].size_bytes, d.namespaces[0].size_bytes);
}

TEST(Overrides, ControllerAndEngineValues) {
  ConfigOverrides o;
  o.max_io_queues = 4;
  o.io_reactors = 2;
  o.mode = ProcessingMode::kPoll;
  o.mdts = 3;
  o.dstrd = 2;
  ControllerConfig c = Applied(o);
  EXPECT_EQ(c.max_io_queues, 4u);
  EXPECT_EQ(c.io_reactors, 2u);
  EXPECT_EQ(c.mode, ProcessingMode::kPoll);
  EXPECT_EQ(c.mdts, 3);
  EXPECT_EQ(c.dstrd, 2);
}

TEST(Overrides, AdminPersistenceAndTimerValues) {
  ConfigOverrides o;
  o.state_file = "x.state.json";
  o.max_namespaces = 9;
  o.nvm_capacity = 4ull << 30;
  o.firmware_slots = 2;
  o.firmware_slot1_read_only = false;
  o.endurance_bytes = 5ull << 40;
  o.composite_temperature = 360;
  o.available_spare = 3;
  o.timer_period_us = 250;
  o.entries_per_tick = 7;
  ControllerConfig c = Applied(o);
  EXPECT_EQ(c.state_file, "x.state.json");
  EXPECT_EQ(c.max_namespaces, 9u);
  EXPECT_EQ(c.nvm_capacity, 4ull << 30);
  EXPECT_EQ(c.firmware_slots, 2);
  EXPECT_FALSE(c.firmware_slot1_read_only);
  EXPECT_EQ(c.endurance_bytes, 5ull << 40);
  EXPECT_EQ(c.composite_temperature, 360);
  EXPECT_EQ(c.available_spare, 3);
  EXPECT_EQ(c.timer_period_us, 250u);
  EXPECT_EQ(c.entries_per_tick, 7u);
}

TEST(Overrides, ProtectionOptionsApplyToEveryNamespace) {
  ConfigOverrides o;
  o.namespaces = 2;
  o.metadata_size = 8;
  o.extended_lba = true;
  o.pi_type = 3;
  o.pi_first = true;
  o.direct_io = true;
  o.backend = BackendKind::kFile;
  ControllerConfig c = Applied(o);
  ASSERT_EQ(c.namespaces.size(), 2u);
  for (const NamespaceConfig& ns : c.namespaces) {
    EXPECT_EQ(ns.metadata_size, 8u);
    EXPECT_TRUE(ns.extended_lba);
    EXPECT_EQ(ns.pi_type, 3);
    EXPECT_TRUE(ns.pi_first);
    EXPECT_FALSE(ns.pi_64b_guard);
    EXPECT_TRUE(ns.direct_io);
  }
  EXPECT_TRUE(c.Validate().ok()) << c.Validate().error().message;
  o = {};
  o.pi_type = 1;  // no metadata: Validate names the field
  auto r = BuildConfig(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("pi_type 1 needs metadata"));
}

TEST(Overrides, NamespaceCountGrowsByCopyingTheLastOne) {
  ControllerConfig base;
  base.namespaces[0].size_bytes = 8 << 20;
  base.namespaces[0].lba_size = 4096;
  base.namespaces[0].backend = BackendKind::kFile;
  base.namespaces[0].data_path = "one.img";
  ConfigOverrides o;
  o.namespaces = 3;
  ControllerConfig c = Applied(o, base);
  ASSERT_EQ(c.namespaces.size(), 3u);
  EXPECT_EQ(c.namespaces[0].data_path, "one.img");
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_EQ(c.namespaces[i].size_bytes, 8u << 20);
    EXPECT_EQ(c.namespaces[i].lba_size, 4096u);
    EXPECT_EQ(c.namespaces[i].backend, BackendKind::kFile);
    EXPECT_TRUE(c.namespaces[i].data_path.empty()) << "copies use default image names";
  }
}

TEST(Overrides, NamespaceCountShrinks) {
  ControllerConfig base;
  base.namespaces.resize(4);
  ConfigOverrides o;
  o.namespaces = 1;
  EXPECT_EQ(Applied(o, base).namespaces.size(), 1u);
}

TEST(Overrides, NamespaceOptionsApplyToEveryNamespace) {
  ControllerConfig base;
  base.namespaces.resize(2);
  ConfigOverrides o;
  o.ns_size = 64 << 20;
  o.lba_size = 4096;
  o.backend = BackendKind::kNull;
  ControllerConfig c = Applied(o, base);
  for (const auto& ns : c.namespaces) {
    EXPECT_EQ(ns.size_bytes, 64u << 20);
    EXPECT_EQ(ns.lba_size, 4096u);
    EXPECT_EQ(ns.backend, BackendKind::kNull);
  }
}

TEST(Overrides, PathsNeedOneFileNamespace) {
  ConfigOverrides o;
  o.data_path = "x.img";
  ControllerConfig ram;
  auto r = ApplyOverrides(o, ram);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("--data-path is only used with the file backend"));

  o.backend = BackendKind::kFile;
  o.metadata_path = "x.meta";
  ControllerConfig c = Applied(o);
  EXPECT_EQ(c.namespaces[0].data_path, "x.img");
  EXPECT_EQ(c.namespaces[0].metadata_path, "x.meta");

  o.namespaces = 2;
  ControllerConfig two;
  r = ApplyOverrides(o, two);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message,
              HasSubstr("--data-path needs exactly one namespace (there are 2)"));
}

TEST(BuildConfig, DefaultsAreValid) {
  auto r = BuildConfig({});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->namespaces.size(), 1u);
}

TEST(BuildConfig, ValidateRunsAfterOverrides) {
  ConfigOverrides o;
  o.ns_size = 1000;  // not a multiple of 512
  auto r = BuildConfig(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("invalid configuration (command-line options)"));
  EXPECT_THAT(r.error().message,
              HasSubstr("size_bytes 1000 is not a non-zero multiple of lba_size 512"));
}

class BuildConfigWithFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("nvemu_overrides_test_" + std::to_string(::getpid()) + ".toml"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(BuildConfigWithFile, OptionsOverrideTheFile) {
  std::ofstream(path_) << "[controller]\nmdts = 3\nserial = \"FILE\"\n"
                          "[engine]\nmode = \"timer\"\n"
                          "[[namespace]]\nsize = \"16MiB\"\n";
  ConfigOverrides o;
  o.config_file = path_;
  o.mdts = 6;
  o.ns_size = 32 << 20;
  auto r = BuildConfig(o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mdts, 6) << "option wins over the file";
  EXPECT_EQ(r->serial, "FILE") << "file wins over the default";
  EXPECT_EQ(r->mode, ProcessingMode::kTimer);
  EXPECT_EQ(r->namespaces.at(0).size_bytes, 32u << 20);
}

TEST_F(BuildConfigWithFile, FileErrorsStopBeforeOverrides) {
  std::ofstream(path_) << "[controller]\nmdts = 99\n";
  ConfigOverrides o;
  o.config_file = path_;
  o.mdts = 6;  // does not rescue an invalid file
  auto r = BuildConfig(o);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr(path_ + ":2:8: controller.mdts: 99 is outside 0..15"));
}

}  // namespace
}  // namespace nvemu::app
