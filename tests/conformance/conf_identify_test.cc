// Identify (NVMe Base 2.0, 5.17; NVM Command Set 1.0, 4.1.5): CNS 00h, 01h, 02h, 03h, 05h, 06h,
// field values against the configuration, NSID rules and data pointer handling.
#include "fixture.h"

namespace nvemu::conformance {
namespace {

class IdentifyTest : public ConformanceTest {
 protected:
  static DriverOptions ThreeNamespaces(const std::string& serial = "NVEMU0001") {
    DriverOptions o = SmallOptions();
    o.controller.serial = serial;
    NamespaceConfig a, b, c;
    a.size_bytes = 64ull << 20;
    b.size_bytes = 32ull << 20;
    b.lba_size = 4096;
    c.size_bytes = 8ull << 20;
    o.controller.namespaces = {a, b, c};
    return o;
  }

  // Runs Identify into a 4 KiB buffer pre-filled with 0xA5; returns the completion.
  Result<Cqe> Identify(const Sqe& sqe, std::vector<uint8_t>* out) {
    DmaBuffer b = Alloc(4096);
    std::memset(b.ptr, 0xa5, 4096);
    auto c = Admin(sqe, &b, 4096);
    out->assign(b.ptr, b.ptr + 4096);
    drv().dma().Free(b);
    return c;
  }

  template <typename T>
  T As(const std::vector<uint8_t>& v) {
    T t;
    static_assert(sizeof(T) <= 4096);
    std::memcpy(&t, v.data(), sizeof(T));
    return t;
  }
};

std::string Field(const char* p, size_t n) { return std::string(p, n); }
std::string Padded(const std::string& s, size_t n) { return s + std::string(n - s.size(), ' '); }
bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

// ---- CNS 01h: Identify Controller (5.17.2.2, Figure 275) ----

TEST_F(IdentifyTest, ControllerFieldsFollowConfiguration) {
  DriverOptions o = ThreeNamespaces("SN-0042");
  o.controller.vendor_id = 0x1b36;
  o.controller.subsystem_vendor_id = 0x1af4;
  o.controller.model = "conformance model";
  o.controller.firmware_revision = "1.2";
  o.controller.mdts = 5;
  o.controller.subnqn = "nqn.2026-11.dev.nvemu:conformance";
  ASSERT_TRUE(Start(o));
  std::vector<uint8_t> data;
  ASSERT_SUCCESS(Identify(IdentifyCmd(1), &data));
  auto id = As<nvme_id_ctrl>(data);
  EXPECT_EQ(id.vid, 0x1b36);
  EXPECT_EQ(id.ssvid, 0x1af4);
  EXPECT_EQ(Field(id.sn, 20), Padded("SN-0042", 20)) << "SN: ASCII, space padded";
  EXPECT_EQ(Field(id.mn, 40), Padded("conformance model", 40)) << "MN";
  EXPECT_EQ(Field(id.fr, 8), Padded("1.2", 8)) << "FR";
  EXPECT_EQ(id.mdts, 5);
  EXPECT_EQ(id.ver, 0x00020000u) << "VER matches VS";
  EXPECT_EQ(id.sqes, 0x66);
  EXPECT_EQ(id.cqes, 0x44);
  EXPECT_EQ(id.nn, 3u);
  EXPECT_EQ(id.vwc & 1, 1) << "VWC.Present";
  EXPECT_EQ((id.vwc >> 1) & 3, 3) << "VWC: Flush with NSID FFFFFFFFh supported";
  EXPECT_EQ(id.cntrltype, 1) << "I/O controller";
  EXPECT_EQ(std::string(id.subnqn, strnlen(id.subnqn, sizeof(id.subnqn))),
            "nqn.2026-11.dev.nvemu:conformance");
  EXPECT_EQ(id.subnqn[sizeof(id.subnqn) - 1], 0);
  // SGLS and FUSES must match what the I/O path does: conf_io_test.cc (SglDataPointer,
  // FusedOperations) checks both directions.
  // The library helper sees the same data.
  auto lib = drv().IdentifyController();
  ASSERT_OK(lib);
  EXPECT_EQ(std::memcmp(&*lib, data.data(), sizeof(nvme_id_ctrl)), 0);
}

// Optional commands advertised in Identify Controller (ONCS, OACS, Figure 275) must exist: a
// command whose bit is set must not fail with Invalid Command Opcode.
TEST_F(IdentifyTest, AdvertisedOptionalCommandsAreImplemented) {
  ASSERT_TRUE(Start());
  IoQueue* q = MakeQueue(1, 16);
  ASSERT_NE(q, nullptr);
  auto id = drv().IdentifyController();
  ASSERT_OK(id);
  struct Bit {
    int bit;
    uint8_t opc;
    const char* name;
  };
  const Bit oncs[] = {
      {0, 0x05, "Compare"},      {1, 0x04, "Write Uncorrectable"}, {2, 0x09, "Dataset Mgmt"},
      {3, 0x08, "Write Zeroes"}, {5, 0x0d, "Reservation Reg"},     {7, 0x0c, "Verify"},
      {8, 0x19, "Copy"}};
  for (const Bit& b : oncs) {
    if (((id->oncs >> b.bit) & 1) == 0) continue;
    auto c = Exec(q, Cmd(b.opc, 1));
    ASSERT_TRUE(c.ok()) << b.name;
    EXPECT_FALSE(StatusOf(*c).same_code(sc::kInvalidOpcode)) << "ONCS advertises " << b.name;
  }
  const Bit oacs[] = {{0, 0x82, "Security Receive"},  {1, 0x80, "Format NVM"},
                      {2, 0x11, "Firmware Download"}, {3, 0x0d, "Namespace Mgmt"},
                      {4, 0x14, "Device Self-test"},  {5, 0x1a, "Directive Receive"},
                      {8, 0x7c, "Doorbell Buffer"},   {9, 0x86, "Get LBA Status"}};
  for (const Bit& b : oacs) {
    if (((id->oacs >> b.bit) & 1) == 0) continue;
    auto c = Admin(Cmd(b.opc, 0));
    ASSERT_TRUE(c.ok()) << b.name;
    EXPECT_FALSE(StatusOf(*c).same_code(sc::kInvalidOpcode)) << "OACS advertises " << b.name;
  }
  // Commands without a bit that the controller does not support fail with Invalid Opcode,
  // so that a host can rely on ONCS alone.
  for (const Bit& b : oncs) {
    if ((id->oncs >> b.bit) & 1) continue;
    EXPECT_STATUS(Exec(q, Cmd(b.opc, 1)), sc::kInvalidOpcode) << b.name << " not advertised";
  }
}

TEST_F(IdentifyTest, ControllerMdtsZeroMeansNoLimit) {
  DriverOptions o = SmallOptions();
  o.controller.mdts = 0;
  ASSERT_TRUE(Start(o));
  auto id = drv().IdentifyController();
  ASSERT_OK(id);
  EXPECT_EQ(id->mdts, 0);
}

// ---- CNS 00h: Identify Namespace (NVM Command Set 1.0, 4.1.5.1) ----

TEST_F(IdentifyTest, NamespaceFieldsFollowConfiguration) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  struct Want {
    uint64_t nsze;
    uint8_t lbads;
  } want[3] = {{(64ull << 20) / 512, 9}, {(32ull << 20) / 4096, 12}, {(8ull << 20) / 512, 9}};
  std::vector<std::vector<uint8_t>> nguids, euis;
  for (uint32_t nsid = 1; nsid <= 3; ++nsid) {
    std::vector<uint8_t> data;
    ASSERT_SUCCESS(Identify(IdentifyCmd(0, nsid), &data));
    auto ns = As<nvme_id_ns>(data);
    const Want& w = want[nsid - 1];
    EXPECT_EQ(ns.nsze, w.nsze) << "NSZE nsid " << nsid;
    EXPECT_EQ(ns.ncap, w.nsze) << "NCAP nsid " << nsid;
    EXPECT_LE(ns.nuse, ns.ncap);
    uint8_t fmt = ns.flbas & 0xf;
    EXPECT_LE(fmt, ns.nlbaf) << "FLBAS selects an advertised format";
    EXPECT_EQ(ns.lbaf[fmt].ds, w.lbads) << "LBADS nsid " << nsid;
    EXPECT_EQ(ns.lbaf[fmt].ms, 0) << "no metadata";
    EXPECT_FALSE(AllZero(ns.nguid, 16)) << "NGUID nsid " << nsid;
    EXPECT_FALSE(AllZero(ns.eui64, 8)) << "EUI64 nsid " << nsid;
    nguids.emplace_back(ns.nguid, ns.nguid + 16);
    euis.emplace_back(ns.eui64, ns.eui64 + 8);
  }
  EXPECT_NE(nguids[0], nguids[1]);
  EXPECT_NE(nguids[1], nguids[2]);
  EXPECT_NE(euis[0], euis[1]);
  EXPECT_NE(euis[0], euis[2]);
}

TEST_F(IdentifyTest, NamespaceIdentifiersStableAcrossRestarts) {
  auto ids = [&](const std::string& serial, std::vector<uint8_t>* out) {
    ASSERT_TRUE(Start(ThreeNamespaces(serial)));
    for (uint32_t nsid = 1; nsid <= 3; ++nsid) {
      std::vector<uint8_t> data;
      ASSERT_SUCCESS(Identify(IdentifyCmd(0, nsid), &data));
      auto ns = As<nvme_id_ns>(data);
      out->insert(out->end(), ns.nguid, ns.nguid + 16);
      out->insert(out->end(), ns.eui64, ns.eui64 + 8);
    }
    drv_.reset();
  };
  std::vector<uint8_t> first, second, other;
  ASSERT_NO_FATAL_FAILURE(ids("SER-A", &first));
  ASSERT_NO_FATAL_FAILURE(ids("SER-A", &second));
  ASSERT_NO_FATAL_FAILURE(ids("SER-B", &other));
  EXPECT_EQ(first, second) << "same serial: same NGUID/EUI64";
  EXPECT_NE(first, other) << "different subsystem: different identifiers";
}

TEST_F(IdentifyTest, NamespaceInvalidNsid) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  std::vector<uint8_t> data;
  EXPECT_STATUS(Identify(IdentifyCmd(0, 0), &data), sc::kInvalidNamespaceOrFormat);
  EXPECT_STATUS(Identify(IdentifyCmd(0, 4), &data), sc::kInvalidNamespaceOrFormat);
  EXPECT_STATUS(Identify(IdentifyCmd(0, 0xfffffffe), &data), sc::kInvalidNamespaceOrFormat);
  auto ctrl = drv().IdentifyController();
  ASSERT_OK(ctrl);
  if ((ctrl->oacs & (1u << 3)) == 0) {
    // Without Namespace Management, NSID FFFFFFFFh is invalid for CNS 00h (5.17.2.1).
    EXPECT_STATUS(Identify(IdentifyCmd(0, 0xffffffff), &data), sc::kInvalidNamespaceOrFormat);
  }
}

// ---- CNS 02h: Active Namespace ID list (5.17.2.3) ----

TEST_F(IdentifyTest, ActiveNamespaceList) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  auto list = [&](uint32_t nsid) {
    std::vector<uint8_t> data;
    EXPECT_SUCCESS(Identify(IdentifyCmd(2, nsid), &data));
    std::vector<uint32_t> ids(1024);
    std::memcpy(ids.data(), data.data(), 4096);
    return ids;
  };
  std::vector<uint32_t> want(1024, 0);
  want[0] = 1;
  want[1] = 2;
  want[2] = 3;
  EXPECT_EQ(list(0), want) << "from NSID 0: every active NSID, ascending, zero filled";
  want = std::vector<uint32_t>(1024, 0);
  want[0] = 2;
  want[1] = 3;
  EXPECT_EQ(list(1), want) << "only NSIDs greater than CDW1.NSID";
  EXPECT_EQ(list(3), std::vector<uint32_t>(1024, 0));
  EXPECT_EQ(list(100), std::vector<uint32_t>(1024, 0));
}

TEST_F(IdentifyTest, ActiveNamespaceListReservedNsids) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  std::vector<uint8_t> data;
  EXPECT_STATUS(Identify(IdentifyCmd(2, 0xfffffffe), &data), sc::kInvalidNamespaceOrFormat);
  EXPECT_STATUS(Identify(IdentifyCmd(2, 0xffffffff), &data), sc::kInvalidNamespaceOrFormat);
}

// ---- CNS 03h: Namespace Identification Descriptor list (5.17.2.4, Figure 278) ----

TEST_F(IdentifyTest, NamespaceDescriptors) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  std::vector<uint8_t> nsdata, data;
  ASSERT_SUCCESS(Identify(IdentifyCmd(0, 1), &nsdata));
  auto ns = As<nvme_id_ns>(nsdata);
  ASSERT_SUCCESS(Identify(IdentifyCmd(3, 1), &data));
  std::map<uint8_t, std::vector<uint8_t>> found;
  size_t off = 0;
  while (off + 4 <= data.size() && data[off + 1] != 0) {
    uint8_t nidt = data[off], nidl = data[off + 1];
    ASSERT_LE(off + 4 + nidl, data.size());
    EXPECT_EQ(found.count(nidt), 0u) << "NIDT " << +nidt << " reported twice";
    found[nidt].assign(data.begin() + off + 4, data.begin() + off + 4 + nidl);
    off += 4 + nidl;
  }
  EXPECT_TRUE(AllZero(data.data() + off, data.size() - off)) << "the rest of the list is zero";
  ASSERT_EQ(found.count(NVME_NIDT_EUI64), 1u);
  EXPECT_EQ(found[NVME_NIDT_EUI64], std::vector<uint8_t>(ns.eui64, ns.eui64 + 8));
  ASSERT_EQ(found.count(NVME_NIDT_NGUID), 1u);
  EXPECT_EQ(found[NVME_NIDT_NGUID], std::vector<uint8_t>(ns.nguid, ns.nguid + 16));
  ASSERT_EQ(found.count(NVME_NIDT_UUID), 1u);
  ASSERT_EQ(found[NVME_NIDT_UUID].size(), 16u);
  EXPECT_FALSE(AllZero(found[NVME_NIDT_UUID].data(), 16));
  ASSERT_EQ(found.count(NVME_NIDT_CSI), 1u);
  EXPECT_EQ(found[NVME_NIDT_CSI], std::vector<uint8_t>{0}) << "CSI: NVM command set";
}

TEST_F(IdentifyTest, NamespaceDescriptorsInvalidNsid) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  std::vector<uint8_t> data;
  for (uint32_t nsid : {0u, 4u, 0xfffffffeu, 0xffffffffu}) {
    EXPECT_STATUS(Identify(IdentifyCmd(3, nsid), &data), sc::kInvalidNamespaceOrFormat)
        << std::hex << nsid;
  }
}

// ---- CNS 05h / 06h: I/O Command Set specific structures (NVM Command Set 1.0, 4.1.5) ----

TEST_F(IdentifyTest, CommandSetSpecificStructuresForNvm) {
  ASSERT_TRUE(Start(ThreeNamespaces()));
  std::vector<uint8_t> data;
  EXPECT_SUCCESS(Identify(IdentifyCmd(6, 0, /*csi=*/0), &data)) << "CNS 06h CSI 00h";
  EXPECT_SUCCESS(Identify(IdentifyCmd(5, 1, /*csi=*/0), &data)) << "CNS 05h CSI 00h";
  EXPECT_STATUS(Identify(IdentifyCmd(5, 4, /*csi=*/0), &data), sc::kInvalidNamespaceOrFormat);
  // Command sets the controller does not support (Key Value 01h, Zoned 02h).
  EXPECT_STATUS(Identify(IdentifyCmd(6, 0, 2), &data), sc::kInvalidField);
  EXPECT_STATUS(Identify(IdentifyCmd(5, 1, 1), &data), sc::kInvalidField);
}

TEST_F(IdentifyTest, UnknownCnsIsInvalidField) {
  ASSERT_TRUE(Start());
  std::vector<uint8_t> data;
  for (uint8_t cns : {0x04, 0x7f, 0xff}) {
    EXPECT_STATUS(Identify(IdentifyCmd(cns, 0), &data), sc::kInvalidField) << "CNS " << +cns;
  }
}

// ---- Data pointer (4.1.1 PRPs) ----

TEST_F(IdentifyTest, Prp1OffsetNeedsPrp2) {
  ASSERT_TRUE(Start());
  std::vector<uint8_t> aligned;
  ASSERT_SUCCESS(Identify(IdentifyCmd(1), &aligned));
  for (size_t offset : {size_t{0x800}, size_t{4}, size_t{0xffc}}) {
    DmaBuffer b = Alloc(8192);
    std::memset(b.ptr, 0x5a, 8192);
    // The library fills PRP1 = buffer + offset and PRP2 = the next page.
    auto cid = drv().admin_queue().Submit(IdentifyCmd(1), &b, 4096, offset);
    ASSERT_OK(cid);
    auto done = drv().admin_queue().Wait(*cid, kTimeout);
    ASSERT_SUCCESS(done);
    EXPECT_EQ(std::memcmp(b.ptr + offset, aligned.data(), 4096), 0) << "offset " << offset;
    for (size_t i = 0; i < offset; ++i) ASSERT_EQ(b.ptr[i], 0x5a) << "byte before the buffer";
    for (size_t i = offset + 4096; i < 8192; ++i) ASSERT_EQ(b.ptr[i], 0x5a) << "byte after";
    drv().dma().Free(b);
  }
}

TEST_F(IdentifyTest, Prp1OffsetWith8KiBPages) {
  DriverOptions o = SmallOptions();
  o.mps = 1;
  ASSERT_TRUE(Start(o));
  std::vector<uint8_t> aligned;
  ASSERT_SUCCESS(Identify(IdentifyCmd(1), &aligned));
  DmaBuffer b = Alloc(16384, 8192);
  // From offset 1800h 2 KiB fit in the first 8 KiB page; PRP2 carries the rest.
  auto cid = drv().admin_queue().Submit(IdentifyCmd(1), &b, 4096, 0x1800);
  ASSERT_OK(cid);
  ASSERT_SUCCESS(drv().admin_queue().Wait(*cid, kTimeout));
  EXPECT_EQ(std::memcmp(b.ptr + 0x1800, aligned.data(), 4096), 0);
}

TEST_F(IdentifyTest, Prp1OutsideHostMemoryIsDataTransferError) {
  ASSERT_TRUE(Start());
  Sqe s = IdentifyCmd(1);
  s.prp1 = 0x1000;  // below the host memory the driver exposes
  EXPECT_STATUS(Admin(s), sc::kDataTransferError);
  s.prp1 = drv().options().dma_base + drv().options().dma_bytes;  // just past its end
  EXPECT_STATUS(Admin(s), sc::kDataTransferError);
  // PRP1 valid, PRP2 outside host memory.
  DmaBuffer b = Alloc(4096);
  s.prp1 = b.addr + 0x800;
  s.prp2 = 0x2000;
  EXPECT_STATUS(Admin(s), sc::kDataTransferError);
  EXPECT_OK(drv().IdentifyController()) << "the controller keeps working";
}

}  // namespace
}  // namespace nvemu::conformance
