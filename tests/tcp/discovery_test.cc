// The Discovery controller (nqn.2014-08.org.nvmexpress.discovery): Identify (CNTRLTYPE 2, the
// fields the Linux host checks also for discovery), Discovery Log Page 70h read as libnvme 1.3
// reads it, LPO/NUMD windows, allowed-host filtering, reachability on both ports, IPv6 entries,
// Supported Log Pages (00h and 70h only).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/fabrics/fabrics.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

using host::TcpDriver;

host::TcpDriverOptions DiscoveryOptions(const Target& t, uint16_t port) {
  auto o = DriverOptions(t, fabrics::kDiscoveryNqn);
  o.port = port;
  o.kato_ms = 0;  // as `nvme discover` connects
  return o;
}

TEST(TcpDiscovery, IdentifySaysDiscoveryController) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->discovery_port()));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value().cntrltype, NVME_CTRL_CNTRLTYPE_DISCOVERY);
  EXPECT_STREQ(id.value().subnqn, fabrics::kDiscoveryNqn);
  EXPECT_EQ(id.value().sgls & 3, 1u);
  EXPECT_EQ(id.value().icdoff, 0);
  EXPECT_EQ(id.value().nn, 0u);
  EXPECT_EQ(id.value().cntlid, d.value()->cntlid());
  // Only the admin commands of NVMe Base 2.0 Figure 28: no optional admin or NVM commands, no
  // NVM capacity, no firmware slots.
  EXPECT_EQ(id.value().oacs, 0);
  EXPECT_EQ(id.value().oncs, 0);
  EXPECT_EQ(id.value().frmw, 0);
  EXPECT_EQ(id.value().tnvmcap[0], 0);
  EXPECT_EQ(id.value().lpa, 1u << 2);
  // Only CNS 01h exists on a discovery controller.
  EXPECT_FALSE(d.value()->IdentifyNamespace(1).ok());
}

TEST(TcpDiscovery, LogPageListsTheSubsystem) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->discovery_port()));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto entries = d.value()->DiscoveryEntries();
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  ASSERT_EQ(entries.value().size(), 1u);
  const nvmf_disc_log_entry& e = entries.value()[0];
  EXPECT_EQ(e.trtype, NVMF_TRTYPE_TCP);
  EXPECT_EQ(e.adrfam, NVMF_ADDR_FAMILY_IP4);
  EXPECT_EQ(e.subtype, NVME_NQN_NVME);
  EXPECT_EQ(e.treq & 3, 0);
  EXPECT_EQ(e.portid, 1);
  EXPECT_EQ(e.cntlid, 0xffff);
  EXPECT_GE(e.asqsz, 32);
  EXPECT_EQ(std::string(e.trsvcid), std::to_string(t->port()));
  EXPECT_EQ(std::string(e.traddr), "127.0.0.1");
  EXPECT_EQ(std::string(e.subnqn), kSubnqn);
  EXPECT_EQ(e.tsas.tcp.sectype, NVMF_TCP_SECTYPE_NONE);
  // The entry is usable: connect to what it names.
  auto o = DriverOptions(*t, e.subnqn);
  o.port = static_cast<uint16_t>(std::stoi(e.trsvcid));
  EXPECT_TRUE(TcpDriver::ConnectAndEnable(o).ok());
}

TEST(TcpDiscovery, HeaderAndWindows) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->discovery_port()));
  ASSERT_TRUE(d.ok());
  auto whole = d.value()->GetLogPage(fabrics::kLidDiscovery, 2048);
  ASSERT_TRUE(whole.ok());
  uint64_t genctr, numrec;
  uint16_t recfmt;
  std::memcpy(&genctr, whole.value().data(), 8);
  std::memcpy(&numrec, whole.value().data() + 8, 8);
  std::memcpy(&recfmt, whole.value().data() + 16, 2);
  EXPECT_NE(genctr, 0u);
  EXPECT_EQ(numrec, 1u);
  EXPECT_EQ(recfmt, 0);
  // A dword-aligned window in the middle of the entry.
  auto part = d.value()->GetLogPage(fabrics::kLidDiscovery, 512, 1024 + 256);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(
      std::equal(part.value().begin(), part.value().end(), whole.value().begin() + 1024 + 256));
  // Reading past the end returns zeroes.
  auto tail = d.value()->GetLogPage(fabrics::kLidDiscovery, 4096, 1024);
  ASSERT_TRUE(tail.ok());
  EXPECT_TRUE(
      std::equal(tail.value().begin(), tail.value().begin() + 1024, whole.value().begin() + 1024));
  EXPECT_TRUE(std::all_of(tail.value().begin() + 1024, tail.value().end(),
                          [](uint8_t b) { return b == 0; }));
  // GENCTR is stable while nothing changes.
  auto again = d.value()->GetLogPage(fabrics::kLidDiscovery, 1024);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(std::equal(again.value().begin(), again.value().begin() + 16, whole.value().begin()));
  // Unaligned and out-of-range offsets are Invalid Field.
  EXPECT_FALSE(d.value()->GetLogPage(fabrics::kLidDiscovery, 16, 2).ok());
  EXPECT_FALSE(d.value()->GetLogPage(fabrics::kLidDiscovery, 16, 1u << 20).ok());
  // Other log pages do not exist on a discovery controller.
  EXPECT_FALSE(d.value()->GetLogPage(0x02, 512).ok());
}

// NVMe Base 2.0, 5.16.1.1 on a discovery controller: it supports Get Log Page 00h and 70h and no
// other page; no index offsets (IOS = 0, OT = 1 is Invalid Field); no discovery LSP options
// (LIDSP = 0); LPA bit 5 (00h with 12h/13h) is not advertised.
TEST(TcpDiscovery, SupportedLogPagesAre00hAnd70h) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->discovery_port()));
  ASSERT_TRUE(d.ok());
  std::vector<uint8_t> page, out;
  ASSERT_TRUE(GetLogStatus(*d.value(), 0x00, 1024, &page).ok());
  EXPECT_EQ(SupportedLids(page), (std::vector<unsigned>{0x00, 0x70}));
  for (unsigned lid = 0; lid < 256; ++lid) {
    const bool listed = lid == 0x00 || lid == 0x70;
    Status st = GetLogStatus(*d.value(), static_cast<uint8_t>(lid), 16, &out);
    EXPECT_TRUE(listed ? st.ok() : st.same_code(sc::kInvalidLogPage))
        << lid << ": " << st.ToString();
  }
  EXPECT_TRUE(GetLogStatus(*d.value(), 0x70, 16, &out, 0, 1u << 23).same_code(sc::kInvalidField));
  EXPECT_TRUE(GetLogStatus(*d.value(), 0x00, 16, &out, 0, 1u << 23).same_code(sc::kInvalidField));
  // A window of the page; an offset past its end is Invalid Field.
  ASSERT_TRUE(GetLogStatus(*d.value(), 0x00, 8, &out, 0x70 * 4).ok());
  EXPECT_TRUE(std::equal(out.begin(), out.end(), page.begin() + 0x70 * 4));
  EXPECT_TRUE(GetLogStatus(*d.value(), 0x00, 4, &out, 1028).same_code(sc::kInvalidField));
  auto id = d.value()->IdentifyController();
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id.value().lpa & (1u << 5), 0u);
}

TEST(TcpDiscovery, EntriesFollowAllowedHosts) {
  TargetConfig cfg = TestConfig();
  SubsystemConfig secret = cfg.subsystems[0];
  secret.nqn = "nqn.2026-11.dev.nvemu:secret";
  secret.serial = "TCPTEST02";
  secret.allowed_hosts = {"nqn.2014-08.org.nvmexpress:uuid:vip"};
  cfg.subsystems.push_back(secret);
  auto t = StartTarget(cfg);
  ASSERT_TRUE(t);
  auto anyone = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->discovery_port()));
  ASSERT_TRUE(anyone.ok());
  auto e1 = anyone.value()->DiscoveryEntries();
  ASSERT_TRUE(e1.ok());
  ASSERT_EQ(e1.value().size(), 1u);
  EXPECT_EQ(std::string(e1.value()[0].subnqn), kSubnqn);
  auto o = DiscoveryOptions(*t, t->discovery_port());
  o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:vip";
  auto vip = TcpDriver::ConnectAndEnable(o);
  ASSERT_TRUE(vip.ok());
  auto e2 = vip.value()->DiscoveryEntries();
  ASSERT_TRUE(e2.ok());
  EXPECT_EQ(e2.value().size(), 2u);
}

TEST(TcpDiscovery, ReachableOnTheIoPortToo) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->port()));
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto entries = d.value()->DiscoveryEntries();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries.value().size(), 1u);
}

TEST(TcpDiscovery, NoIoQueuesOnADiscoveryController) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = TcpDriver::ConnectAndEnable(DiscoveryOptions(*t, t->discovery_port()));
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d.value()->ConnectIoQueue(1, 32).ok());
  Sqe s{};
  s.opc = 0x0d;  // Namespace Management: not a discovery command
  auto r = d.value()->Admin(s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidOpcode));
}

TEST(TcpDiscovery, Ipv6ListenerReportsAdrfam2) {
  TargetConfig cfg = TestConfig();
  cfg.address = "::1";
  auto t = Target::Create(cfg);
  ASSERT_TRUE(t.ok());
  auto started = t.value()->Start();
  if (!started.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << started.error().message;
  auto o = DiscoveryOptions(*t.value(), static_cast<uint16_t>(t.value()->discovery_port()));
  o.address = "::1";
  auto d = TcpDriver::ConnectAndEnable(o);
  ASSERT_TRUE(d.ok()) << d.error().message;
  auto entries = d.value()->DiscoveryEntries();
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries.value().size(), 1u);
  EXPECT_EQ(entries.value()[0].adrfam, NVMF_ADDR_FAMILY_IP6);
  EXPECT_EQ(std::string(entries.value()[0].traddr), "::1");
}

}  // namespace
}  // namespace nvemu::tcp::testing
