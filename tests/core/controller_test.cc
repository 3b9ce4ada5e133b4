// Tests of the transport-free Controller (src/core/controller.cc, src/core/admin/*,
// src/nvm/io_cmd.cc) driven through its register interface and Execute{Admin,Io}, with a fake
// FrontEnd and an in-memory DataChannel: NVMe Base 2.0, 3.1.3 (registers), 3.5-3.7 (enable,
// shutdown, resets), 5.15/5.17/5.27 (Get Features, Identify, Set Features); NVM Command
// Set 1.0, 3.2 (Flush, Read, Write).
#include "core/controller.h"

#include <gtest/gtest.h>
#include <nvme/types.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/subsystem.h"
#include "nvemu/backend.h"
#include "nvemu/clock.h"
#include "nvemu/config.h"
#include "nvm/namespace.h"
#include "spec/registers.h"

namespace nvemu {
// gtest prints Status values as text.
inline void PrintTo(const Status& s, std::ostream* os) { *os << s.ToString(); }

namespace {

// The controller logs every enable/reset at info level; keep test output readable.
const bool kQuietLogs = [] {
  spdlog::set_level(spdlog::level::err);
  return true;
}();

constexpr uint64_t kNsBytes = 1 << 20;  // 1 MiB namespaces: 2048 LBAs of 512 bytes
constexpr uint64_t kNsze = kNsBytes / 512;
constexpr uint64_t kAsq = 0x10000;
constexpr uint64_t kAcq = 0x20000;
constexpr uint32_t kAqa = 0x001f001f;  // 32-entry admin queues
// CC with EN=1, CSS=NVM, MPS=0, AMS=RR, IOSQES=6, IOCQES=4.
constexpr uint32_t kCcEnable = 1u | (6u << 16) | (4u << 20);
constexpr uint32_t kCcShnNormal = 1u << 14;
constexpr uint32_t kCcShnAbrupt = 2u << 14;

uint32_t CcMps(uint32_t mps) { return mps << 7; }
uint32_t CcCss(uint32_t css) { return css << 4; }
uint32_t CcAms(uint32_t ams) { return ams << 11; }
uint32_t Shst(uint32_t csts) { return (csts & reg::kCstsShstMask) >> reg::kCstsShstShift; }

// --- Test doubles
// ----------------------------------------------------------------------------------

class FakeFrontEnd final : public FrontEnd {
 public:
  Status EnableQueues() override {
    enable_calls++;
    return enable_status;
  }
  void DisableQueues() override { disable_calls++; }
  Status CreateIoCq(Request&) override {
    create_cq_calls++;
    return queue_status;
  }
  Status CreateIoSq(Request&) override {
    create_sq_calls++;
    return queue_status;
  }
  Status DeleteIoSq(Request&) override {
    delete_sq_calls++;
    return queue_status;
  }
  Status DeleteIoCq(Request&) override {
    delete_cq_calls++;
    return queue_status;
  }
  bool HasIoQueues() const override { return has_io_queues; }

  Status enable_status = Status::Success();
  Status queue_status = Status::Success();
  bool has_io_queues = false;
  int enable_calls = 0;
  int disable_calls = 0;
  int create_cq_calls = 0;
  int create_sq_calls = 0;
  int delete_sq_calls = 0;
  int delete_cq_calls = 0;
};

// A DataChannel over a plain buffer. Transfer() hands out `chunk` bytes at a time; `fail` (if set)
// is returned instead of moving anything, as a front end reports a bad data pointer.
class MemoryChannel final : public DataChannel {
 public:
  explicit MemoryChannel(size_t capacity, size_t chunk = 4096) : buf(capacity, 0), chunk_(chunk) {}

  Status Prepare(uint64_t length) override {
    prepares++;
    if (length > buf.size()) return sc::kInvalidField;
    length_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction dir, uint64_t offset, uint64_t len, Chunk chunk) override {
    if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
    if (fail) return *fail;
    directions.push_back(dir);
    for (uint64_t done = 0; done < len;) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk_, len - done));
      if (Status st = chunk(buf.data() + offset + done, offset + done, n); !st.ok()) return st;
      done += n;
      transferred += n;
    }
    return Status::Success();
  }

  std::vector<uint8_t> buf;
  std::optional<Status> fail;
  int prepares = 0;
  uint64_t transferred = 0;
  std::vector<Direction> directions;

 private:
  const size_t chunk_;
  uint64_t length_ = 0;
};

// A Backend that forwards to a RAM backend and counts flushes; errors can be injected.
class CountingBackend final : public Backend {
 public:
  explicit CountingBackend(uint64_t size) : inner_(MakeRamBackend(size, 0)) {}
  uint64_t Size() const override { return inner_->Size(); }
  uint64_t MetadataSize() const override { return inner_->MetadataSize(); }
  IoStatus Read(uint64_t off, void* dst, size_t len) override {
    if (read_errno) return IoStatus{read_errno};
    return inner_->Read(off, dst, len);
  }
  IoStatus Write(uint64_t off, const void* src, size_t len) override {
    writes++;
    return inner_->Write(off, src, len);
  }
  IoStatus ReadMetadata(uint64_t off, void* dst, size_t len) override {
    return inner_->ReadMetadata(off, dst, len);
  }
  IoStatus WriteMetadata(uint64_t off, const void* src, size_t len) override {
    return inner_->WriteMetadata(off, src, len);
  }
  IoStatus Flush() override {
    flushes++;
    return IoStatus{flush_errno};
  }
  uint64_t AllocatedBytes() const override { return inner_->AllocatedBytes(); }
  const char* Kind() const override { return "counting"; }

  std::atomic<int> flushes{0};
  std::atomic<int> writes{0};
  int read_errno = 0;
  int flush_errno = 0;

 private:
  std::unique_ptr<Backend> inner_;
};

ControllerConfig DefaultConfig() {
  ControllerConfig c;
  c.namespaces.assign(1, NamespaceConfig{});
  c.namespaces[0].size_bytes = kNsBytes;
  return c;
}

// --- Fixture -----------------------------------------------------------------------------------

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(DefaultConfig()); }

  // Builds a controller over `num_ns` namespaces of kNsBytes: NSID 1 through MakeNamespace (RAM)
  // unless `counting`, in which case all of them use CountingBackend.
  void Build(const ControllerConfig& config, int num_ns = 1, bool counting = false,
             uint16_t cntlid = 1) {
    ctrl_.reset();
    subsystem_.reset();
    backends_.clear();
    config_ = config;
    std::vector<std::unique_ptr<Namespace>> nss;
    for (int i = 0; i < num_ns; ++i) {
      const uint32_t nsid = static_cast<uint32_t>(i + 1);
      if (!counting && i == 0) {
        NamespaceConfig nc;
        nc.size_bytes = kNsBytes;
        auto ns = MakeNamespace(nsid, nc, config_.serial);
        ASSERT_TRUE(ns.ok()) << ns.error().message;
        nss.push_back(std::move(ns.value()));
        continue;
      }
      auto backend = std::make_unique<CountingBackend>(kNsBytes);
      backends_.push_back(backend.get());
      int lbaf = FindLbaFormat(512, 0);
      ASSERT_GE(lbaf, 0);
      nss.push_back(
          std::make_unique<Namespace>(nsid, static_cast<uint8_t>(lbaf), kNsze, std::move(backend)));
    }
    subsystem_ = std::make_unique<Subsystem>(config_.subnqn, std::move(nss));
    ctrl_ = std::make_unique<Controller>(config_, *subsystem_, cntlid, clock_);
    fe_ = FakeFrontEnd{};
    ctrl_->SetFrontEnd(&fe_);
  }

  Controller& ctrl() { return *ctrl_; }
  uint32_t Csts() { return static_cast<uint32_t>(ctrl_->ReadRegister(reg::kCsts, 4)); }
  uint32_t Cc() { return static_cast<uint32_t>(ctrl_->ReadRegister(reg::kCc, 4)); }
  void WriteCc(uint32_t v) { ctrl_->WriteRegister(reg::kCc, 4, v); }
  void ProgramAdminQueues(uint32_t aqa = kAqa, uint64_t asq = kAsq, uint64_t acq = kAcq) {
    ctrl_->WriteRegister(reg::kAqa, 4, aqa);
    ctrl_->WriteRegister(reg::kAsq, 8, asq);
    ctrl_->WriteRegister(reg::kAcq, 8, acq);
  }
  // Programs the admin queues and sets CC.EN; expects the controller to become ready.
  void Enable(uint32_t cc = kCcEnable) {
    ProgramAdminQueues();
    WriteCc(cc);
    ASSERT_TRUE(Csts() & reg::kCstsRdy) << "CSTS " << std::hex << Csts();
  }

  Status Admin(uint8_t opc, uint32_t nsid, uint32_t cdw10, uint32_t cdw11 = 0,
               DataChannel* data = nullptr, uint32_t* dw0 = nullptr, uint8_t flags = 0) {
    NoDataChannel none;
    Request req;
    req.sqe.opc = opc;
    req.sqe.flags = flags;
    req.sqe.nsid = nsid;
    req.sqe.cdw10 = cdw10;
    req.sqe.cdw11 = cdw11;
    req.data = data ? data : &none;
    Status st = ctrl_->ExecuteAdmin(req);
    if (dw0) *dw0 = req.dw0;
    return st;
  }
  Status Identify(uint8_t cns, uint32_t nsid, MemoryChannel& ch, uint32_t cdw11 = 0) {
    return Admin(0x06, nsid, cns, cdw11, &ch);
  }
  Status SetFeature(uint8_t fid, uint32_t cdw11, uint32_t* dw0 = nullptr, uint32_t nsid = 0,
                    bool save = false) {
    return Admin(0x09, nsid, fid | (save ? 1u << 31 : 0), cdw11, nullptr, dw0);
  }
  Status GetFeature(uint8_t fid, uint8_t sel, uint32_t* dw0, uint32_t nsid = 0) {
    return Admin(0x0a, nsid, fid | (uint32_t{sel} << 8), 0, nullptr, dw0);
  }

  Status Io(uint8_t opc, uint32_t nsid, uint64_t slba, uint32_t nlb0, DataChannel* data,
            bool fua = false, uint8_t flags = 0) {
    NoDataChannel none;
    Request req;
    req.sqe.opc = opc;
    req.sqe.flags = flags;
    req.sqe.nsid = nsid;
    req.sqe.cdw10 = static_cast<uint32_t>(slba);
    req.sqe.cdw11 = static_cast<uint32_t>(slba >> 32);
    req.sqe.cdw12 = (nlb0 & 0xffff) | (fua ? 1u << 30 : 0);
    req.data = data ? data : &none;
    return ctrl_->ExecuteIo(req);
  }

  ControllerConfig config_;
  ManualClock clock_;
  std::unique_ptr<Subsystem> subsystem_;
  std::unique_ptr<Controller> ctrl_;
  FakeFrontEnd fe_;
  std::vector<CountingBackend*> backends_;
};

// =================================================================================================
// CC.EN / CSTS.RDY (NVMe Base 2.0, 3.1.3.5, 3.1.3.6, 3.5.1)

TEST_F(ControllerTest, InitialState) {
  EXPECT_EQ(Csts(), 0u);
  EXPECT_EQ(Cc(), 0u);
  EXPECT_FALSE(ctrl().ready());
  EXPECT_EQ(ctrl().ReadRegister(reg::kVs, 4), reg::kVersion20);
  EXPECT_EQ(ctrl().ReadRegister(reg::kCap, 8), MakeCap(config_));
  EXPECT_EQ(ctrl().cntlid(), 1);
  EXPECT_GE(ctrl().nn(), 1u);  // NN may exceed the configured namespaces (inactive NSIDs)
  EXPECT_NE(ctrl().GetNamespace(1), nullptr);
  EXPECT_EQ(fe_.enable_calls, 0);
  EXPECT_EQ(fe_.disable_calls, 0);
}

TEST_F(ControllerTest, EnableCallsTheFrontEndAndSetsRdy) {
  ProgramAdminQueues();
  RegisterWrite w = ctrl().WriteRegister(reg::kCc, 4, kCcEnable);
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_EQ(Csts() & (reg::kCstsRdy | reg::kCstsCfs), reg::kCstsRdy);
  EXPECT_EQ(Shst(Csts()), reg::kShstNormal);
  EXPECT_TRUE(ctrl().ready());
  EXPECT_EQ(ctrl().page_size(), 4096u);
  EXPECT_EQ(ctrl().cc().v, kCcEnable);
  EXPECT_EQ(Cc(), kCcEnable);
  // Writing CC again with EN still 1 is not another enable.
  WriteCc(kCcEnable);
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_EQ(fe_.disable_calls, 0);
}

TEST_F(ControllerTest, EnableWithEightKiBPages) {
  ProgramAdminQueues(kAqa, 0x40000, 0x42000);
  WriteCc(kCcEnable | CcMps(1));
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_EQ(ctrl().page_size(), 8192u);
}

TEST_F(ControllerTest, EnableWithWeightedRoundRobin) {
  ProgramAdminQueues();
  WriteCc(kCcEnable | CcAms(reg::kAmsWrrUrgent));  // CAP.AMS advertises WRR with urgent
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_EQ(ctrl().cc().ams(), reg::kAmsWrrUrgent);
}

TEST_F(ControllerTest, DisableCallsTheFrontEndAndClearsRdy) {
  Enable();
  WriteCc(kCcEnable & ~1u);
  EXPECT_EQ(fe_.disable_calls, 1);
  EXPECT_EQ(Csts() & reg::kCstsRdy, 0u);
  EXPECT_FALSE(ctrl().ready());
  // The host's CC stays visible (with EN=0); the admin queue registers are kept (3.7.2).
  EXPECT_EQ(Cc(), kCcEnable & ~1u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAqa, 4), kAqa);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAsq, 8), kAsq);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAcq, 8), kAcq);
  // EN 0 -> 0 is no edge.
  WriteCc(0);
  EXPECT_EQ(fe_.disable_calls, 1);
  // And it can be enabled again.
  WriteCc(kCcEnable);
  EXPECT_EQ(fe_.enable_calls, 2);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
}

TEST_F(ControllerTest, MpsCannotChangeWhileEnabled) {
  Enable();
  WriteCc(kCcEnable | CcMps(1) | CcAms(1));  // 3.1.3.5: CSS/MPS/AMS only change while EN=0
  EXPECT_EQ(ctrl().cc().mps(), 0);
  EXPECT_EQ(ctrl().cc().ams(), 0);
  EXPECT_EQ(ctrl().page_size(), 4096u);
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_EQ(fe_.disable_calls, 0);
}

TEST_F(ControllerTest, EnableThroughAQwordWriteAtIntmc) {
  // An 8-byte write at 10h covers INTMC (low) and CC (high); the CC half still enables.
  ProgramAdminQueues();
  RegisterWrite w = ctrl().WriteRegister(reg::kIntmc, 8, uint64_t{kCcEnable} << 32);
  EXPECT_EQ(w.event, RegisterEvent::kCc);
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
}

TEST_F(ControllerTest, SubDwordCcWriteDoesNotEnable) {
  ProgramAdminQueues();
  ctrl().WriteRegister(reg::kCc, 1, 1);
  ctrl().WriteRegister(reg::kCc, 2, 1);
  EXPECT_EQ(fe_.enable_calls, 0);
  EXPECT_EQ(Csts(), 0u);
}

// --- ValidateEnable failures: RDY stays 0, CFS is set, the front end is not asked --------------

struct EnableCase {
  const char* name;
  uint32_t mpsmin, mpsmax;  // configuration
  uint32_t aqa;
  uint64_t asq, acq;
  uint32_t cc;
};

class ControllerEnableFailureTest : public ControllerTest,
                                    public ::testing::WithParamInterface<EnableCase> {};

TEST_P(ControllerEnableFailureTest, LeavesRdyClearAndSetsCfs) {
  const EnableCase& c = GetParam();
  ControllerConfig cfg = DefaultConfig();
  cfg.mpsmin = static_cast<uint8_t>(c.mpsmin);
  cfg.mpsmax = static_cast<uint8_t>(c.mpsmax);
  Build(cfg);
  ProgramAdminQueues(c.aqa, c.asq, c.acq);
  WriteCc(c.cc);
  const uint32_t csts = Csts();
  EXPECT_EQ(csts & reg::kCstsRdy, 0u) << c.name;
  EXPECT_EQ(csts & reg::kCstsCfs, reg::kCstsCfs) << c.name;
  EXPECT_FALSE(ctrl().ready());
  EXPECT_EQ(fe_.enable_calls, 0);
  // CC.EN 1 -> 0 clears CFS; a valid configuration then enables.
  WriteCc(0);
  EXPECT_EQ(Csts() & (reg::kCstsCfs | reg::kCstsRdy), 0u);
  ProgramAdminQueues(kAqa, 0x100000, 0x200000);
  WriteCc(kCcEnable | CcMps(c.mpsmin));
  EXPECT_EQ(Csts() & (reg::kCstsCfs | reg::kCstsRdy), reg::kCstsRdy);
  EXPECT_EQ(fe_.enable_calls, 1);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ControllerEnableFailureTest,
    ::testing::Values(
        EnableCase{"MpsAboveMpsmax", 0, 4, kAqa, kAsq, kAcq, kCcEnable | CcMps(5)},
        EnableCase{"MpsBelowMpsmin", 1, 4, kAqa, 0x40000, 0x80000, kCcEnable | CcMps(0)},
        EnableCase{"CssOne", 0, 4, kAqa, kAsq, kAcq, kCcEnable | CcCss(1)},
        EnableCase{"CssAllIoSets", 0, 4, kAqa, kAsq, kAcq, kCcEnable | CcCss(6)},
        EnableCase{"CssAdminOnly", 0, 4, kAqa, kAsq, kAcq, kCcEnable | CcCss(7)},
        EnableCase{"AmsReserved2", 0, 4, kAqa, kAsq, kAcq, kCcEnable | CcAms(2)},
        EnableCase{"AmsVendor7", 0, 4, kAqa, kAsq, kAcq, kCcEnable | CcAms(7)},
        EnableCase{"AsqsZero", 0, 4, 0x001f0000, kAsq, kAcq, kCcEnable},
        EnableCase{"AcqsZero", 0, 4, 0x0000001f, kAsq, kAcq, kCcEnable},
        EnableCase{"AsqZero", 0, 4, kAqa, 0, kAcq, kCcEnable},
        EnableCase{"AcqZero", 0, 4, kAqa, kAsq, 0, kCcEnable},
        EnableCase{"AsqNotAlignedFor8KiB", 0, 4, kAqa, 0x41000, 0x80000, kCcEnable | CcMps(1)},
        EnableCase{"AcqNotAlignedFor8KiB", 0, 4, kAqa, 0x40000, 0x81000, kCcEnable | CcMps(1)}),
    [](const ::testing::TestParamInfo<EnableCase>& info) { return std::string(info.param.name); });

TEST_F(ControllerTest, FrontEndEnableFailureSetsCfs) {
  fe_.enable_status = sc::kInternalError;
  ProgramAdminQueues();
  WriteCc(kCcEnable);
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_EQ(Csts() & (reg::kCstsRdy | reg::kCstsCfs), reg::kCstsCfs);
  EXPECT_FALSE(ctrl().ready());
  // Reset clears it; a working front end then enables.
  WriteCc(0);
  EXPECT_EQ(Csts() & reg::kCstsCfs, 0u);
  fe_.enable_status = Status::Success();
  WriteCc(kCcEnable);
  EXPECT_EQ(Csts() & (reg::kCstsRdy | reg::kCstsCfs), reg::kCstsRdy);
}

TEST_F(ControllerTest, EnableWithoutAFrontEndFails) {
  ctrl().SetFrontEnd(nullptr);
  ProgramAdminQueues();
  WriteCc(kCcEnable);
  EXPECT_EQ(Csts() & (reg::kCstsRdy | reg::kCstsCfs), reg::kCstsCfs);
}

// --- Controller reset (3.7.2)
// ----------------------------------------------------------------------

TEST_F(ControllerTest, DisableResetsAllocatedQueuesFeaturesAndCfs) {
  Enable();
  uint32_t dw0 = 0;
  ASSERT_EQ(SetFeature(0x07, (7u << 16) | 3u, &dw0), Status::Success());
  ASSERT_EQ(SetFeature(0x06, 0), Status::Success());
  EXPECT_EQ(ctrl().allocated_sqs(), 4u);
  EXPECT_EQ(ctrl().allocated_cqs(), 8u);
  EXPECT_FALSE(ctrl().volatile_write_cache());
  ctrl().SetFatal();
  ASSERT_TRUE(Csts() & reg::kCstsCfs);
  WriteCc(0);
  EXPECT_EQ(Csts() & (reg::kCstsCfs | reg::kCstsRdy), 0u);
  EXPECT_EQ(ctrl().allocated_sqs(), config_.max_io_queues);
  EXPECT_EQ(ctrl().allocated_cqs(), config_.max_io_queues);
  EXPECT_TRUE(ctrl().volatile_write_cache());
  // INTMS is reset as well.
  ctrl().WriteRegister(reg::kIntms, 4, 0x1);
  Enable();
  WriteCc(0);
  EXPECT_EQ(ctrl().ReadRegister(reg::kIntms, 4), 0u);
}

// --- Shutdown (3.6)
// --------------------------------------------------------------------------------

class ControllerShutdownTest : public ControllerTest,
                               public ::testing::WithParamInterface<uint32_t> {};

TEST_P(ControllerShutdownTest, ShutdownDisablesQueuesFlushesAndReportsComplete) {
  Build(DefaultConfig(), /*num_ns=*/2, /*counting=*/true);
  Enable();
  WriteCc(kCcEnable | GetParam());
  EXPECT_EQ(fe_.disable_calls, 1);
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
  for (CountingBackend* b : backends_) EXPECT_EQ(b->flushes.load(), 1);
  // Writing CC again with the same SHN is no new shutdown.
  WriteCc(kCcEnable | GetParam());
  EXPECT_EQ(fe_.disable_calls, 1);
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
  // A reset (EN 1 -> 0) brings the controller back to normal operation and it enables again.
  WriteCc(0);
  EXPECT_EQ(Shst(Csts()), reg::kShstNormal);
  EXPECT_EQ(Csts() & reg::kCstsRdy, 0u);
  WriteCc(kCcEnable);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_EQ(fe_.enable_calls, 2);
}

TEST_P(ControllerShutdownTest, EnableAfterShutdownWithoutResetIsIgnored) {
  Enable();
  WriteCc(kCcEnable | GetParam());
  ASSERT_EQ(Shst(Csts()), reg::kShstComplete);
  // Clearing SHN with EN still 1 is not a reset: no new enable, still shut down.
  WriteCc(kCcEnable);
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
}

TEST_P(ControllerShutdownTest, EnableAndShutdownInOneWriteDoesNotEnable) {
  // CC.EN 0 -> 1 together with SHN: the shutdown is processed first, and EN=1 after a shutdown
  // without a reset is ignored.
  ProgramAdminQueues();
  WriteCc(kCcEnable | GetParam());
  EXPECT_EQ(fe_.enable_calls, 0);
  EXPECT_EQ(Csts() & reg::kCstsRdy, 0u);
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
}

TEST_P(ControllerShutdownTest, DisableAndShutdownInOneWriteFlushes) {
  Build(DefaultConfig(), /*num_ns=*/1, /*counting=*/true);
  Enable();
  WriteCc(GetParam());  // EN 1 -> 0 and SHN at once
  for (CountingBackend* b : backends_) EXPECT_EQ(b->flushes.load(), 1);
  EXPECT_GE(fe_.disable_calls, 1);
  EXPECT_EQ(Csts() & reg::kCstsRdy, 0u);
  EXPECT_FALSE(ctrl().ready());
}

TEST_P(ControllerShutdownTest, ShutdownWithEnStopsAcceptingCommands) {
  Enable();
  ASSERT_TRUE(ctrl().ready());
  WriteCc(kCcEnable | GetParam());
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
  // 3.6.1: CSTS.RDY follows CC.EN (still 1), but nothing is accepted until a reset.
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_FALSE(ctrl().ready()) << "commands still accepted after a shutdown";
  WriteCc(0);
  EXPECT_FALSE(ctrl().ready());
  WriteCc(kCcEnable);
  EXPECT_TRUE(ctrl().ready());
}

TEST_P(ControllerShutdownTest, DisableAndShutdownInOneWriteReportsShutdownComplete) {
  Build(DefaultConfig(), /*num_ns=*/1, /*counting=*/true);
  Enable();
  WriteCc(GetParam());  // EN 1 -> 0 and SHN 00b -> 01b/10b at once
  // The host waits for SHST = 10b after such a write: the reset must not hide it.
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
  EXPECT_EQ(Csts() & reg::kCstsRdy, 0u);
  EXPECT_EQ(backends_[0]->flushes.load(), 1);
  EXPECT_FALSE(ctrl().ready());
  // EN=1 while SHN still asks for a shutdown: refused, still shut down.
  WriteCc(kCcEnable | GetParam());
  EXPECT_EQ(fe_.enable_calls, 1);
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
  EXPECT_EQ(Csts() & reg::kCstsRdy, 0u);
  // Clearing SHN while disabled ends the shutdown state; the controller enables again.
  WriteCc(0);
  EXPECT_EQ(Shst(Csts()), reg::kShstNormal);
  WriteCc(kCcEnable);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_EQ(fe_.enable_calls, 2);
}

TEST_P(ControllerShutdownTest, EnableWithShnClearedInOneWriteAfterCombinedShutdown) {
  Enable();
  WriteCc(GetParam());
  ASSERT_EQ(Shst(Csts()), reg::kShstComplete);
  WriteCc(kCcEnable);  // SHN 01b/10b -> 00b and EN 0 -> 1 at once
  EXPECT_EQ(Shst(Csts()), reg::kShstNormal);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
}

TEST_P(ControllerShutdownTest, ShutdownWhileDisabledFlushesAndReportsComplete) {
  Build(DefaultConfig(), /*num_ns=*/1, /*counting=*/true);
  ProgramAdminQueues();
  WriteCc(GetParam());
  EXPECT_EQ(Shst(Csts()), reg::kShstComplete);
  EXPECT_EQ(backends_[0]->flushes.load(), 1);
  WriteCc(0);
  EXPECT_EQ(Shst(Csts()), reg::kShstNormal);
  WriteCc(kCcEnable);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
}

TEST_P(ControllerShutdownTest, LinuxShutdownThenDisableSequence) {
  // Linux: nvme_disable_ctrl(shutdown=true) writes SHN=01b with EN=1 and waits for SHST=10b; a
  // later reset writes EN=0 with SHN cleared and waits for RDY=0.
  Enable();
  WriteCc(kCcEnable | GetParam());
  ASSERT_EQ(Shst(Csts()), reg::kShstComplete);
  WriteCc(kCcEnable & ~1u);
  EXPECT_EQ(Csts() & (reg::kCstsRdy | reg::kCstsShstMask), 0u);
  WriteCc(kCcEnable);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
}

INSTANTIATE_TEST_SUITE_P(Shn, ControllerShutdownTest, ::testing::Values(kCcShnNormal, kCcShnAbrupt),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return std::string(info.param == kCcShnNormal ? "Normal" : "Abrupt");
                         });

// --- FrontEnd contract: DisableQueues stops all I/O (core/front_end.h) --------------------------

// A data channel whose Transfer blocks until released, to hold an I/O command in flight.
class BlockingChannel final : public DataChannel {
 public:
  Status Prepare(uint64_t length) override {
    length_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction, uint64_t, uint64_t, Chunk) override {
    entered.store(true);
    while (!released.load()) std::this_thread::yield();
    return sc::kDataTransferError;
  }
  std::atomic<bool> entered{false};
  std::atomic<bool> released{false};

 private:
  uint64_t length_ = 0;
};

using ControllerDeathTest = ControllerTest;

TEST_F(ControllerDeathTest, DisableQueuesReturningWithIoInFlightIsCaught) {
#ifdef NDEBUG
  GTEST_SKIP() << "the FrontEnd contract check is compiled into debug builds only";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Enable();
  // FakeFrontEnd::DisableQueues returns at once, even with a command executing: a broken front end.
  EXPECT_DEATH(
      {
        BlockingChannel ch;
        std::thread io([&] { (void)Io(0x01, 1, 0, 0, &ch); });
        while (!ch.entered.load()) std::this_thread::yield();
        WriteCc(0);
        ch.released.store(true);
        io.join();
      },
      "DisableQueues returned with I/O in flight");
  // The same reset with no command executing is fine.
  WriteCc(0);
  EXPECT_EQ(fe_.disable_calls, 1);
#endif
}

// --- NVM Subsystem Reset (3.7.1) ---------------------------------------------------------------

TEST_F(ControllerTest, NssrSetsNssroAndResetsRegisters) {
  Enable();
  ctrl().WriteRegister(reg::kIntms, 4, 0x3);
  ASSERT_EQ(SetFeature(0x07, 0x00010001), Status::Success());
  RegisterWrite w = ctrl().WriteRegister(reg::kNssr, 4, reg::kNssrReset);
  EXPECT_EQ(w.event, RegisterEvent::kNssr);
  EXPECT_EQ(fe_.disable_calls, 1);
  EXPECT_FALSE(ctrl().ready());
  EXPECT_EQ(Csts(), reg::kCstsNssro);
  EXPECT_EQ(Cc(), 0u);
  EXPECT_EQ(ctrl().cc().v, 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAqa, 4), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAsq, 8), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAcq, 8), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kIntms, 4), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kCap, 8), MakeCap(config_));
  EXPECT_EQ(ctrl().ReadRegister(reg::kNssr, 4), 0u);
  EXPECT_EQ(ctrl().allocated_sqs(), config_.max_io_queues);
  // NSSRO is RW1C.
  ctrl().WriteRegister(reg::kCsts, 4, reg::kCstsNssro);
  EXPECT_EQ(Csts(), 0u);
  // The host brings it up again.
  Enable();
  EXPECT_EQ(fe_.enable_calls, 2);
}

TEST_F(ControllerTest, NssrKeepsNssroAcrossAControllerReset) {
  ctrl().WriteRegister(reg::kNssr, 4, reg::kNssrReset);
  ASSERT_EQ(Csts(), reg::kCstsNssro);
  Enable();
  EXPECT_EQ(Csts() & reg::kCstsNssro, reg::kCstsNssro);
  WriteCc(0);
  EXPECT_EQ(Csts(), reg::kCstsNssro);  // 3.7.2: a controller reset does not clear NSSRO
}

TEST_F(ControllerTest, NssrWithOtherValuesDoesNothing) {
  Enable();
  ctrl().WriteRegister(reg::kNssr, 4, 0x12345678);
  ctrl().WriteRegister(reg::kNssr, 4, 0);
  EXPECT_EQ(fe_.disable_calls, 0);
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_EQ(Csts() & reg::kCstsNssro, 0u);
}

// --- Fatal status, power-on reset, power off -----------------------------------------------------

TEST_F(ControllerTest, SetFatalMakesCfsReadOneUntilReset) {
  Enable();
  EXPECT_EQ(Csts() & reg::kCstsCfs, 0u);
  std::thread t([&] { ctrl().SetFatal(); });  // from another thread, as a reactor would
  t.join();
  EXPECT_EQ(Csts() & reg::kCstsCfs, reg::kCstsCfs);
  EXPECT_EQ(Csts() & reg::kCstsCfs, reg::kCstsCfs);  // sticky
  EXPECT_TRUE(Csts() & reg::kCstsRdy);
  WriteCc(0);
  EXPECT_EQ(Csts() & reg::kCstsCfs, 0u);
  Enable();
  EXPECT_EQ(Csts() & reg::kCstsCfs, 0u);
}

TEST_F(ControllerTest, SetFatalIsVisibleThroughAnyRegisterRead) {
  Enable();
  ctrl().SetFatal();
  (void)ctrl().ReadRegister(reg::kCap, 8);
  EXPECT_TRUE(ctrl().registers().csts() & reg::kCstsCfs);
  // The 8-byte read at 18h includes CSTS in its high half.
  EXPECT_TRUE((ctrl().ReadRegister(0x18, 8) >> 32) & reg::kCstsCfs);
}

TEST_F(ControllerTest, ResetToPowerOnRestoresResetValues) {
  ctrl().WriteRegister(reg::kNssr, 4, reg::kNssrReset);  // NSSRO set
  Enable();
  ctrl().WriteRegister(reg::kIntms, 4, 0xff);
  ctrl().ResetToPowerOn();
  EXPECT_FALSE(ctrl().ready());
  EXPECT_GE(fe_.disable_calls, 1);
  EXPECT_EQ(Csts(), 0u);
  EXPECT_EQ(Cc(), 0u);
  EXPECT_EQ(ctrl().cc().v, 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAqa, 4), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAsq, 8), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kAcq, 8), 0u);
  EXPECT_EQ(ctrl().ReadRegister(reg::kIntms, 4), 0u);
}

TEST_F(ControllerTest, PowerOffDisablesQueuesAndFlushes) {
  Build(DefaultConfig(), /*num_ns=*/2, /*counting=*/true);
  Enable();
  ctrl().PowerOff();
  EXPECT_EQ(fe_.disable_calls, 1);
  EXPECT_FALSE(ctrl().ready());
  for (CountingBackend* b : backends_) EXPECT_EQ(b->flushes.load(), 1);
}

// --- CAP (3.1.3.1)
// ---------------------------------------------------------------------------------

TEST(MakeCapTest, FieldsFollowTheConfiguration) {
  ControllerConfig c;
  c.mqes = 255;
  c.cqr = true;
  c.timeout_500ms = 30;
  c.dstrd = 3;
  c.mpsmin = 1;
  c.mpsmax = 5;
  reg::Cap cap{MakeCap(c)};
  EXPECT_EQ(cap.mqes(), 255);
  EXPECT_TRUE(cap.cqr());
  EXPECT_EQ(cap.ams(), reg::kCapAmsWrrUrgent);
  EXPECT_EQ(cap.to(), 30);
  EXPECT_EQ(cap.dstrd(), 3);
  EXPECT_TRUE(cap.nssrs());
  EXPECT_EQ(cap.css(), 0x01);  // NVM command set only
  EXPECT_EQ(cap.mpsmin(), 1);
  EXPECT_EQ(cap.mpsmax(), 5);
  // Reserved / unsupported fields are 0: bits 23:19 reserved, BPS (45), CMBS (57), PMRS (56),
  // CPS (47:46), NSSS (58), CRMS (60:59).
  const uint64_t v = MakeCap(c);
  EXPECT_EQ(v & (0x1full << 19), 0u);
  EXPECT_EQ(v & (1ull << 45), 0u);
  EXPECT_EQ(v & (0x3ull << 46), 0u);
  EXPECT_EQ(v >> 56, 0u);
}

TEST(MakeCapTest, Defaults) {
  ControllerConfig c;
  reg::Cap cap{MakeCap(c)};
  EXPECT_EQ(cap.mqes(), 1023);
  EXPECT_FALSE(cap.cqr());
  EXPECT_EQ(cap.to(), 20);
  EXPECT_EQ(cap.dstrd(), 0);
  EXPECT_EQ(cap.mpsmin(), 0);
  EXPECT_EQ(cap.mpsmax(), 4);
}

TEST_F(ControllerTest, MaxTransferBytesFollowsMdtsInUnitsOfMpsmin) {
  EXPECT_EQ(ctrl().max_transfer_bytes(), (1u << 7) * 4096u);
  ControllerConfig c = DefaultConfig();
  c.mdts = 5;
  c.mpsmin = 1;
  Build(c);
  EXPECT_EQ(ctrl().max_transfer_bytes(), (1u << 5) * 8192u);
  c.mdts = 0;  // no limit
  Build(c);
  EXPECT_EQ(ctrl().max_transfer_bytes(), 0u);
}

// =================================================================================================
// Admin command dispatch (NVMe Base 2.0, 5)

TEST_F(ControllerTest, UnknownAdminOpcodeIsInvalidOpcode) {
  for (uint8_t opc : {0x03, 0x07, 0x0b, 0x0e, 0x0f}) {
    EXPECT_EQ(Admin(opc, 0, 0), sc::kInvalidOpcode) << "opcode " << int(opc);
  }
}

TEST_F(ControllerTest, AdminCommandWithFuseIsInvalidField) {
  MemoryChannel ch(4096);
  uint32_t dw0 = 0;
  for (uint8_t fuse : {1, 2, 3}) {
    EXPECT_EQ(Admin(0x06, 0, 0x01, 0, &ch, &dw0, fuse), sc::kInvalidField) << int(fuse);
  }
  EXPECT_EQ(ch.transferred, 0u);
  // PSDT bits alone are not FUSE.
  EXPECT_EQ(Admin(0x06, 0, 0x01, 0, &ch, &dw0, 0x00), Status::Success());
}

TEST_F(ControllerTest, QueueCommandsGoToTheFrontEnd) {
  Enable();
  fe_.queue_status = sc::kInvalidQueueIdentifier;
  EXPECT_EQ(Admin(0x05, 0, 0x00010001), sc::kInvalidQueueIdentifier);
  EXPECT_EQ(Admin(0x01, 0, 0x00010001), sc::kInvalidQueueIdentifier);
  EXPECT_EQ(Admin(0x00, 0, 1), sc::kInvalidQueueIdentifier);
  EXPECT_EQ(Admin(0x04, 0, 1), sc::kInvalidQueueIdentifier);
  EXPECT_EQ(fe_.create_cq_calls, 1);
  EXPECT_EQ(fe_.create_sq_calls, 1);
  EXPECT_EQ(fe_.delete_sq_calls, 1);
  EXPECT_EQ(fe_.delete_cq_calls, 1);
}

TEST_F(ControllerTest, CreateQueuesNeedQueueEntrySizes) {
  // CC.IOCQES / IOSQES must be 4 / 6 before I/O queues are created.
  ProgramAdminQueues();
  WriteCc(1u);  // EN only
  ASSERT_TRUE(Csts() & reg::kCstsRdy);
  EXPECT_EQ(Admin(0x05, 0, 0x00010001), sc::kInvalidField);
  EXPECT_EQ(Admin(0x01, 0, 0x00010001), sc::kInvalidField);
  EXPECT_EQ(fe_.create_cq_calls, 0);
  EXPECT_EQ(fe_.create_sq_calls, 0);
}

// --- Identify (5.17)
// -------------------------------------------------------------------------------

std::string Ascii(const char* p, size_t n) { return std::string(p, n); }
std::string Padded(const std::string& s, size_t n) { return s + std::string(n - s.size(), ' '); }

TEST_F(ControllerTest, IdentifyController) {
  ControllerConfig c = DefaultConfig();
  c.serial = "SN-123";
  c.model = "Model X";
  c.firmware_revision = "1.2";
  c.vendor_id = 0x1b36;
  c.subsystem_vendor_id = 0x1af4;
  c.mdts = 6;
  c.subnqn = "nqn.2026-11.dev.nvemu:test";
  Build(c, /*num_ns=*/2, /*counting=*/false, /*cntlid=*/7);
  MemoryChannel ch(8192, /*chunk=*/512);
  ASSERT_EQ(Identify(0x01, 0, ch), Status::Success());
  EXPECT_EQ(ch.Length(), 4096u);
  EXPECT_EQ(ch.transferred, 4096u);
  ASSERT_EQ(ch.directions.size(), 1u);
  EXPECT_EQ(ch.directions[0], Direction::kToHost);
  nvme_id_ctrl id;
  std::memcpy(&id, ch.buf.data(), sizeof(id));
  EXPECT_EQ(id.vid, 0x1b36);
  EXPECT_EQ(id.ssvid, 0x1af4);
  EXPECT_EQ(Ascii(id.sn, sizeof(id.sn)), Padded("SN-123", 20));
  EXPECT_EQ(Ascii(id.mn, sizeof(id.mn)), Padded("Model X", 40));
  EXPECT_EQ(Ascii(id.fr, sizeof(id.fr)), Padded("1.2", 8));
  EXPECT_EQ(id.mdts, 6);
  EXPECT_EQ(id.cntlid, 7);
  EXPECT_EQ(id.ver, 0x00020000u);
  EXPECT_EQ(id.cntrltype, 1);  // I/O controller
  EXPECT_EQ(id.sqes, 0x66);
  EXPECT_EQ(id.cqes, 0x44);
  EXPECT_EQ(id.nn, ctrl().nn());
  EXPECT_GE(id.nn, 2u);
  EXPECT_EQ(id.vwc & 0x1, 0x1);       // volatile write cache present
  EXPECT_EQ((id.vwc >> 1) & 0x3, 3);  // Flush with NSID FFFFFFFFh supported
  EXPECT_STREQ(id.subnqn, "nqn.2026-11.dev.nvemu:test");
}

TEST_F(ControllerTest, IdentifyControllerFullLengthStrings) {
  ControllerConfig c = DefaultConfig();
  c.serial = std::string(20, 'S');
  c.model = std::string(40, 'M');
  c.firmware_revision = std::string(8, 'F');
  c.subnqn = std::string(223, 'q');
  Build(c);
  MemoryChannel ch(4096);
  ASSERT_EQ(Identify(0x01, 0, ch), Status::Success());
  nvme_id_ctrl id;
  std::memcpy(&id, ch.buf.data(), sizeof(id));
  EXPECT_EQ(Ascii(id.sn, 20), c.serial);
  EXPECT_EQ(Ascii(id.mn, 40), c.model);
  EXPECT_EQ(Ascii(id.fr, 8), c.firmware_revision);
  EXPECT_EQ(std::string(id.subnqn), c.subnqn);
}

TEST_F(ControllerTest, IdentifyNamespace) {
  MemoryChannel ch(4096);
  ASSERT_EQ(Identify(0x00, 1, ch), Status::Success());
  nvme_id_ns id;
  std::memcpy(&id, ch.buf.data(), sizeof(id));
  EXPECT_EQ(id.nsze, kNsze);
  EXPECT_EQ(id.ncap, kNsze);
  EXPECT_LE(id.nuse, kNsze);
  const uint8_t fmt = id.flbas & 0xf;
  EXPECT_LE(fmt, id.nlbaf);
  EXPECT_EQ(id.lbaf[fmt].ds, 9);  // 512-byte LBAs
  EXPECT_EQ(id.lbaf[fmt].ms, 0);
  Namespace* ns = ctrl().GetNamespace(1);
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(std::memcmp(id.nguid, ns->nguid().data(), 16), 0);
  EXPECT_EQ(std::memcmp(id.eui64, ns->eui64().data(), 8), 0);
  uint64_t cap_bytes = 0;
  std::memcpy(&cap_bytes, id.nvmcap, 8);
  EXPECT_EQ(cap_bytes, kNsBytes);
  // Stable identifiers are not all zero.
  EXPECT_NE(std::count(ns->nguid().begin(), ns->nguid().end(), 0), 16);
}

TEST_F(ControllerTest, IdentifyNamespaceInvalidNsid) {
  // (NSID FFFFFFFFh is left out: with Namespace Management it returns the common capabilities.)
  for (uint32_t nsid : {0u, ctrl().nn() + 1, 0xfffffffeu}) {
    MemoryChannel ch(4096);
    EXPECT_EQ(Identify(0x00, nsid, ch), sc::kInvalidNamespaceOrFormat) << nsid;
    EXPECT_EQ(ch.transferred, 0u);
  }
}

TEST_F(ControllerTest, IdentifyActiveNamespaceList) {
  Build(DefaultConfig(), /*num_ns=*/3);
  MemoryChannel ch(4096);
  ASSERT_EQ(Identify(0x02, 0, ch), Status::Success());
  uint32_t list[1024];
  std::memcpy(list, ch.buf.data(), sizeof(list));
  EXPECT_EQ(list[0], 1u);
  EXPECT_EQ(list[1], 2u);
  EXPECT_EQ(list[2], 3u);
  EXPECT_EQ(list[3], 0u);
  // NSIDs greater than CDW1.NSID only.
  ASSERT_EQ(Identify(0x02, 2, ch), Status::Success());
  std::memcpy(list, ch.buf.data(), sizeof(list));
  EXPECT_EQ(list[0], 3u);
  EXPECT_EQ(list[1], 0u);
  ASSERT_EQ(Identify(0x02, 3, ch), Status::Success());
  std::memcpy(list, ch.buf.data(), sizeof(list));
  EXPECT_EQ(list[0], 0u);
  EXPECT_EQ(Identify(0x02, 0xfffffffe, ch), sc::kInvalidNamespaceOrFormat);
  EXPECT_EQ(Identify(0x02, 0xffffffff, ch), sc::kInvalidNamespaceOrFormat);
}

TEST_F(ControllerTest, IdentifyNamespaceDescriptors) {
  MemoryChannel ch(4096);
  ASSERT_EQ(Identify(0x03, 1, ch), Status::Success());
  Namespace* ns = ctrl().GetNamespace(1);
  const uint8_t* p = ch.buf.data();
  // EUI64 (1, len 8), NGUID (2, len 16), UUID (3, len 16), CSI (4, len 1), then a zero NIDT.
  struct Expect {
    uint8_t nidt, nidl;
    const uint8_t* nid;
  };
  uint8_t csi = 0;
  const Expect expect[] = {{NVME_NIDT_EUI64, 8, ns->eui64().data()},
                           {NVME_NIDT_NGUID, 16, ns->nguid().data()},
                           {NVME_NIDT_UUID, 16, ns->uuid().data()},
                           {NVME_NIDT_CSI, 1, &csi}};
  size_t off = 0;
  for (const Expect& e : expect) {
    EXPECT_EQ(p[off], e.nidt);
    EXPECT_EQ(p[off + 1], e.nidl);
    EXPECT_EQ(std::memcmp(p + off + 4, e.nid, e.nidl), 0) << int(e.nidt);
    off += 4 + e.nidl;
  }
  EXPECT_EQ(p[off], 0);
  EXPECT_EQ(Identify(0x03, 0, ch), sc::kInvalidNamespaceOrFormat);
  EXPECT_EQ(Identify(0x03, ctrl().nn() + 1, ch), sc::kInvalidNamespaceOrFormat);
}

TEST_F(ControllerTest, IdentifyCommandSetSpecific) {
  MemoryChannel ch(4096);
  EXPECT_EQ(Identify(0x05, 1, ch, /*cdw11=CSI 0*/ 0), Status::Success());
  EXPECT_EQ(Identify(0x06, 0, ch, 0), Status::Success());
  // Other command sets (CSI in CDW11[31:24]) are not supported.
  EXPECT_EQ(Identify(0x05, 1, ch, 2u << 24), sc::kInvalidField);
  EXPECT_EQ(Identify(0x06, 0, ch, 2u << 24), sc::kInvalidField);
  EXPECT_EQ(Identify(0x05, 0, ch, 0), sc::kInvalidNamespaceOrFormat);
}

TEST_F(ControllerTest, IdentifyUnknownCnsIsInvalidField) {
  MemoryChannel ch(4096);
  EXPECT_EQ(Identify(0xff, 0, ch), sc::kInvalidField);
  EXPECT_EQ(ch.transferred, 0u);
}

TEST_F(ControllerTest, IdentifyReportsDataChannelErrors) {
  MemoryChannel ch(4096);
  ch.fail = sc::kDataTransferError;
  EXPECT_EQ(Identify(0x01, 0, ch), sc::kDataTransferError);
  MemoryChannel small(100);  // the data pointer cannot hold 4 KiB
  EXPECT_FALSE(Identify(0x01, 0, small).ok());
  EXPECT_EQ(small.transferred, 0u);
}

// --- Get / Set Features (5.15, 5.27) ------------------------------------------------------------

constexpr uint8_t kFidVwc = 0x06;
constexpr uint8_t kFidQueues = 0x07;

TEST_F(ControllerTest, NumberOfQueues) {
  uint32_t dw0 = 0;
  // Before Set Features: the current value is the maximum.
  ASSERT_EQ(GetFeature(kFidQueues, 0, &dw0), Status::Success());
  EXPECT_EQ(dw0, 63u | (63u << 16));
  ASSERT_EQ(SetFeature(kFidQueues, (7u << 16) | 3u, &dw0), Status::Success());
  EXPECT_EQ(dw0, 3u | (7u << 16));  // NSQA / NCQA, 0's based
  EXPECT_EQ(ctrl().allocated_sqs(), 4u);
  EXPECT_EQ(ctrl().allocated_cqs(), 8u);
  ASSERT_EQ(GetFeature(kFidQueues, 0, &dw0), Status::Success());
  EXPECT_EQ(dw0, 3u | (7u << 16));
  // More than supported: capped at max_io_queues.
  ASSERT_EQ(SetFeature(kFidQueues, (1000u << 16) | 0xfffeu, &dw0), Status::Success());
  EXPECT_EQ(dw0, 63u | (63u << 16));
}

TEST_F(ControllerTest, NumberOfQueues65535IsInvalidField) {
  uint32_t dw0 = 0;
  EXPECT_EQ(SetFeature(kFidQueues, 0x0000ffffu, &dw0), sc::kInvalidField);
  EXPECT_EQ(SetFeature(kFidQueues, 0xffff0000u, &dw0), sc::kInvalidField);
  EXPECT_EQ(ctrl().allocated_sqs(), config_.max_io_queues);
}

TEST_F(ControllerTest, NumberOfQueuesRefusedOnceIoQueuesExist) {
  fe_.has_io_queues = true;
  EXPECT_EQ(SetFeature(kFidQueues, 0x00010001), sc::kCommandSequenceError);
  EXPECT_EQ(ctrl().allocated_sqs(), config_.max_io_queues);
}

TEST_F(ControllerTest, GetFeaturesSelect) {
  uint32_t dw0 = 0;
  ASSERT_EQ(SetFeature(kFidQueues, 0x00020002), Status::Success());
  ASSERT_EQ(GetFeature(kFidQueues, /*SEL current*/ 0, &dw0), Status::Success());
  EXPECT_EQ(dw0, 0x00020002u);
  ASSERT_EQ(GetFeature(kFidQueues, /*SEL default*/ 1, &dw0), Status::Success());
  EXPECT_EQ(dw0, 63u | (63u << 16));
  // Not saveable: the saved value is the default (5.15.1).
  ASSERT_EQ(GetFeature(kFidQueues, /*SEL saved*/ 2, &dw0), Status::Success());
  EXPECT_EQ(dw0, 63u | (63u << 16));
  // Supported capabilities (Figure 194): changeable, not saveable, not namespace specific.
  ASSERT_EQ(GetFeature(kFidQueues, /*SEL capabilities*/ 3, &dw0), Status::Success());
  EXPECT_EQ(dw0 & 0x7, 0x4u);
  ASSERT_EQ(GetFeature(kFidVwc, 3, &dw0), Status::Success());
  EXPECT_EQ(dw0 & 0x6, 0x4u);  // changeable, not namespace specific (saveable or not)
  for (uint8_t sel : {4, 5, 6, 7}) {
    EXPECT_EQ(GetFeature(kFidQueues, sel, &dw0), sc::kInvalidField) << int(sel);
  }
}

TEST_F(ControllerTest, VolatileWriteCache) {
  uint32_t dw0 = 0xffffffff;
  ASSERT_EQ(GetFeature(kFidVwc, 0, &dw0), Status::Success());
  EXPECT_EQ(dw0, 1u);  // enabled by default
  ASSERT_EQ(SetFeature(kFidVwc, 0), Status::Success());
  EXPECT_FALSE(ctrl().volatile_write_cache());
  ASSERT_EQ(GetFeature(kFidVwc, 0, &dw0), Status::Success());
  EXPECT_EQ(dw0, 0u);
  ASSERT_EQ(GetFeature(kFidVwc, 1, &dw0), Status::Success());
  EXPECT_EQ(dw0, 1u);  // default
  ASSERT_EQ(SetFeature(kFidVwc, 1), Status::Success());
  ASSERT_EQ(GetFeature(kFidVwc, 0, &dw0), Status::Success());
  EXPECT_EQ(dw0, 1u);
  EXPECT_TRUE(ctrl().volatile_write_cache());
}

TEST_F(ControllerTest, SaveOfANonSaveableFeature) {
  // Number of Queues is not saveable (Get Features SEL=3 reports it): SV=1 is refused and nothing
  // is applied.
  uint32_t dw0 = 0;
  ASSERT_EQ(GetFeature(kFidQueues, 3, &dw0), Status::Success());
  ASSERT_EQ(dw0 & 0x1, 0u);
  EXPECT_EQ(SetFeature(kFidQueues, 0x00010001, &dw0, 0, /*save=*/true), sc::kFeatureIdNotSaveable);
  EXPECT_EQ(ctrl().allocated_sqs(), config_.max_io_queues);
}

TEST_F(ControllerTest, ControllerFeaturesRejectASpecificNamespace) {
  uint32_t dw0 = 0;
  EXPECT_EQ(SetFeature(kFidVwc, 0, &dw0, /*nsid=*/1), sc::kFeatureNotNamespaceSpecific);
  EXPECT_TRUE(ctrl().volatile_write_cache());
  EXPECT_EQ(SetFeature(kFidQueues, 0x00010001, &dw0, /*nsid=*/1), sc::kFeatureNotNamespaceSpecific);
  // NSID 0 and FFFFFFFFh address the controller.
  EXPECT_EQ(SetFeature(kFidVwc, 0, &dw0, 0xffffffff), Status::Success());
  EXPECT_FALSE(ctrl().volatile_write_cache());
}

TEST_F(ControllerTest, UnknownFeatureIsInvalidField) {
  uint32_t dw0 = 0;
  EXPECT_EQ(SetFeature(0x00, 0, &dw0), sc::kInvalidField);  // FID 00h is reserved
  EXPECT_EQ(GetFeature(0x00, 0, &dw0), sc::kInvalidField);
}

// =================================================================================================
// I/O commands (NVM Command Set 1.0, 3.2)

constexpr uint8_t kOpFlush = 0x00;
constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kOpRead = 0x02;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed + (i >> 9));
  return v;
}

TEST_F(ControllerTest, WriteThenRead) {
  MemoryChannel w(3 * 512, /*chunk=*/700);
  auto data = Pattern(3 * 512, 1);
  std::memcpy(w.buf.data(), data.data(), data.size());
  ASSERT_EQ(Io(kOpWrite, 1, 10, 2, &w), Status::Success());
  EXPECT_EQ(w.Length(), 3u * 512);
  ASSERT_EQ(w.directions.size(), 1u);
  EXPECT_EQ(w.directions[0], Direction::kFromHost);
  MemoryChannel r(3 * 512, /*chunk=*/512);
  ASSERT_EQ(Io(kOpRead, 1, 10, 2, &r), Status::Success());
  EXPECT_EQ(r.buf, data);
  EXPECT_EQ(r.directions[0], Direction::kToHost);
  // A read overlapping the written range at an offset.
  MemoryChannel r2(2 * 512);
  ASSERT_EQ(Io(kOpRead, 1, 11, 1, &r2), Status::Success());
  EXPECT_EQ(std::memcmp(r2.buf.data(), data.data() + 512, 1024), 0);
  // Unwritten blocks read as zeroes.
  MemoryChannel z(512);
  std::fill(z.buf.begin(), z.buf.end(), 0xaa);
  ASSERT_EQ(Io(kOpRead, 1, 500, 0, &z), Status::Success());
  EXPECT_EQ(std::count(z.buf.begin(), z.buf.end(), 0), 512);
}

TEST_F(ControllerTest, ReadWriteLastLbaAndOutOfRange) {
  MemoryChannel ch(4 * 512);
  EXPECT_EQ(Io(kOpWrite, 1, kNsze - 1, 0, &ch), Status::Success());
  EXPECT_EQ(Io(kOpRead, 1, kNsze - 4, 3, &ch), Status::Success());
  EXPECT_EQ(Io(kOpRead, 1, kNsze - 1, 1, &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(Io(kOpWrite, 1, kNsze, 0, &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(Io(kOpRead, 1, kNsze + 100, 0, &ch), sc::kLbaOutOfRange);
}

TEST_F(ControllerTest, LbaRangeOverflowIsOutOfRange) {
  MemoryChannel ch(4 * 512);
  EXPECT_EQ(Io(kOpRead, 1, UINT64_MAX, 1, &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(Io(kOpWrite, 1, UINT64_MAX - 1, 3, &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(Io(kOpWrite, 1, uint64_t{1} << 63, 0, &ch), sc::kLbaOutOfRange);
  EXPECT_EQ(ch.transferred, 0u);
}

TEST_F(ControllerTest, MdtsLimitsTheTransfer) {
  // mdts 7, MPSMIN 0: 512 KiB = 1024 LBAs of 512 bytes.
  ASSERT_EQ(ctrl().max_transfer_bytes(), 512u * 1024);
  MemoryChannel ch(513 * 1024);
  EXPECT_EQ(Io(kOpRead, 1, 0, 1023, &ch), Status::Success());
  EXPECT_EQ(Io(kOpRead, 1, 0, 1024, &ch), sc::kInvalidField);
  EXPECT_EQ(Io(kOpWrite, 1, 0, 1024, &ch), sc::kInvalidField);
  // No limit with MDTS 0 (the largest NLB, 65536 blocks, within a large enough namespace).
  ControllerConfig c = DefaultConfig();
  c.mdts = 0;
  Build(c);
  MemoryChannel big(2048 * 512);
  EXPECT_EQ(Io(kOpRead, 1, 0, 2047, &big), Status::Success());
}

TEST_F(ControllerTest, ReadInvalidNamespace) {
  MemoryChannel ch(512);
  for (uint32_t nsid : {0u, 2u, 0xffffffffu}) {
    EXPECT_EQ(Io(kOpRead, nsid, 0, 0, &ch), sc::kInvalidNamespaceOrFormat) << nsid;
    EXPECT_EQ(Io(kOpWrite, nsid, 0, 0, &ch), sc::kInvalidNamespaceOrFormat) << nsid;
  }
  EXPECT_EQ(ch.transferred, 0u);
}

TEST_F(ControllerTest, FlushOneNamespaceAndBroadcast) {
  Build(DefaultConfig(), /*num_ns=*/3, /*counting=*/true);
  ASSERT_EQ(backends_.size(), 3u);
  EXPECT_EQ(Io(kOpFlush, 2, 0, 0, nullptr), Status::Success());
  EXPECT_EQ(backends_[0]->flushes.load(), 0);
  EXPECT_EQ(backends_[1]->flushes.load(), 1);
  EXPECT_EQ(backends_[2]->flushes.load(), 0);
  // NSID FFFFFFFFh flushes every namespace (Identify VWC bits 2:1 = 11b).
  EXPECT_EQ(Io(kOpFlush, 0xffffffff, 0, 0, nullptr), Status::Success());
  EXPECT_EQ(backends_[0]->flushes.load(), 1);
  EXPECT_EQ(backends_[1]->flushes.load(), 2);
  EXPECT_EQ(backends_[2]->flushes.load(), 1);
  EXPECT_EQ(Io(kOpFlush, 0, 0, 0, nullptr), sc::kInvalidNamespaceOrFormat);
  EXPECT_EQ(Io(kOpFlush, 4, 0, 0, nullptr), sc::kInvalidNamespaceOrFormat);
}

TEST_F(ControllerTest, FlushErrorIsReported) {
  Build(DefaultConfig(), /*num_ns=*/2, /*counting=*/true);
  backends_[1]->flush_errno = EIO;
  EXPECT_FALSE(Io(kOpFlush, 2, 0, 0, nullptr).ok());
  EXPECT_FALSE(Io(kOpFlush, 0xffffffff, 0, 0, nullptr).ok());
  EXPECT_EQ(Io(kOpFlush, 1, 0, 0, nullptr), Status::Success());
}

TEST_F(ControllerTest, ForceUnitAccessFlushesTheWrite) {
  Build(DefaultConfig(), /*num_ns=*/1, /*counting=*/true);
  MemoryChannel ch(512);
  ASSERT_EQ(Io(kOpWrite, 1, 0, 0, &ch), Status::Success());
  EXPECT_EQ(backends_[0]->flushes.load(), 0);
  ASSERT_EQ(Io(kOpWrite, 1, 0, 0, &ch, /*fua=*/true), Status::Success());
  EXPECT_EQ(backends_[0]->flushes.load(), 1);
  EXPECT_EQ(backends_[0]->writes.load(), 2);
  // A failing flush fails the FUA write.
  backends_[0]->flush_errno = EIO;
  EXPECT_FALSE(Io(kOpWrite, 1, 0, 0, &ch, /*fua=*/true).ok());
  // A FUA read is a plain read.
  EXPECT_EQ(Io(kOpRead, 1, 0, 0, &ch, /*fua=*/true), Status::Success());
}

TEST_F(ControllerTest, BackendReadErrorIsReported) {
  Build(DefaultConfig(), /*num_ns=*/1, /*counting=*/true);
  backends_[0]->read_errno = EIO;
  MemoryChannel ch(512);
  Status st = Io(kOpRead, 1, 0, 0, &ch);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st, sc::kUnrecoveredReadError);
}

TEST_F(ControllerTest, DataTransferErrorIsReported) {
  Build(DefaultConfig(), /*num_ns=*/1, /*counting=*/true);
  MemoryChannel ch(1024);
  ch.fail = sc::kDataTransferError;
  EXPECT_EQ(Io(kOpWrite, 1, 0, 1, &ch), sc::kDataTransferError);
  EXPECT_EQ(backends_[0]->writes.load(), 0);
  EXPECT_EQ(Io(kOpRead, 1, 0, 1, &ch), sc::kDataTransferError);
  // A data pointer too small for NLB fails in Prepare.
  MemoryChannel small(512);
  EXPECT_FALSE(Io(kOpRead, 1, 0, 1, &small).ok());
}

TEST_F(ControllerTest, UnknownIoOpcodeIsInvalidOpcode) {
  MemoryChannel ch(512);
  for (uint8_t opc : {0x03, 0x07, 0xfe}) {
    EXPECT_EQ(Io(opc, 1, 0, 0, &ch), sc::kInvalidOpcode) << int(opc);
  }
}

// NVMe Base 2.0, 3.4.2: the only fused operation is Compare (FUSE 01b) + Write (FUSE 10b).
TEST_F(ControllerTest, FusedIoCommandErrors) {
  MemoryChannel ch(512);
  // A Read is never the first command of a fused operation.
  EXPECT_EQ(Io(kOpRead, 1, 0, 0, &ch, false, /*FUSE first*/ 0x01), sc::kInvalidField);
  // The second command after a failed first: Command Aborted due to Failed Fused Command.
  EXPECT_EQ(Io(kOpWrite, 1, 0, 0, &ch, false, /*FUSE second*/ 0x02), sc::kAbortFailedFused);
  // A second command without a first: Command Aborted due to Missing Fused Command.
  EXPECT_EQ(Io(kOpWrite, 1, 0, 0, &ch, false, /*FUSE second*/ 0x02), sc::kAbortMissingFused);
  // FUSE 11b is reserved.
  EXPECT_EQ(Io(kOpRead, 1, 0, 0, &ch, false, 0x03), sc::kInvalidField);
  EXPECT_EQ(ch.transferred, 0u);
}

// An NSID within 1..NN without a namespace is inactive (NVMe Base 2.0, 3.2.1.4).
TEST_F(ControllerTest, InactiveNamespace) {
  int lbaf = FindLbaFormat(512, 0);
  auto make_ns = [&](uint32_t nsid, std::unique_ptr<CountingBackend> b) {
    return std::make_unique<Namespace>(nsid, static_cast<uint8_t>(lbaf), kNsze, std::move(b));
  };
  // Subsystem builds its table either from vector positions (a null entry is an inactive NSID) or
  // from each namespace's NSID (with NN above the namespace count); probe which one.
  std::vector<std::unique_ptr<Namespace>> probe;
  probe.push_back(make_ns(1, std::make_unique<CountingBackend>(kNsBytes)));
  const bool placed_by_nsid = Subsystem("probe", std::move(probe)).nn() > 1;
  std::vector<std::unique_ptr<Namespace>> nss;
  nss.push_back(make_ns(1, std::make_unique<CountingBackend>(kNsBytes)));
  if (!placed_by_nsid) nss.push_back(nullptr);  // NSID 2 inactive
  auto third = std::make_unique<CountingBackend>(kNsBytes);
  CountingBackend* third_backend = third.get();
  nss.push_back(make_ns(3, std::move(third)));
  ctrl_.reset();
  subsystem_ = std::make_unique<Subsystem>(config_.subnqn, std::move(nss));
  ctrl_ = std::make_unique<Controller>(config_, *subsystem_, 1, clock_);
  ctrl_->SetFrontEnd(&fe_);
  EXPECT_GE(ctrl().nn(), 3u);
  // Identify Namespace of an inactive NSID: a zero-filled structure (5.17.2.1).
  MemoryChannel ch(4096);
  std::fill(ch.buf.begin(), ch.buf.end(), 0xaa);
  ASSERT_EQ(Identify(0x00, 2, ch), Status::Success());
  EXPECT_EQ(std::count(ch.buf.begin(), ch.buf.end(), 0), 4096);
  // The active list skips it.
  ASSERT_EQ(Identify(0x02, 0, ch), Status::Success());
  uint32_t list[3];
  std::memcpy(list, ch.buf.data(), sizeof(list));
  EXPECT_EQ(list[0], 1u);
  EXPECT_EQ(list[1], 3u);
  EXPECT_EQ(list[2], 0u);
  // I/O to it fails; a broadcast flush skips it.
  MemoryChannel io(512);
  EXPECT_EQ(Io(kOpRead, 2, 0, 0, &io), sc::kInvalidNamespaceOrFormat);
  EXPECT_EQ(Io(kOpWrite, 2, 0, 0, &io), sc::kInvalidNamespaceOrFormat);
  EXPECT_EQ(Io(kOpFlush, 2, 0, 0, nullptr), sc::kInvalidNamespaceOrFormat);
  EXPECT_EQ(Io(kOpFlush, 0xffffffff, 0, 0, nullptr), Status::Success());
  EXPECT_EQ(third_backend->flushes.load(), 1);
  EXPECT_EQ(Io(kOpWrite, 3, 0, 0, &io), Status::Success());
}

TEST_F(ControllerTest, IoWorksConcurrentlyFromSeveralThreads) {
  // ExecuteIo is lock-free and may run on several reactors at once: disjoint ranges per thread.
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const uint64_t slba = static_cast<uint64_t>(t) * 256 + (i % 32) * 8;
        MemoryChannel w(8 * 512);
        auto data = Pattern(8 * 512, static_cast<uint8_t>(t * 50 + i));
        std::memcpy(w.buf.data(), data.data(), data.size());
        if (!Io(kOpWrite, 1, slba, 7, &w).ok()) failures++;
        MemoryChannel r(8 * 512);
        if (!Io(kOpRead, 1, slba, 7, &r).ok() || r.buf != data) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace nvemu
