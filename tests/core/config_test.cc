// Tests of ControllerConfig::Validate (src/core/config.cc): every bound fails with a message that
// names the offending field, and the values just inside each bound pass.
#include "nvemu/config.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace nvemu {
namespace {

// Validates `c` and expects failure with a message containing every string in `words`.
void ExpectInvalid(const ControllerConfig& c, std::initializer_list<const char*> words) {
  Result<void> r = c.Validate();
  ASSERT_FALSE(r.ok()) << "expected a failure naming " << *words.begin();
  for (const char* w : words) {
    EXPECT_NE(r.error().message.find(w), std::string::npos)
        << "message \"" << r.error().message << "\" does not name " << w;
  }
}

void ExpectValid(const ControllerConfig& c) {
  Result<void> r = c.Validate();
  EXPECT_TRUE(r.ok()) << r.error().message;
}

ControllerConfig With(const std::function<void(ControllerConfig&)>& edit) {
  ControllerConfig c;
  edit(c);
  return c;
}

TEST(ConfigTest, DefaultsAreValid) {
  ControllerConfig c;
  ExpectValid(c);
  // The documented defaults.
  EXPECT_EQ(c.max_io_queues, 64u);
  EXPECT_EQ(c.mqes, 1023u);
  EXPECT_EQ(c.mdts, 7);
  EXPECT_EQ(c.mpsmin, 0);
  EXPECT_EQ(c.mpsmax, 4);
  EXPECT_EQ(c.mode, ProcessingMode::kNotify);
  ASSERT_EQ(c.namespaces.size(), 1u);
  EXPECT_EQ(c.namespaces[0].lba_size, 512u);
  EXPECT_EQ(c.namespaces[0].backend, BackendKind::kRam);
}

TEST(ConfigTest, MaxIoQueues) {
  ExpectInvalid(With([](auto& c) { c.max_io_queues = 0; }), {"max_io_queues", "0"});
  ExpectInvalid(With([](auto& c) { c.max_io_queues = 65536; }), {"max_io_queues", "65536"});
  ExpectValid(With([](auto& c) { c.max_io_queues = 1; }));
  ExpectValid(With([](auto& c) { c.max_io_queues = 65535; }));
}

TEST(ConfigTest, Mqes) {
  ExpectInvalid(With([](auto& c) { c.mqes = 0; }), {"mqes"});
  ExpectInvalid(With([](auto& c) { c.mqes = 65536; }), {"mqes", "65536"});
  ExpectValid(With([](auto& c) { c.mqes = 1; }));
  ExpectValid(With([](auto& c) { c.mqes = 65535; }));
}

TEST(ConfigTest, Dstrd) {
  ExpectInvalid(With([](auto& c) { c.dstrd = 16; }), {"dstrd", "16"});
  ExpectValid(With([](auto& c) { c.dstrd = 15; }));
}

TEST(ConfigTest, Mdts) {
  ExpectInvalid(With([](auto& c) { c.mdts = 16; }), {"mdts", "16"});
  ExpectValid(With([](auto& c) { c.mdts = 15; }));
  ExpectValid(With([](auto& c) { c.mdts = 0; }));  // no limit
}

TEST(ConfigTest, MpsminMpsmax) {
  ExpectInvalid(With([](auto& c) {
                  c.mpsmin = 3;
                  c.mpsmax = 2;
                }),
                {"mpsmin", "mpsmax"});
  ExpectInvalid(With([](auto& c) { c.mpsmax = 16; }), {"mpsmax"});
  ExpectValid(With([](auto& c) {
    c.mpsmin = 2;
    c.mpsmax = 2;
  }));
}

TEST(ConfigTest, Timeout) {
  ExpectInvalid(With([](auto& c) { c.timeout_500ms = 0; }), {"timeout_500ms", "0"});
  ExpectValid(With([](auto& c) { c.timeout_500ms = 1; }));
  ExpectValid(With([](auto& c) { c.timeout_500ms = 255; }));
}

TEST(ConfigTest, MsixVectors) {
  ExpectInvalid(With([](auto& c) { c.msix_vectors = 0; }), {"msix_vectors", "0"});
  ExpectInvalid(With([](auto& c) { c.msix_vectors = 2049; }), {"msix_vectors", "2049"});
  ExpectValid(With([](auto& c) { c.msix_vectors = 1; }));
  ExpectValid(With([](auto& c) { c.msix_vectors = 2048; }));
}

TEST(ConfigTest, IoReactors) {
  ExpectInvalid(With([](auto& c) { c.io_reactors = 0; }), {"io_reactors", "0"});
  ExpectInvalid(With([](auto& c) { c.io_reactors = 257; }), {"io_reactors", "257"});
  ExpectValid(With([](auto& c) { c.io_reactors = 256; }));
}

TEST(ConfigTest, TimerModeNeedsNonZeroPeriodAndBudget) {
  ExpectInvalid(With([](auto& c) {
                  c.mode = ProcessingMode::kTimer;
                  c.timer_period_us = 0;
                }),
                {"timer_period_us"});
  ExpectInvalid(With([](auto& c) {
                  c.mode = ProcessingMode::kTimer;
                  c.entries_per_tick = 0;
                }),
                {"entries_per_tick"});
  ExpectValid(With([](auto& c) {
    c.mode = ProcessingMode::kTimer;
    c.timer_period_us = 1;
    c.entries_per_tick = 1;
  }));
  // The timer fields do not matter in the other modes.
  for (ProcessingMode m : {ProcessingMode::kPoll, ProcessingMode::kNotify}) {
    ExpectValid(With([m](auto& c) {
      c.mode = m;
      c.timer_period_us = 0;
      c.entries_per_tick = 0;
    }));
  }
}

TEST(ConfigTest, TimerPeriodAndBudgetHaveUpperBounds) {
  ExpectInvalid(With([](auto& c) { c.timer_period_us = 1'000'001; }),
                {"timer_period_us", "1000001", "1000000"});
  ExpectInvalid(With([](auto& c) {
                  c.mode = ProcessingMode::kTimer;
                  c.timer_period_us = 1'000'001;
                }),
                {"timer_period_us"});
  ExpectValid(With([](auto& c) {
    c.mode = ProcessingMode::kTimer;
    c.timer_period_us = 1'000'000;
  }));
  ExpectInvalid(With([](auto& c) { c.entries_per_tick = 65537; }), {"entries_per_tick", "65537"});
  ExpectValid(With([](auto& c) { c.entries_per_tick = 65536; }));
}

TEST(ConfigTest, MaxNamespaces) {
  ExpectInvalid(With([](auto& c) { c.max_namespaces = 1025; }), {"max_namespaces", "1025"});
  ExpectInvalid(With([](auto& c) {
                  c.namespaces.assign(3, NamespaceConfig{});
                  c.max_namespaces = 2;
                }),
                {"max_namespaces", "2", "3"});
  ExpectValid(With([](auto& c) { c.max_namespaces = 1024; }));
  ExpectValid(With([](auto& c) { c.max_namespaces = 0; }));  // = the namespaces configured
}

TEST(ConfigTest, NvmCapacityHoldsTheConfiguredNamespaces) {
  ExpectInvalid(With([](auto& c) { c.nvm_capacity = (1ull << 30) - 512; }),
                {"nvm_capacity", "1073741312"});
  ExpectValid(With([](auto& c) { c.nvm_capacity = 1ull << 30; }));
  ExpectValid(With([](auto& c) { c.nvm_capacity = 0; }));  // = the configured total
}

TEST(ConfigTest, FirmwareSlots) {
  ExpectInvalid(With([](auto& c) { c.firmware_slots = 0; }), {"firmware_slots", "0"});
  ExpectInvalid(With([](auto& c) { c.firmware_slots = 8; }), {"firmware_slots", "8"});
  ExpectValid(With([](auto& c) { c.firmware_slots = 7; }));
}

TEST(ConfigTest, StateFileMustNameAFile) {
  ExpectInvalid(With([](auto& c) { c.state_file = "/var/lib/nvemu/"; }), {"state_file"});
  ExpectValid(With([](auto& c) { c.state_file = "none"; }));
  ExpectValid(With([](auto& c) { c.state_file = "/var/lib/nvemu/ctrl.state.json"; }));
}

TEST(ConfigTest, ProtectionFieldsNeedWhatTheyDescribe) {
  ExpectInvalid(With([](auto& c) { c.namespaces[0].pi_first = true; }), {"pi_first", "pi_type"});
  ExpectInvalid(With([](auto& c) { c.namespaces[0].extended_lba = true; }),
                {"extended_lba", "metadata_size"});
  ExpectInvalid(With([](auto& c) { c.namespaces[0].direct_io = true; }), {"direct_io", "file"});
  ExpectValid(With([](auto& c) {
    c.namespaces[0].metadata_size = 8;
    c.namespaces[0].extended_lba = true;
    c.namespaces[0].pi_type = 1;
    c.namespaces[0].pi_first = true;
  }));
  ExpectValid(With([](auto& c) {
    c.namespaces[0].backend = BackendKind::kFile;
    c.namespaces[0].direct_io = true;
  }));
}

TEST(ConfigTest, SerialLength) {
  ExpectInvalid(With([](auto& c) { c.serial = ""; }), {"serial"});
  ExpectInvalid(With([](auto& c) { c.serial = std::string(21, 'S'); }), {"serial"});
  ExpectValid(With([](auto& c) { c.serial = std::string(20, 'S'); }));  // Identify SN is 20 bytes
}

TEST(ConfigTest, ModelLength) {
  ExpectInvalid(With([](auto& c) { c.model = ""; }), {"model"});
  ExpectInvalid(With([](auto& c) { c.model = std::string(41, 'M'); }), {"model"});
  ExpectValid(With([](auto& c) { c.model = std::string(40, 'M'); }));  // Identify MN is 40 bytes
}

TEST(ConfigTest, FirmwareRevisionLength) {
  ExpectInvalid(With([](auto& c) { c.firmware_revision = ""; }), {"firmware_revision"});
  ExpectInvalid(With([](auto& c) { c.firmware_revision = "123456789"; }), {"firmware_revision"});
  ExpectValid(With([](auto& c) { c.firmware_revision = "12345678"; }));  // FR is 8 bytes
}

TEST(ConfigTest, SubnqnLength) {
  ExpectInvalid(With([](auto& c) { c.subnqn = ""; }), {"subnqn"});
  // NVMe Base 2.0, 4.5: an NQN is at most 223 bytes.
  ExpectInvalid(With([](auto& c) { c.subnqn = std::string(224, 'q'); }), {"subnqn"});
  ExpectValid(With([](auto& c) { c.subnqn = std::string(223, 'q'); }));
}

TEST(ConfigTest, NamespaceCount) {
  ExpectInvalid(With([](auto& c) { c.namespaces.assign(1025, NamespaceConfig{}); }),
                {"namespaces"});
  ExpectValid(With([](auto& c) { c.namespaces.assign(1024, NamespaceConfig{}); }));
  ExpectValid(With([](auto& c) { c.namespaces.clear(); }));  // a controller with no namespaces
}

TEST(ConfigTest, LbaSize) {
  ExpectInvalid(With([](auto& c) { c.namespaces[0].lba_size = 1024; }), {"lba_size", "1024"});
  ExpectInvalid(With([](auto& c) { c.namespaces[0].lba_size = 0; }), {"lba_size"});
  ExpectValid(With([](auto& c) { c.namespaces[0].lba_size = 4096; }));
}

TEST(ConfigTest, MetadataSizeMustBeASupportedFormat) {
  for (uint32_t ms : {7u, 16u, 32u, 128u}) {
    ExpectInvalid(With([ms](auto& c) { c.namespaces[0].metadata_size = ms; }), {"metadata_size"});
  }
  for (uint32_t ms : {8u, 64u}) {
    ExpectValid(With([ms](auto& c) { c.namespaces[0].metadata_size = ms; }));
  }
  ExpectValid(With([](auto& c) {
    c.namespaces[0].metadata_size = 16;
    c.namespaces[0].pi_64b_guard = true;
  }));
  ExpectInvalid(With([](auto& c) { c.namespaces[0].pi_type = 1; }), {"pi_type"});
  ExpectInvalid(With([](auto& c) {
                  c.namespaces[0].metadata_size = 8;
                  c.namespaces[0].pi_type = 4;
                }),
                {"pi_type"});
}

TEST(ConfigTest, NamespaceSizeMustBeANonZeroMultipleOfTheLbaSize) {
  ExpectInvalid(With([](auto& c) { c.namespaces[0].size_bytes = 0; }), {"size"});
  ExpectInvalid(With([](auto& c) { c.namespaces[0].size_bytes = 4096 + 511; }), {"size", "4607"});
  ExpectInvalid(With([](auto& c) {
                  c.namespaces[0].lba_size = 4096;
                  c.namespaces[0].size_bytes = 4096 * 3 + 512;
                }),
                {"size"});
  ExpectValid(With([](auto& c) { c.namespaces[0].size_bytes = 512; }));
}

TEST(ConfigTest, NamespaceErrorsNameTheNamespace) {
  ControllerConfig c;
  c.namespaces.assign(3, NamespaceConfig{});
  c.namespaces[2].lba_size = 2048;
  // Namespace 3 (NSID 3) is the bad one.
  ExpectInvalid(c, {"namespace 3", "lba_size"});
}

}  // namespace
}  // namespace nvemu
