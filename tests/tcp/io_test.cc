// End to end through the userspace initiator: read/write round trips on I/O queues with in-capsule
// data and with R2T/H2CData (one and several R2Ts), C2HData, digests, SQ flow control disabled
// (C2HData SUCCESS), several queues and hosts at once, and end-to-end protection with extended
// LBAs (NVMe/TCP carries metadata only interleaved with the data).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "nvm/nvm_status.h"
#include "test_target.h"

namespace nvemu::tcp::testing {
namespace {

constexpr uint8_t kOpWrite = 0x01;
constexpr uint8_t kOpRead = 0x02;

std::vector<uint8_t> Pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  std::mt19937 g(seed);
  for (auto& b : v) b = static_cast<uint8_t>(g());
  return v;
}

struct Session {
  std::unique_ptr<Target> target;
  std::unique_ptr<host::TcpDriver> driver;
  host::TcpQueue* io = nullptr;
};

Session Open(TargetConfig config, host::TcpDriverOptions (*tweak)(host::TcpDriverOptions) = nullptr,
             uint16_t entries = 32) {
  Session s;
  s.target = StartTarget(config);
  if (!s.target) return s;
  auto o = DriverOptions(*s.target);
  if (tweak) o = tweak(o);
  auto d = host::TcpDriver::ConnectAndEnable(o);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  if (!d.ok()) return s;
  s.driver = std::move(d.value());
  auto n = s.driver->SetNumberOfQueues(4);
  EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
  auto q = s.driver->ConnectIoQueue(1, entries);
  EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().message);
  if (q.ok()) s.io = q.value();
  return s;
}

void WriteRead(host::TcpQueue& q, uint64_t slba, uint32_t nlb, uint32_t seed) {
  auto data = Pattern(nlb * 512ull, seed);
  auto w = q.Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 1, slba, nlb), data);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(StatusOf(w.value()).ok()) << StatusOf(w.value()).ToString();
  std::vector<uint8_t> back(data.size());
  auto r = q.Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, slba, nlb), {}, back);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(StatusOf(r.value()).ok()) << StatusOf(r.value()).ToString();
  EXPECT_EQ(back, data);
}

TEST(TcpIo, InCapsuleWriteAndRead) {
  Session s = Open(TestConfig());
  ASSERT_NE(s.io, nullptr);
  WriteRead(*s.io, 0, 8, 1);  // 4 KiB: fits the 8 KiB in-capsule limit
  EXPECT_EQ(s.io->r2ts(), 0u);
  EXPECT_EQ(s.io->c2h_pdus(), 1u);
}

TEST(TcpIo, LargeWriteUsesOneR2T) {
  Session s = Open(TestConfig());
  ASSERT_NE(s.io, nullptr);
  WriteRead(*s.io, 100, 128, 2);  // 64 KiB: beyond in-capsule
  EXPECT_EQ(s.io->r2ts(), 1u);
  EXPECT_EQ(s.io->h2c_pdus(), 1u);
}

TEST(TcpIo, R2TSequenceRespectsMaxR2TBytesAndMaxh2cdata) {
  TargetConfig cfg = TestConfig();
  cfg.max_r2t_bytes = 16 * 1024;
  cfg.maxh2cdata = 4096;
  Session s = Open(cfg);
  ASSERT_NE(s.io, nullptr);
  EXPECT_EQ(s.io->maxh2cdata(), 4096u);
  WriteRead(*s.io, 1000, 256, 3);  // 128 KiB: 8 R2Ts of 16 KiB, 4 H2CData PDUs each
  EXPECT_EQ(s.io->r2ts(), 8u);
  EXPECT_EQ(s.io->h2c_pdus(), 32u);
}

TEST(TcpIo, MaximumTransferAndBeyond) {
  Session s = Open(TestConfig());
  ASSERT_NE(s.io, nullptr);
  const uint32_t mdts_blocks = (512 * 1024) / 512;  // MDTS 7 = 512 KiB
  WriteRead(*s.io, 0, mdts_blocks, 4);
  std::vector<uint8_t> big((mdts_blocks + 8) * 512ull);
  auto r = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, 0, mdts_blocks + 8), {}, big);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(StatusOf(r.value()).ok());
}

TEST(TcpIo, CommandErrorsTravelAsStatus) {
  Session s = Open(TestConfig());
  ASSERT_NE(s.io, nullptr);
  std::vector<uint8_t> buf(4096);
  const uint64_t nsze = (64ull << 20) / 512;
  auto r = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, nsze - 4, 8), {}, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kLbaOutOfRange));
  r = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 9, 0, 8), {}, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidNamespaceOrFormat));
  // A write whose data goes by R2T but fails: the data is still taken, then the status returned.
  std::vector<uint8_t> big(64 * 1024);
  r = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 9, 0, 128), big);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kInvalidNamespaceOrFormat));
  // The SGL describes less data than the command moves.
  r = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, 0, 8), {},
                    std::span<uint8_t>(buf.data(), 2048));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).same_code(sc::kDataSglLengthInvalid));
  // Flush.
  Sqe flush{};
  flush.opc = 0x00;
  flush.nsid = 1;
  r = s.io->Execute(flush);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(r.value()).ok());
  WriteRead(*s.io, 8, 8, 5);  // the queue still works
}

host::TcpDriverOptions Digests(host::TcpDriverOptions o) {
  o.header_digest = true;
  o.data_digest = true;
  return o;
}

TEST(TcpIo, HeaderAndDataDigests) {
  TargetConfig cfg = TestConfig();
  cfg.max_r2t_bytes = 32 * 1024;
  Session s = Open(cfg, Digests);
  ASSERT_NE(s.io, nullptr);
  EXPECT_TRUE(s.io->header_digest());
  EXPECT_TRUE(s.io->data_digest());
  WriteRead(*s.io, 0, 8, 6);     // in-capsule with DDGST
  WriteRead(*s.io, 64, 256, 7);  // R2T sequence with DDGST on every H2CData
  auto id = s.driver->IdentifyController();
  EXPECT_TRUE(id.ok());
}

host::TcpDriverOptions NoSqFlow(host::TcpDriverOptions o) {
  o.disable_sq_flow = true;
  return o;
}

TEST(TcpIo, SqFlowControlDisabledUsesC2HSuccess) {
  Session s = Open(TestConfig(), NoSqFlow);
  ASSERT_NE(s.io, nullptr);
  auto data = Pattern(8192, 8);
  auto w = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 1, 0, 16), data);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.value().sqhd, 0xffff);
  std::vector<uint8_t> back(8192);
  auto r = s.io->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, 0, 16), {}, back);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(back, data);
  // The initiator synthesizes the CQE of a SUCCESS C2HData; a real CapsuleResp would carry SQID 1.
  EXPECT_EQ(r.value().sqid, 0);
  EXPECT_EQ(r.value().sqhd, 0xffff);
}

TEST(TcpIo, HostPduAlignmentPadsC2HData) {
  auto t = StartTarget();
  ASSERT_TRUE(t);
  auto d = host::TcpDriver::ConnectAndEnable(DriverOptions(*t));
  ASSERT_TRUE(d.ok());
  host::TcpQueueOptions qo;
  qo.hpda = 7;  // 32-byte aligned data
  auto q = host::TcpQueue::Open("127.0.0.1", t->port(), qo);
  ASSERT_TRUE(q.ok());
  auto c = host::FabricsConnect(*q.value(), DriverOptions(*t), 1, 31, d.value()->cntlid());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(StatusOf(c.value()).ok());
  WriteRead(*q.value(), 0, 16, 9);
}

TEST(TcpIo, ManyCommandsInFlight) {
  Session s = Open(TestConfig(), nullptr, 64);
  ASSERT_NE(s.io, nullptr);
  constexpr int kCmds = 48;
  std::vector<std::vector<uint8_t>> data(kCmds), back(kCmds);
  for (int i = 0; i < kCmds; ++i) {
    data[i] = Pattern((i % 2 ? 16 : 64) * 512, 100 + i);  // 8 KiB in-capsule, 32 KiB by R2T
    // Queued, then sent in batches of 8 with one sendmsg (Flush) as a host would.
    auto cid = s.io->Submit(
        host::TcpDriver::ReadWriteSqe(kOpWrite, 1, i * 64ull, data[i].size() / 512), data[i], {},
        /*send_now=*/false);
    if (i % 8 == 7) {
      ASSERT_TRUE(s.io->Flush().ok());
    }
    ASSERT_TRUE(cid.ok()) << cid.error().message;
  }
  size_t done = 0;
  while (done < kCmds) {
    auto p = s.io->Poll(std::chrono::milliseconds(2000));
    ASSERT_TRUE(p.ok()) << p.error().message;
    done += s.io->Reap([](const Cqe& c) { EXPECT_TRUE(StatusOf(c).ok()); });
  }
  for (int i = 0; i < kCmds; ++i) {
    back[i].resize(data[i].size());
    ASSERT_TRUE(
        s.io->Submit(host::TcpDriver::ReadWriteSqe(kOpRead, 1, i * 64ull, data[i].size() / 512), {},
                     back[i])
            .ok());
  }
  done = 0;
  while (done < kCmds) {
    auto p = s.io->Poll(std::chrono::milliseconds(2000));
    ASSERT_TRUE(p.ok()) << p.error().message;
    done += s.io->Reap([](const Cqe& c) { EXPECT_TRUE(StatusOf(c).ok()); });
  }
  for (int i = 0; i < kCmds; ++i) EXPECT_EQ(back[i], data[i]) << i;
}

// Several I/O queues of one controller (on different reactors) and several hosts, concurrently.
TEST(TcpIo, SeveralQueuesAndHostsAtOnce) {
  TargetConfig cfg = TestConfig();
  cfg.reactors = 3;
  auto t = StartTarget(cfg);
  ASSERT_TRUE(t);
  constexpr int kHosts = 2;
  constexpr int kQueues = 3;
  // Each (host, queue) writes and reads back kCommands extents 128 LBAs apart inside a range of
  // its own. The ranges must not overlap (40 x 128 LBAs span 5120, so a stride of 4096 let the end
  // of one thread's range race the start of the next's: an occasional data mismatch under load).
  constexpr int kCommands = 40;
  constexpr uint64_t kRangeLbas = 8192;
  static_assert(kCommands * 128 <= kRangeLbas);
  ASSERT_LE((kHosts * kQueues + 1) * kRangeLbas * 512, cfg.subsystems[0].namespaces[0].size_bytes);
  std::vector<std::unique_ptr<host::TcpDriver>> drivers;
  for (int h = 0; h < kHosts; ++h) {
    auto o = DriverOptions(*t);
    o.hostnqn = "nqn.2014-08.org.nvmexpress:uuid:host-" + std::to_string(h);
    auto d = host::TcpDriver::ConnectAndEnable(o);
    ASSERT_TRUE(d.ok()) << d.error().message;
    ASSERT_TRUE(d.value()->SetNumberOfQueues(kQueues).ok());
    for (int q = 1; q <= kQueues; ++q) {
      auto io = d.value()->ConnectIoQueue(q, 32);
      ASSERT_TRUE(io.ok()) << io.error().message;
    }
    drivers.push_back(std::move(d.value()));
  }
  EXPECT_EQ(t->controller_count(), 2u);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int h = 0; h < kHosts; ++h) {
    for (int q = 1; q <= kQueues; ++q) {
      threads.emplace_back([&, h, q] {
        host::TcpQueue& io = *drivers[h]->io_queue(q);
        const uint64_t base = (h * kQueues + q) * kRangeLbas;
        for (int i = 0; i < kCommands; ++i) {
          uint32_t nlb = (i % 3 == 0) ? 128 : 8;
          auto data = Pattern(nlb * 512ull, h * 1000 + q * 100 + i);
          auto w =
              io.Execute(host::TcpDriver::ReadWriteSqe(kOpWrite, 1, base + i * 128, nlb), data);
          std::vector<uint8_t> back(data.size());
          auto r =
              io.Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, base + i * 128, nlb), {}, back);
          if (!w.ok() || !r.ok() || !StatusOf(w.value()).ok() || !StatusOf(r.value()).ok() ||
              back != data) {
            ++failures;
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  // The two controllers share the namespace: host 1 reads what host 0 wrote.
  std::vector<uint8_t> a(4096), b(4096);
  ASSERT_TRUE(drivers[0]
                  ->io_queue(1)
                  ->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, kRangeLbas, 8), {}, a)
                  .ok());
  ASSERT_TRUE(drivers[1]
                  ->io_queue(2)
                  ->Execute(host::TcpDriver::ReadWriteSqe(kOpRead, 1, kRangeLbas, 8), {}, b)
                  .ok());
  EXPECT_EQ(a, b);
  EXPECT_TRUE(std::any_of(a.begin(), a.end(), [](uint8_t x) { return x != 0; }));
}

// A namespace of 512+8 extended LBAs with PI Type 1 (NVM Command Set 1.0, 5.2) over NVMe/TCP: a
// Write with PRACT = 1 carries 512 bytes per block and the controller generates the PI; a Read
// with PRACT = 0 returns 520 bytes per block with that PI (Reference Tag = the LBA, big-endian)
// and checks it (PRCHK); writing blocks back with a corrupted data byte or a wrong Reference Tag
// fails with Guard Check Error / Reference Tag Check Error, and nothing of that write lands.
TEST(TcpIo, ProtectionInformationWithExtendedLbas) {
  TargetConfig c = TestConfig();
  NamespaceConfig& ns = c.subsystems[0].namespaces[0];
  ns.size_bytes = 4ull << 20;
  ns.metadata_size = 8;
  ns.extended_lba = true;
  ns.pi_type = 1;
  Session s = Open(c);
  ASSERT_NE(s.io, nullptr);
  constexpr uint64_t kSlba = 100;
  constexpr uint32_t kNlb = 4;
  auto rw = [](uint8_t opc, bool pract, uint8_t prchk, uint32_t ilbrt, uint64_t slba) {
    Sqe q = host::TcpDriver::ReadWriteSqe(opc, 1, slba, kNlb);
    q.cdw12 |= (uint32_t{pract} << 29) | (uint32_t{prchk} << 26);
    q.cdw14 = ilbrt;  // Initial Logical Block Reference Tag (Type 1: the SLBA's low 32 bits)
    return q;
  };
  const auto data = Pattern(kNlb * 512, 7);
  auto w = s.io->Execute(rw(kOpWrite, true, 0x7, kSlba, kSlba), data);
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(StatusOf(*w).ok()) << StatusOf(*w).ToString();
  std::vector<uint8_t> ext(kNlb * 520);
  auto r = s.io->Execute(rw(kOpRead, false, 0x7, kSlba, kSlba), {}, ext);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(StatusOf(*r).ok()) << StatusOf(*r).ToString();
  for (uint32_t i = 0; i < kNlb; ++i) {
    EXPECT_EQ(std::memcmp(&ext[i * 520], &data[i * 512], 512), 0) << "block " << i;
    const uint8_t* pi = &ext[i * 520 + 512];
    const uint32_t ref =
        (uint32_t{pi[4]} << 24) | (uint32_t{pi[5]} << 16) | (uint32_t{pi[6]} << 8) | pi[7];
    EXPECT_EQ(ref, kSlba + i) << "block " << i;
  }
  // PRACT = 1 on a Read strips the PI: 512 bytes per block.
  std::vector<uint8_t> plain(kNlb * 512);
  r = s.io->Execute(rw(kOpRead, true, 0x7, kSlba, kSlba), {}, plain);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(*r).ok()) << StatusOf(*r).ToString();
  EXPECT_EQ(plain, data);
  // The host's PI is checked on a Write (PRACT = 0).
  std::vector<uint8_t> bad = ext;
  bad[2 * 520 + 17] ^= 0x40;  // block 2's data no longer matches its Guard
  w = s.io->Execute(rw(kOpWrite, false, 0x4, kSlba, kSlba), bad);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(StatusOf(*w).same_code(nvm_sc::kGuardCheckError)) << StatusOf(*w).ToString();
  // The blocks' tags say 100.., written at LBA 101: Reference Tag Check Error.
  w = s.io->Execute(rw(kOpWrite, false, 0x1, kSlba + 1, kSlba + 1), ext);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(StatusOf(*w).same_code(nvm_sc::kReferenceTagCheckError)) << StatusOf(*w).ToString();
  // Type 1 with reference tag checking needs ILBRT = the SLBA's low 32 bits.
  w = s.io->Execute(rw(kOpWrite, false, 0x1, kSlba + 1, kSlba), ext);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(StatusOf(*w).same_code(nvm_sc::kInvalidProtectionInformation))
      << StatusOf(*w).ToString();
  std::vector<uint8_t> again(ext.size());
  r = s.io->Execute(rw(kOpRead, false, 0x7, kSlba, kSlba), {}, again);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(StatusOf(*r).ok());
  EXPECT_EQ(again, ext);
}

}  // namespace
}  // namespace nvemu::tcp::testing
