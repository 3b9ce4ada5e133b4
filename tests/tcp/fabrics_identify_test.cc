// What a fabrics (NVMe/TCP) controller's Identify and admin command set report where NVMe over
// Fabrics differs from PCIe (NVMe Base 2.0, Figure 275 and 5.11): no Doorbell Buffer Config, and
// the SGL support the NVMe/TCP transport uses.
#include <gtest/gtest.h>
#include <nvme/types.h>

#include <cstring>

#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;

// NVMe Base 2.0, 5.11: Doorbell Buffer Config exists only on memory-based (PCIe) controllers. A
// fabrics controller neither advertises it (OACS bit 8, Commands Supported and Effects) nor
// accepts it (Invalid Opcode, whatever its fields).
TEST(FabricsIdentify, NoDoorbellBufferConfig) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value().oacs & NVME_CTRL_OACS_DBBUF_CFG, 0);
  EXPECT_EQ(id.value().oacs & 0x1e, 0x1e) << "Format, Firmware, NS Management, Self-test stay";
  Sqe dbbuf{};
  dbbuf.opc = 0x7c;
  dbbuf.prp1 = 0x1000;
  dbbuf.prp2 = 0x2000;
  auto r = d.value()->Admin(dbbuf);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidOpcode)) << StatusOf(r.value()).ToString();
  auto log = d.value()->GetLogPage(0x05, 4096);
  ASSERT_TRUE(log.ok()) << log.error().message;
  nvme_cmd_effects_log effects;
  std::memcpy(&effects, log.value().data(), sizeof(effects));
  EXPECT_EQ(effects.acs[0x7c], 0u);
  EXPECT_EQ(effects.acs[0x06] & 1, 1u) << "Identify supported";
}

// SGLS (Figure 275): bits 1:0 = 01b (SGLs, no alignment), bit 20 (SGL Offset: in-capsule data)
// and bit 21 (Transport SGL Data Block: data by R2T/C2H, NVMe/TCP 1.0, 3.3); no Keyed SGLs (RDMA
// only), Bit Bucket or metadata SGLs. MSDBD 1, ICDOFF 0, IORCSZ 1 (the 16-byte CQE), IOCCSZ the
// SQE plus the in-capsule data; CNTRLTYPE I/O controller; multi-controller subsystem (CMIC bit 1).
TEST(FabricsIdentify, NvmeOverFabricsFields) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  const nvme_id_ctrl& c = id.value();
  EXPECT_EQ(c.sgls & 3u, 1u);
  EXPECT_TRUE(c.sgls & NVME_CTRL_SGLS_OFFSET);
  EXPECT_TRUE(c.sgls & NVME_CTRL_SGLS_TPORT);
  EXPECT_FALSE(c.sgls & NVME_CTRL_SGLS_KEYED);
  EXPECT_FALSE(c.sgls & NVME_CTRL_SGLS_BIT_BUCKET);
  EXPECT_FALSE(c.sgls & (NVME_CTRL_SGLS_MPTR_BYTE_ALIGNED | NVME_CTRL_SGLS_MPTR_SGL));
  EXPECT_EQ(c.msdbd, 1);
  EXPECT_EQ(c.icdoff, 0);
  EXPECT_EQ(c.iorcsz, 1u);
  EXPECT_EQ(c.ioccsz, (64u + t->core().config().in_capsule_data) / 16);
  EXPECT_GE(c.ioccsz, 4u) << "NVMe/TCP: at least the 64-byte SQE";
  EXPECT_EQ(c.cntrltype, NVME_CTRL_CNTRLTYPE_IO);
  EXPECT_TRUE(c.cmic & NVME_CTRL_CMIC_MULTI_CTRL);
  EXPECT_NE(c.kas, 0) << "keep alive is mandatory on fabrics";
}

}  // namespace
}  // namespace nvemu::tcp::testing
