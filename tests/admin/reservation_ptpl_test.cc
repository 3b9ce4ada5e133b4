// Reservations and power loss (NVMe Base 2.0, 8.19.x Persist Through Power Loss; 7.3 Reservation
// Register CPTPL; 5.27.1.27 Reservation Persistence feature 83h): with PTPL on, registrants, the
// holder, the type and the generation survive a restart of a file-backed subsystem; with PTPL off
// they are gone. The feature's saved value sets PTPL at the next power-on. Format NVM leaves the
// reservations as they are.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

constexpr uint8_t kResvRegister = 0x0d, kResvReport = 0x0e, kResvAcquire = 0x11;
constexpr uint8_t kFidResvPersistence = 0x83;
constexpr uint16_t kReservationConflict = 0x083;
constexpr uint32_t kCptplOff = 2u << 30, kCptplOn = 3u << 30;

struct Report {
  uint32_t gen = 0;
  uint8_t rtype = 0;
  uint16_t regctl = 0;
  uint8_t ptpls = 0;
  uint16_t cntlid0 = 0;  // first registered controller: CNTLID, RCSTS, key
  uint8_t rcsts0 = 0;
  uint64_t key0 = 0;
};

class ReservationPtplTest : public AdminTest {
 protected:
  ReservationPtplTest() {
    NamespaceConfig& ns = config().namespaces[0];
    ns.backend = BackendKind::kFile;
    ns.data_path = dir_ / "ns1.img";
    ns.metadata_path = dir_ / "ns1.meta";
  }
  ~ReservationPtplTest() override { Stop(); }  // before dir_ goes
  void Restart() {
    Stop();
    Start();
  }

  uint16_t Resv(uint8_t opc, uint32_t cdw10, uint64_t k1, uint64_t k2 = 0) {
    DmaBuffer b = Alloc(4096);
    std::memcpy(b.ptr, &k1, 8);
    std::memcpy(b.ptr + 8, &k2, 8);
    Sqe s = Cmd(opc, 1, cdw10);
    auto c = IoQ()->Execute(s, std::chrono::seconds(5), &b, 16);
    EXPECT_TRUE(c.ok());
    return c.ok() ? Code(*c) : 0xffff;
  }
  Report GetReport() {
    DmaBuffer b = Alloc(4096);
    Sqe s = Cmd(kResvReport, 1, 4096 / 4 - 1, 1);  // EDS = 1
    auto c = IoQ()->Execute(s, std::chrono::seconds(5), &b, 4096);
    EXPECT_TRUE(c.ok() && Code(*c) == st::kSuccess);
    Report r;
    std::memcpy(&r.gen, b.ptr, 4);
    r.rtype = b.ptr[4];
    std::memcpy(&r.regctl, b.ptr + 5, 2);
    r.ptpls = b.ptr[9];
    std::memcpy(&r.cntlid0, b.ptr + 64, 2);
    r.rcsts0 = b.ptr[66];
    std::memcpy(&r.key0, b.ptr + 72, 8);
    return r;
  }
  Cqe GetPtpl(uint8_t sel = 0, uint32_t nsid = 1) {
    return Admin(Cmd(op::kGetFeatures, nsid, kFidResvPersistence | uint32_t{sel} << 8));
  }
  uint16_t WriteBlock() {
    DmaBuffer b = Alloc(512);
    return Io(op::kWrite, 1, 0, 1, &b, 512);
  }

  TempDir dir_;
};

TEST_F(ReservationPtplTest, IdentifyAdvertisesPtplAndFeatureCapabilities) {
  Start();
  EXPECT_EQ(IdNs(1).rescap, 0xff);
  EXPECT_EQ(GetPtpl(3).dw0, 0x7u) << "saveable, namespace specific, changeable";
  EXPECT_EQ(Code(GetPtpl()), st::kSuccess);
  EXPECT_EQ(GetPtpl().dw0, 0u) << "PTPL off by default";
  EXPECT_EQ(Code(GetPtpl(0, 0xffffffff)), st::kInvalidNamespace) << "Get needs one namespace";
  EXPECT_EQ(Code(GetPtpl(0, 7)), st::kInvalidNamespace);
  EXPECT_EQ(Resv(kResvRegister, 1u << 30, 0, 0xaa), st::kInvalidField) << "CPTPL 01b reserved";
}

TEST_F(ReservationPtplTest, PtplOnKeepsRegistrantsHolderAndTypeAcrossARestart) {
  Start();
  ASSERT_EQ(Resv(kResvRegister, kCptplOn, 0, 0xaa), st::kSuccess);  // register key AAh, PTPL on
  ASSERT_EQ(Resv(kResvAcquire, 1u << 8, 0xaa), st::kSuccess);       // Write Exclusive
  const Report before = GetReport();
  EXPECT_EQ(before.ptpls, 1);
  EXPECT_EQ(GetPtpl().dw0, 1u);
  Restart();
  const Report after = GetReport();
  EXPECT_EQ(after.ptpls, 1);
  EXPECT_EQ(after.rtype, 1);
  EXPECT_EQ(after.regctl, 1);
  EXPECT_EQ(after.gen, before.gen);
  EXPECT_EQ(after.cntlid0, before.cntlid0);
  EXPECT_EQ(after.rcsts0 & 1, 1) << "still the holder";
  EXPECT_EQ(after.key0, 0xaau);
  EXPECT_EQ(GetPtpl().dw0, 1u);
  EXPECT_EQ(WriteBlock(), st::kSuccess) << "the holder writes";
  // The key still guards the registration: a wrong current key conflicts.
  EXPECT_EQ(Resv(kResvRegister, 2, 0xbb, 0xcc), kReservationConflict);
  EXPECT_EQ(Resv(kResvRegister, 2, 0xaa, 0xcc), st::kSuccess);  // Replace AAh -> CCh
  Restart();
  EXPECT_EQ(GetReport().key0, 0xccu) << "changes after the restart persist too";
}

TEST_F(ReservationPtplTest, PtplOffClearsEverythingAtARestart) {
  Start();
  ASSERT_EQ(Resv(kResvRegister, 0, 0, 0xaa), st::kSuccess);
  ASSERT_EQ(Resv(kResvAcquire, 1u << 8, 0xaa), st::kSuccess);
  ASSERT_EQ(GetReport().regctl, 1);
  Restart();
  Report r = GetReport();
  EXPECT_EQ(r.regctl, 0);
  EXPECT_EQ(r.rtype, 0);
  EXPECT_EQ(r.ptpls, 0);
  // PTPL on, then off again (CPTPL 10b): the next restart clears.
  ASSERT_EQ(Resv(kResvRegister, kCptplOn, 0, 0xaa), st::kSuccess);
  ASSERT_EQ(Resv(kResvAcquire, 1u << 8, 0xaa), st::kSuccess);
  ASSERT_EQ(Resv(kResvRegister, kCptplOff, 0, 0xaa), st::kSuccess);  // same key: no change
  EXPECT_EQ(GetReport().ptpls, 0);
  Restart();
  r = GetReport();
  EXPECT_EQ(r.regctl, 0);
  EXPECT_EQ(r.rtype, 0);
}

TEST_F(ReservationPtplTest, FeatureSavedValueSetsPtplAtPowerOn) {
  Start();
  ASSERT_EQ(Code(SetFeature(kFidResvPersistence, 1, /*save=*/true, 1)), st::kSuccess);
  EXPECT_EQ(GetPtpl().dw0, 1u);
  EXPECT_EQ(GetPtpl(2).dw0, 1u) << "saved";
  EXPECT_EQ(GetPtpl(1).dw0, 0u) << "default";
  // PTPL off now (not saved): the registration made now is lost at the restart, and the saved
  // value turns PTPL on again.
  ASSERT_EQ(Resv(kResvRegister, kCptplOff, 0, 0xaa), st::kSuccess);
  EXPECT_EQ(GetPtpl().dw0, 0u);
  Restart();
  EXPECT_EQ(GetPtpl().dw0, 1u);
  EXPECT_EQ(GetPtpl(2).dw0, 1u);
  EXPECT_EQ(GetReport().regctl, 0);
  // Set without SV, to every namespace (NSID FFFFFFFFh).
  ASSERT_EQ(Code(SetFeature(kFidResvPersistence, 0, false, 0xffffffff)), st::kSuccess);
  EXPECT_EQ(GetPtpl().dw0, 0u);
  EXPECT_EQ(GetPtpl(2).dw0, 1u);
  EXPECT_EQ(Code(SetFeature(kFidResvPersistence, 1, false, 9)), st::kInvalidNamespace);
}

TEST_F(ReservationPtplTest, FormatLeavesReservationsUnchanged) {
  Start();
  ASSERT_EQ(Resv(kResvRegister, kCptplOn, 0, 0xaa), st::kSuccess);
  ASSERT_EQ(Resv(kResvAcquire, 1u << 8, 0xaa), st::kSuccess);
  const Report before = GetReport();
  ASSERT_EQ(Status(Cmd(op::kFormat, 1, 1 | 1u << 9)), st::kSuccess) << "LBAF 1, user data erase";
  Report r = GetReport();
  EXPECT_EQ(r.gen, before.gen);
  EXPECT_EQ(r.rtype, 1);
  EXPECT_EQ(r.regctl, 1);
  EXPECT_EQ(r.ptpls, 1);
  EXPECT_EQ(r.key0, 0xaau);
  Restart();  // and the reformatted namespace still persists them
  r = GetReport();
  EXPECT_EQ(r.rtype, 1);
  EXPECT_EQ(r.regctl, 1);
  EXPECT_EQ(IdNs(1).flbas & 0xf, 1);
}

}  // namespace
}  // namespace nvemu::admin_test
