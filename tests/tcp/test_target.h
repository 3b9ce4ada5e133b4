// Helpers for the NVMe/TCP tests: a target on ephemeral loopback ports, and driver options for it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

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

}  // namespace nvemu::tcp::testing
