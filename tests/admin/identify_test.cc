// Identify (NVMe Base 2.0, 5.17): the fields a Linux host reads, and every CNS nvemu implements.
#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

uint64_t Lo64(const uint8_t (&v)[16]) {
  uint64_t x;
  std::memcpy(&x, v, 8);
  return x;
}

TEST_F(AdminTest, IdentifyControllerAdvertisesTheAdminCommandSet) {
  config().firmware_revision = "FW-1";
  Start();
  nvme_id_ctrl id = IdCtrl();
  EXPECT_EQ(id.cntlid, 0);
  EXPECT_EQ(std::string(id.fr, 8), "FW-1    ");
  // OACS: Format NVM, Firmware Download/Commit, Namespace Management, Device Self-test.
  EXPECT_EQ(id.oacs & 0x1e, 0x1e);
  EXPECT_EQ(id.oacs & 0x1, 0) << "no Security Send/Receive";
  EXPECT_EQ(id.acl, 3);
  EXPECT_EQ(id.aerl, 3);
  EXPECT_EQ(id.frmw, 0x1 | (3 << 1) | 0x10) << "slot 1 RO, 3 slots, activation without reset";
  EXPECT_EQ(id.lpa & 0x6, 0x6) << "effects log, extended data/LPO";
  EXPECT_EQ(id.elpe, 63);
  EXPECT_EQ(id.npss, 1);
  EXPECT_EQ(id.psd[0].mp, 2500);
  EXPECT_EQ(id.psd[1].mp, 1200);
  EXPECT_EQ(id.wctemp, 343);
  EXPECT_EQ(id.cctemp, 358);
  EXPECT_EQ(id.oaes, 0x300u) << "namespace attribute and firmware activation notices";
  EXPECT_EQ(id.oncs & 0x50, 0x50) << "Save/Select and Timestamp";
  EXPECT_EQ(Lo64(id.tnvmcap), 16ull << 20);
  EXPECT_EQ(Lo64(id.unvmcap), 0u);
  EXPECT_EQ(id.edstt, 10);
  EXPECT_EQ(id.dsto & 1, 1);
  EXPECT_EQ(id.fwug, 0xff);
  EXPECT_EQ(id.kas, 1);
  EXPECT_EQ(id.nn, 1u);
}

TEST_F(AdminTest, IdentifyNamespaceFieldsAndNsidRules) {
  Start();
  nvme_id_ns ns = IdNs(1);
  EXPECT_EQ(ns.nsze, (16ull << 20) / 512);
  EXPECT_EQ(ns.ncap, ns.nsze);
  EXPECT_EQ(ns.nuse, 0u) << "nothing written yet";
  uint64_t nvmcap;
  std::memcpy(&nvmcap, ns.nvmcap, 8);
  EXPECT_EQ(nvmcap, 16ull << 20);
  EXPECT_GE(ns.nlbaf, 1);
  EXPECT_EQ(ns.lbaf[ns.flbas & 0xf].ds, 9);
  DmaBuffer b = Alloc(8192);
  ASSERT_EQ(Io(op::kWrite, 1, 0, 16, &b, 8192), st::kSuccess);
  EXPECT_GT(IdNs(1).nuse, 0u) << "NUSE follows written blocks";
  // FFFFFFFFh: capabilities common to all namespaces (namespace management is supported).
  nvme_id_ns common = IdNs(0xffffffff);
  EXPECT_EQ(common.nsze, 0u);
  EXPECT_EQ(common.nlbaf, ns.nlbaf);
  std::vector<uint8_t> v;
  EXPECT_EQ(Identify(0, 0, &v), st::kInvalidNamespace);
  EXPECT_EQ(Identify(0, 2, &v), st::kInvalidNamespace) << "above NN";
  EXPECT_EQ(Identify(0x04, 0, &v), st::kInvalidField) << "CNS 04h is not supported";
}

TEST_F(AdminTest, IdentifyIndependentNamespaceAndLists) {
  config().max_namespaces = 4;
  config().nvm_capacity = 64ull << 20;
  Start();
  std::vector<uint8_t> v;
  ASSERT_EQ(Identify(0x08, 1, &v), st::kSuccess);
  auto ind = As<nvme_id_independent_id_ns>(v);
  EXPECT_EQ(ind.nstat & 1, 1) << "namespace ready";
  ASSERT_EQ(Identify(0x08, 3, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_id_independent_id_ns>(v).nstat, 0) << "inactive NSID: zeroes";

  // An allocated, unattached namespace: in CNS 10h/11h, not in 02h/00h.
  DmaBuffer data = Alloc(4096);
  nvme_id_ns create{};
  create.nsze = create.ncap = 1024;
  std::memcpy(data.ptr, &create, sizeof(create));
  Cqe c = Admin(Cmd(op::kNsMgmt, 0, 0), &data, 4096);
  ASSERT_EQ(Code(c), st::kSuccess);
  ASSERT_EQ(c.dw0, 2u);
  ASSERT_EQ(Identify(0x02, 0, &v), st::kSuccess);
  auto active = As<nvme_ns_list>(v);
  EXPECT_EQ(active.ns[0], 1u);
  EXPECT_EQ(active.ns[1], 0u);
  ASSERT_EQ(Identify(0x10, 0, &v), st::kSuccess);
  auto allocated = As<nvme_ns_list>(v);
  EXPECT_EQ(allocated.ns[0], 1u);
  EXPECT_EQ(allocated.ns[1], 2u);
  EXPECT_EQ(IdNs(2).nsze, 0u) << "CNS 00h: not attached";
  EXPECT_EQ(IdNs(2, 0x11).nsze, 1024u) << "CNS 11h: allocated";

  // Controller lists: CNS 13h (subsystem) and 12h (attached to NSID).
  ASSERT_EQ(Identify(0x13, 0, &v), st::kSuccess);
  auto all = As<nvme_ctrl_list>(v);
  EXPECT_EQ(all.num, 1);
  EXPECT_EQ(all.identifier[0], 0);
  ASSERT_EQ(Identify(0x12, 1, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_ctrl_list>(v).num, 1);
  ASSERT_EQ(Identify(0x12, 2, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_ctrl_list>(v).num, 0) << "namespace 2 is not attached";
  ASSERT_EQ(Identify(0x13, 0, &v, /*CNTID=*/1), st::kSuccess);
  EXPECT_EQ(As<nvme_ctrl_list>(v).num, 0) << "CNTID above every controller";

  // CNS 1Ch: the NVM command set combination.
  ASSERT_EQ(Identify(0x1c, 0, &v), st::kSuccess);
  EXPECT_EQ(As<nvme_id_iocs>(v).iocsc[0], 1u);
}

}  // namespace
}  // namespace nvemu::admin_test
