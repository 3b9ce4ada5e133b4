// Persistence (issue #3): saved features, firmware slots and images, SMART counters (including
// unsafe shutdowns) and the namespace table survive a restart of a file-backed controller; the
// state file is written atomically and a corrupt one is refused.
#include <fstream>

#include "admin_fixture.h"
#include "core/admin/firmware.h"

namespace nvemu::admin_test {
namespace {

uint64_t Lo64(const uint8_t (&v)[16]) {
  uint64_t x;
  std::memcpy(&x, v, 8);
  return x;
}

class PersistenceTest : public AdminTest {
 protected:
  PersistenceTest() {
    NamespaceConfig& ns = config().namespaces[0];
    ns.backend = BackendKind::kFile;
    ns.data_path = dir_ / "ns1.img";
    ns.metadata_path = dir_ / "ns1.meta";
    config().max_namespaces = 4;
    config().nvm_capacity = 64ull << 20;
  }
  ~PersistenceTest() override { Stop(); }  // before dir_ goes
  void Restart() {
    Stop();
    Start();
  }
  std::string StatePath() const { return dir_ / "ns1.img.state.json"; }
  uint16_t FwDownload(const std::vector<uint8_t>& image) {
    DmaBuffer b = Alloc(64 * 1024);
    std::memcpy(b.ptr, image.data(), image.size());
    size_t len = (image.size() + 3) & ~size_t{3};
    return Status(Cmd(op::kFwDownload, 0, static_cast<uint32_t>(len / 4 - 1), 0), &b, len);
  }
  std::string Fr() {
    nvme_id_ctrl id = IdCtrl();
    std::string fr(id.fr, 8);
    return fr.substr(0, fr.find_last_not_of(' ') + 1);
  }

  TempDir dir_;
};

TEST_F(PersistenceTest, SavedFeaturesSurviveARestart) {
  Start();
  ASSERT_EQ(Code(SetFeature(0x01, 0x01020303, /*save=*/true)), st::kSuccess);
  ASSERT_EQ(Code(SetFeature(0x06, 0, /*save=*/true)), st::kSuccess);
  ASSERT_EQ(Code(SetFeature(0x04, 330 | (1u << 20), /*save=*/true)), st::kSuccess);
  ASSERT_EQ(Code(SetFeature(0x08, 0x0101)), st::kSuccess);  // not saved
  Restart();
  EXPECT_EQ(GetFeature(0x01).dw0, 0x01020303u);
  EXPECT_EQ(GetFeature(0x06).dw0, 0u);
  EXPECT_EQ(GetFeature(0x04, 0, 1u << 20).dw0 & 0xffff, 330u);
  EXPECT_EQ(GetFeature(0x04, 2, 1u << 20).dw0 & 0xffff, 330u) << "saved";
  EXPECT_EQ(GetFeature(0x08).dw0, 0u) << "not saved: default";
  EXPECT_FALSE(std::filesystem::exists(StatePath() + ".tmp")) << "temp file renamed";
}

TEST_F(PersistenceTest, FirmwareSlotsAndImagesSurviveARestart) {
  config().firmware_revision = "1.0";
  Start();
  ASSERT_EQ(FwDownload(BuildFirmwareImage("2.0", std::vector<uint8_t>(4000, 7))), st::kSuccess);
  ASSERT_EQ(Status(Cmd(op::kFwCommit, 0, 2 | 1 << 3)), st::kFwNeedsReset);
  ASSERT_EQ(FwDownload(BuildFirmwareImage("3.0", std::vector<uint8_t>(4000, 9))), st::kSuccess);
  ASSERT_EQ(Status(Cmd(op::kFwCommit, 0, 3 | 0 << 3)), st::kSuccess);
  Restart();  // a power cycle is a reset: the pending slot 2 becomes active
  EXPECT_EQ(Fr(), "2.0");
  auto log = Log<nvme_firmware_slot>(0x03);
  EXPECT_EQ(log.afi, 0x02);
  EXPECT_EQ(std::string(log.frs[2], 3), "3.0");
  auto images = ctrl().admin_state().firmware.slots;
  std::string rev;
  EXPECT_TRUE(ParseFirmwareImage(images[2].image, &rev)) << "the image bytes survived";
  EXPECT_EQ(rev, "3.0");
  ASSERT_EQ(Status(Cmd(op::kFwCommit, 0, 3 | 2 << 3)), st::kFwNeedsReset);
  Restart();
  EXPECT_EQ(Fr(), "3.0");
}

TEST_F(PersistenceTest, SmartCountersAndUnsafeShutdowns) {
  Start();
  DmaBuffer b = Alloc(64 * 1024);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  ASSERT_EQ(Io(op::kRead, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  std::vector<uint8_t> v;
  ASSERT_EQ(Identify(0x04, 0, &v), st::kInvalidField);  // one error log entry
  clock().Advance(3600ull * 1'000'000'000ull);
  ASSERT_TRUE(drv().Shutdown().ok());
  Restart();
  auto log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(Lo64(log.host_writes), 4u);
  EXPECT_EQ(Lo64(log.host_reads), 1u);
  EXPECT_EQ(Lo64(log.data_units_written), 1u);
  EXPECT_EQ(Lo64(log.power_on_hours), 1u);
  EXPECT_EQ(Lo64(log.power_cycles), 2u);
  EXPECT_EQ(Lo64(log.unsafe_shutdowns), 0u) << "CC.SHN before power-off";
  EXPECT_EQ(Lo64(log.num_err_log_entries), 1u);
  Restart();  // power-off without a shutdown
  log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(Lo64(log.unsafe_shutdowns), 1u);
  EXPECT_EQ(Lo64(log.power_cycles), 3u);
  EXPECT_EQ(Lo64(log.host_writes), 4u);
}

TEST_F(PersistenceTest, NamespaceTableSurvivesARestart) {
  Start();
  DmaBuffer b = Alloc(4096);
  nvme_id_ns create{};
  create.nsze = create.ncap = 2048;
  create.flbas = 1;
  std::memcpy(b.ptr, &create, sizeof(create));
  Cqe c = Admin(Cmd(op::kNsMgmt, 0, 0), &b, 4096);
  ASSERT_EQ(Code(c), st::kSuccess);
  ASSERT_EQ(c.dw0, 2u);
  nvme_ctrl_list list{};
  list.num = 1;
  std::memcpy(b.ptr, &list, sizeof(list));
  ASSERT_EQ(Status(Cmd(op::kNsAttach, 2, 0), &b, 4096), st::kSuccess);
  nvme_id_ns before = IdNs(2);
  std::memset(b.ptr, 0x77, 4096);
  ASSERT_EQ(Io(op::kWrite, 2, 9, 1, &b, 4096), st::kSuccess);
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, 1)), st::kSuccess);  // namespace 1 -> 4096-byte blocks
  ASSERT_TRUE(drv().Shutdown().ok());
  Restart();
  nvme_id_ns after = IdNs(2);
  EXPECT_EQ(after.nsze, 2048u);
  EXPECT_EQ(after.flbas & 0xf, 1);
  EXPECT_EQ(0, std::memcmp(after.nguid, before.nguid, 16)) << "identifiers are stable";
  EXPECT_EQ(0, std::memcmp(after.eui64, before.eui64, 8));
  b = Alloc(4096);  // the old buffer went with the old driver's DMA arena
  ASSERT_EQ(Io(op::kRead, 2, 9, 1, &b, 4096), st::kSuccess);
  EXPECT_EQ(b.ptr[4095], 0x77) << "data in the created namespace's image";
  EXPECT_EQ(IdNs(1).flbas & 0xf, 1) << "format survived";
  // Delete it: gone after a restart, its image files removed.
  ASSERT_EQ(Status(Cmd(op::kNsMgmt, 2, 1)), st::kSuccess);
  Restart();
  EXPECT_EQ(IdNs(2, 0x11).nsze, 0u);
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().string().find("-ns2-"), std::string::npos) << e.path();
  }
}

// Controller Busy Time, the composite temperature times and the data written behind Percentage
// Used are lifetime values (NVMe Base 2.0, Figure 207): they survive a restart.
TEST_F(PersistenceTest, SmartBusyTemperatureTimesAndWearSurviveARestart) {
  config().endurance_bytes = 1ull << 20;
  Start();
  DmaBuffer b = Alloc(64 * 1024);
  for (int i = 0; i < 8; ++i) ASSERT_EQ(Io(op::kWrite, 1, 0, 128, &b, 64 * 1024), st::kSuccess);
  const uint64_t min = 60'000'000'000ull;
  Health& h = ctrl().admin_state().health;
  h.busy().Enter(clock().NowNs());
  clock().Advance(2 * min + 1000);
  h.busy().Leave(clock().NowNs());
  h.set_temperature(360, clock().NowNs());
  clock().Advance(4 * min);
  h.set_temperature(350, clock().NowNs());
  clock().Advance(1 * min);
  ASSERT_TRUE(drv().Shutdown().ok());
  Restart();
  auto log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(log.percent_used, 50);
  EXPECT_EQ(Lo64(log.ctrl_busy_time), 2u);
  EXPECT_EQ(log.warning_temp_time, 5u);
  EXPECT_EQ(log.critical_comp_time, 4u);
  EXPECT_EQ(log.temp_sensor[0], Health::kDefaultTemperature) << "the model starts cool again";
  clock().Advance(10 * min);
  log = Log<nvme_smart_log>(0x02);
  EXPECT_EQ(log.warning_temp_time, 5u) << "not counted at 313 K";
}

// Namespace Attachment is per controller and part of the namespace table: a detached configured
// namespace and a created namespace attached to this controller survive a restart.
TEST_F(PersistenceTest, NamespaceAttachmentSurvivesARestart) {
  Start();
  const uint16_t cntlid = IdCtrl().cntlid;
  DmaBuffer b = Alloc(4096);
  nvme_id_ns create{};
  create.nsze = create.ncap = 1024;
  std::memcpy(b.ptr, &create, sizeof(create));
  ASSERT_EQ(Code(Admin(Cmd(op::kNsMgmt, 0, 0), &b, 4096)), st::kSuccess);
  nvme_ctrl_list list{};
  list.num = 1;
  list.identifier[0] = cntlid;
  std::memcpy(b.ptr, &list, sizeof(list));
  ASSERT_EQ(Status(Cmd(op::kNsAttach, 2, 0), &b, 4096), st::kSuccess);
  ASSERT_EQ(Status(Cmd(op::kNsAttach, 1, 1), &b, 4096), st::kSuccess);  // detach NSID 1
  Restart();
  std::vector<uint8_t> v;
  ASSERT_EQ(Identify(0x02, 0, &v), st::kSuccess);
  auto active = As<nvme_ns_list>(v);
  EXPECT_EQ(active.ns[0], 2u);
  EXPECT_EQ(active.ns[1], 0u);
  ASSERT_EQ(Identify(0x10, 0, &v), st::kSuccess);
  auto allocated = As<nvme_ns_list>(v);
  EXPECT_EQ(allocated.ns[0], 1u);
  EXPECT_EQ(allocated.ns[1], 2u);
  ASSERT_EQ(Identify(0x12, 1, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_ctrl_list>(v).num, 0u) << "NSID 1 attached to no controller";
  ASSERT_EQ(Identify(0x12, 2, &v), st::kSuccess);
  auto ctrls = As<nvme_ctrl_list>(v);
  EXPECT_EQ(ctrls.num, 1u);
  EXPECT_EQ(ctrls.identifier[0], cntlid);
  b = Alloc(4096);
  EXPECT_EQ(Io(op::kRead, 1, 0, 1, &b, 512), st::kInvalidNamespace);
  EXPECT_EQ(Io(op::kRead, 2, 0, 1, &b, 512), st::kSuccess);
  // Attach NSID 1 again: both active after the next restart.
  list.identifier[0] = cntlid;
  std::memcpy(b.ptr, &list, sizeof(list));
  ASSERT_EQ(Status(Cmd(op::kNsAttach, 1, 0), &b, 4096), st::kSuccess);
  Restart();
  ASSERT_EQ(Identify(0x02, 0, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_ns_list>(v).ns[0], 1u);
  EXPECT_EQ(As<nvme_ns_list>(v).ns[1], 2u);
}

TEST_F(PersistenceTest, CorruptStateFileIsRefused) {
  Start();
  Stop();
  std::ofstream(StatePath()) << "{ not json";
  auto d = PcieDriver::Create(options());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("state file"), std::string::npos) << d.error().message;
}

}  // namespace
}  // namespace nvemu::admin_test
