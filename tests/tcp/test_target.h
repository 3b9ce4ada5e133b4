// Helpers for the NVMe/TCP tests: a target on ephemeral loopback ports, and driver options for it.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "nvemu/host/tcp_initiator.h"
#include "tcp/target.h"

namespace nvemu::tcp::testing {

inline constexpr char kSubnqn[] = "nqn.2026-11.dev.nvemu:test";
inline constexpr char kHostnqn[] =
    "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-0000000000aa";

// One subsystem with one 64 MiB RAM namespace (512-byte LBAs), ephemeral ports.
inline TargetConfig TestConfig() {
  TargetConfig c;
  c.address = "127.0.0.1";
  c.port = 0;
  c.discovery_port = 0;
  c.reactors = 2;
  SubsystemConfig s;
  s.nqn = kSubnqn;
  s.serial = "TCPTEST01";
  NamespaceConfig ns;
  ns.size_bytes = 64ull << 20;
  ns.lba_size = 512;
  s.namespaces = {ns};
  c.subsystems = {s};
  return c;
}

inline std::unique_ptr<Target> StartTarget(const TargetConfig& config = TestConfig()) {
  auto t = Target::Create(config);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  if (!t.ok()) return nullptr;
  auto r = t.value()->Start();
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return nullptr;
  return std::move(t.value());
}

inline host::TcpDriverOptions DriverOptions(const Target& t, const std::string& subnqn = kSubnqn) {
  host::TcpDriverOptions o;
  o.address = "127.0.0.1";
  o.port = t.port();
  o.subnqn = subnqn;
  o.hostnqn = kHostnqn;
  o.timeout = std::chrono::milliseconds(5000);
  return o;
}

// Polls `pred` until true or `ms` pass.
template <typename Pred>
bool WaitFor(Pred pred, int ms = 3000) {
  for (int i = 0; i < ms; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

inline Status StatusOf(const Cqe& cqe) { return Status::FromField(cqe.status_field()); }

// Get Log Page (NVMe Base 2.0, 5.16) of `len` bytes from `offset` with CDW14 `cdw14` (OT, CSI);
// the completion status, the data in `out`.
inline Status GetLogStatus(host::TcpDriver& d, uint8_t lid, uint32_t len, std::vector<uint8_t>* out,
                           uint64_t offset = 0, uint32_t cdw14 = 0) {
  out->assign(len, 0);
  Sqe s{};
  s.opc = 0x02;
  s.nsid = 0xffffffff;
  const uint32_t numd = len / 4 - 1;
  s.cdw10 = lid | (1u << 15) | (numd & 0xffff) << 16;  // RAE = 1: clears nothing
  s.cdw11 = numd >> 16;
  s.cdw12 = static_cast<uint32_t>(offset);
  s.cdw13 = static_cast<uint32_t>(offset >> 32);
  s.cdw14 = cdw14;
  auto c = d.Admin(s, {}, *out);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? StatusOf(c.value()) : sc::kInternalError;
}

// The LIDs whose LSUPP bit (bit 0 of their LID Supported and Effects dword) is set in a Supported
// Log Pages page (5.16.1.1); fails the test on any other bit set.
inline std::vector<unsigned> SupportedLids(const std::vector<uint8_t>& page) {
  std::vector<unsigned> lids;
  for (unsigned lid = 0; lid < 256 && (lid + 1) * 4 <= page.size(); ++lid) {
    uint32_t v;
    std::memcpy(&v, page.data() + lid * 4, 4);
    EXPECT_EQ(v & ~1u, 0u) << "IOS, reserved bits or LIDSP of LID " << lid;
    if (v & 1) lids.push_back(lid);
  }
  return lids;
}

}  // namespace nvemu::tcp::testing
