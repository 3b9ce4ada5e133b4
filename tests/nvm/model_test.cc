// Randomized model test: thousands of random NVM commands (Read, Write, Compare, Verify, Write
// Zeroes with and without DEAC, Write Uncorrectable, Dataset Management, Copy, Flush, fused
// Compare and Write with and without a colliding Write in between, Reservation Register/Acquire/
// Release; random ranges including invalid ones) from two hosts (two controllers sharing the
// namespace) on every LBA format (with metadata, PI Types 1-3, 16b and 64b Guard, separate and
// extended), executed through ExecuteIoCommand and against a simple reference model of the
// namespace (data per block, metadata for non-PI formats, the uncorrectable set, registrants and
// the reservation with NVMe Base 2.0 Figure 405's access rules). Statuses and contents must agree.
// Seeded and reproducible: NVEMU_MODEL_SEED overrides the seed, which every failure prints.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "nvm_fixture.h"

namespace nvemu::test {
namespace {

constexpr uint8_t kFlush = 0x00, kWrite = 0x01, kRead = 0x02, kWriteUnc = 0x04, kCompare = 0x05,
                  kWriteZeroes = 0x08, kDsm = 0x09, kVerify = 0x0c, kResvRegister = 0x0d,
                  kResvAcquire = 0x11, kResvRelease = 0x15, kCopy = 0x19;
constexpr uint64_t kBlocks = 512;

struct Model {
  uint32_t lba, ms;
  bool pi;
  std::vector<uint8_t> data, meta;
  std::vector<bool> unc;
  Model(uint32_t l, uint32_t m, bool p)
      : lba(l), ms(m), pi(p), data(kBlocks * l), meta(kBlocks * m), unc(kBlocks) {}
  bool InRange(uint64_t s, uint64_t n) const { return s <= kBlocks && n <= kBlocks - s; }
  bool AnyUnc(uint64_t s, uint64_t n) const {
    for (uint64_t i = s; i < s + n; ++i) {
      if (unc[i]) return true;
    }
    return false;
  }
};

// Registrants and the reservation of the namespace, hosts 0 (controller 1) and 1 (controller 2).
// NVMe Base 2.0, 8.19 and Figure 405, written down from the specification.
struct ResvModel {
  bool reg[2] = {false, false};
  int rtype = 0;  // 0: none; 1 WE, 2 EA, 3 WE-RO, 4 EA-RO, 5 WE-AR, 6 EA-AR
  int holder = -1;
  bool AllRegistrants() const { return rtype == 5 || rtype == 6; }
  bool Holder(int h) const { return rtype != 0 && (AllRegistrants() ? reg[h] : holder == h); }
  bool Allowed(int h, bool write) const {
    if (rtype == 0 || Holder(h)) return true;
    switch (rtype) {
      case 1:
        return !write;
      case 2:
        return false;
      case 3:
      case 5:
        return !write || reg[h];
      default:
        return reg[h];
    }
  }
};

Sqe Fused(Sqe s, uint8_t fuse) {
  s.flags = static_cast<uint8_t>((s.flags & ~3) | fuse);
  return s;
}

class ModelTest : public testing::TestWithParam<NsSpec> {};

TEST_P(ModelTest, RandomCommandsAgreeWithModel) {
  const NsSpec spec = GetParam();
  uint64_t seed = 20261101 + spec.lba_size + spec.ms * 7 + spec.pi_type * 131 + spec.extended;
  if (const char* s = std::getenv("NVEMU_MODEL_SEED")) seed = std::strtoull(s, nullptr, 0);
  SCOPED_TRACE("seed " + std::to_string(seed) + " (NVEMU_MODEL_SEED)");
  std::mt19937_64 rng(seed);
  NsSpec sp = spec;
  sp.blocks = kBlocks;
  NvmHarness h(sp);
  Model m(spec.lba_size, spec.ms, spec.pi_type != 0);
  // Host 1: a second controller (CNTLID 2) on the same namespace table.
  IoControllerState other(2, 8);
  IoContext other_ctx = h.ctx();
  other_ctx.controller = &other;
  ResvModel rm;
  int host = 0;  // the host issuing the current command
  auto run = [&](const Sqe& sqe, MemChannel* data = nullptr, MemChannel* meta = nullptr,
                 uint16_t sqid = 1) {
    if (host == 0) return h.Run(sqe, data, meta, sqid);
    NoDataChannel none;
    Request req;
    req.sqe = sqe;
    req.sqid = sqid;
    req.data = data ? static_cast<DataChannel*>(data) : &none;
    req.metadata = meta;
    return ExecuteIoCommand(other_ctx, req);
  };
  auto resv = [&](uint8_t opc, uint32_t cdw10, uint64_t k1, uint64_t k2) {
    MemChannel kc(16);
    std::memcpy(kc.buf.data(), &k1, 8);
    std::memcpy(kc.buf.data() + 8, &k2, 8);
    Sqe r{};
    r.opc = opc;
    r.nsid = 1;
    r.cdw10 = cdw10;
    return run(r, &kc);
  };
  // Reservation Conflict when the model says the host may not access (in-range commands).
  auto conflict = [&](bool write) { return !rm.Allowed(host, write); };
  const bool sep = spec.ms != 0 && !spec.extended;
  auto rnd = [&](uint64_t n) { return rng() % n; };
  // Ranges: mostly valid, sometimes out of range.
  auto range = [&](uint64_t* s, uint32_t* n) {
    *n = static_cast<uint32_t>(1 + rnd(rnd(4) == 0 ? 64 : 8));
    *s = rnd(10) == 0 ? kBlocks - rnd(4) : rnd(kBlocks - *n + 1);
  };
  // PI: writes generate (PRACT = 1), reads check the Guard only; tags then always verify.
  const uint32_t wpr = m.pi ? Prinfo(true, 0) : 0;
  const uint32_t rpr = m.pi ? Prinfo(false, 0x4) : 0;
  const bool meta_wire = spec.ms != 0 && !(m.pi && spec.ms == (spec.guard64 ? 16u : 8u));
  const uint32_t ms_wire = meta_wire && !m.pi ? spec.ms : 0;  // metadata the model checks
  auto pack = [&](const uint8_t* d, const uint8_t* md, uint32_t n, MemChannel* dc, MemChannel* mc) {
    const uint32_t wire_ms = meta_wire ? spec.ms : 0;
    if (spec.extended && wire_ms) {
      dc->buf.resize(n * (spec.lba_size + wire_ms));
      for (uint32_t i = 0; i < n; ++i) {
        std::memcpy(&dc->buf[i * (spec.lba_size + wire_ms)], d + i * spec.lba_size, spec.lba_size);
        std::memcpy(&dc->buf[i * (spec.lba_size + wire_ms) + spec.lba_size], md + i * wire_ms,
                    wire_ms);
      }
    } else {
      dc->buf.assign(d, d + n * spec.lba_size);
      if (wire_ms) mc->buf.assign(md, md + n * wire_ms);
    }
  };
  int ok = 0, conflicts = 0, fused_ok = 0, interrupted = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    SCOPED_TRACE("command " + std::to_string(iter));
    const int op = static_cast<int>(rnd(14));
    host = rnd(4) == 0 ? 1 : 0;
    uint64_t s;
    uint32_t n;
    range(&s, &n);
    const bool in = m.InRange(s, n);
    MemChannel dc, mc;
    Status st, want;
    switch (op) {
      case 0:
      case 1:
      case 13: {  // Write
        auto d = Pattern(n * spec.lba_size, static_cast<uint32_t>(rng()));
        auto md = Pattern(n * spec.ms + 1, static_cast<uint32_t>(rng()));
        pack(d.data(), md.data(), n, &dc, &mc);
        Sqe w = Rw(kWrite, s, n, wpr | (rnd(4) == 0 ? 1u << 30 : 0));
        w.cdw14 = static_cast<uint32_t>(s);
        st = run(w, &dc, sep ? &mc : nullptr);
        want = !in              ? sc::kLbaOutOfRange
               : conflict(true) ? nvm_sc::kReservationConflict
                                : sc::kSuccess;
        if (want.ok()) {
          std::memcpy(&m.data[s * m.lba], d.data(), n * m.lba);
          if (ms_wire) std::memcpy(&m.meta[s * m.ms], md.data(), n * m.ms);
          for (uint32_t i = 0; i < n; ++i) m.unc[s + i] = false;
        }
        break;
      }
      case 2:
      case 3: {  // Read
        MemChannel rd(n * (spec.lba_size + spec.ms)), rmeta(n * spec.ms);
        Sqe r = Rw(kRead, s, n, rpr);
        st = run(r, &rd, sep ? &rmeta : nullptr);
        want = !in               ? sc::kLbaOutOfRange
               : conflict(false) ? nvm_sc::kReservationConflict
                                 : (m.AnyUnc(s, n) ? nvm_sc::kUnrecoveredReadError : sc::kSuccess);
        if (st.ok() && want.ok()) {
          for (uint32_t i = 0; i < n; ++i) {
            // Reads use PRACT = 0: the metadata always travels.
            const size_t per = spec.extended && spec.ms ? spec.lba_size + spec.ms : spec.lba_size;
            ASSERT_EQ(0, std::memcmp(&rd.buf[i * per], &m.data[(s + i) * m.lba], m.lba))
                << "data of LBA " << s + i;
            if (ms_wire) {
              const uint8_t* got =
                  spec.extended ? &rd.buf[i * per + spec.lba_size] : &rmeta.buf[i * spec.ms];
              ASSERT_EQ(0, std::memcmp(got, &m.meta[(s + i) * m.ms], m.ms))
                  << "metadata of LBA " << s + i;
            }
          }
        }
        break;
      }
      case 4: {  // Compare (sometimes with a flipped byte)
        // The model's data for the in-range part of [s, s + n); zeroes beyond the namespace.
        std::vector<uint8_t> d(n * m.lba, 0);
        const uint64_t have = s < kBlocks ? std::min<uint64_t>(n, kBlocks - s) : 0;
        if (have != 0) std::memcpy(d.data(), &m.data[s * m.lba], have * m.lba);
        std::vector<uint8_t> md(n * spec.ms + 1, 0);
        if (ms_wire && in) std::memcpy(md.data(), &m.meta[s * m.ms], n * m.ms);
        const bool flip = rnd(3) == 0;
        if (flip) d[rnd(d.size())] ^= 0x80;
        pack(d.data(), md.data(), n, &dc, &mc);
        // PRACT = 1: the controller owns the PI, compares data and the other metadata bytes.
        st = run(Rw(kCompare, s, n, wpr | (m.pi ? 0x4u << 26 : 0)), &dc, sep ? &mc : nullptr);
        want = !in               ? sc::kLbaOutOfRange
               : conflict(false) ? nvm_sc::kReservationConflict
               : m.AnyUnc(s, n)  ? nvm_sc::kUnrecoveredReadError
                                 : (flip ? nvm_sc::kCompareFailure : sc::kSuccess);
        if (meta_wire && m.pi && want.ok()) want = st;  // host PI bytes are not modelled
        break;
      }
      case 5:  // Verify
        st = run(Rw(kVerify, s, n, rpr));
        want = !in               ? sc::kLbaOutOfRange
               : conflict(false) ? nvm_sc::kReservationConflict
                                 : (m.AnyUnc(s, n) ? nvm_sc::kUnrecoveredReadError : sc::kSuccess);
        break;
      case 6: {  // Write Zeroes, DEAC at random
        const bool deac = rnd(2);
        Sqe z = Rw(kWriteZeroes, s, n, wpr | (deac ? 1u << 25 : 0));
        z.cdw14 = static_cast<uint32_t>(s);
        st = run(z);
        want = !in              ? sc::kLbaOutOfRange
               : conflict(true) ? nvm_sc::kReservationConflict
                                : sc::kSuccess;
        if (want.ok()) {
          std::memset(&m.data[s * m.lba], 0, n * m.lba);
          if (ms_wire) std::memset(&m.meta[s * m.ms], 0, n * m.ms);
          for (uint32_t i = 0; i < n; ++i) m.unc[s + i] = false;
        }
        break;
      }
      case 7:  // Write Uncorrectable
        st = run(Rw(kWriteUnc, s, n));
        want = !in              ? sc::kLbaOutOfRange
               : conflict(true) ? nvm_sc::kReservationConflict
                                : sc::kSuccess;
        if (want.ok()) {
          for (uint32_t i = 0; i < n; ++i) m.unc[s + i] = true;
        }
        break;
      case 8: {  // Dataset Management deallocate (one range)
        struct {
          uint32_t cattr, nlb;
          uint64_t slba;
        } r{0, n, s};
        dc.buf.resize(16);
        std::memcpy(dc.buf.data(), &r, 16);
        Sqe d{};
        d.opc = kDsm;
        d.nsid = 1;
        d.cdw11 = 1u << 2;
        st = run(d, &dc);
        // The ranges are checked after the reservation (they come with the data).
        want = conflict(true) ? nvm_sc::kReservationConflict
               : in           ? sc::kSuccess
                              : sc::kLbaOutOfRange;
        if (want.ok()) {
          std::memset(&m.data[s * m.lba], 0, n * m.lba);
          if (ms_wire) std::memset(&m.meta[s * m.ms], 0, n * m.ms);
          for (uint32_t i = 0; i < n; ++i) m.unc[s + i] = false;
        }
        break;
      }
      case 9: {                      // Copy: one source range to `s`
        if (spec.guard64) continue;  // format 1h descriptors: covered by pi_test
        uint64_t src;
        uint32_t sn;
        range(&src, &sn);
        sn = n;
        uint8_t desc[32] = {};
        std::memcpy(desc + 8, &src, 8);
        uint16_t nlb0 = static_cast<uint16_t>(sn - 1);
        std::memcpy(desc + 16, &nlb0, 2);
        uint32_t ref = static_cast<uint32_t>(src);
        std::memcpy(desc + 24, &ref, 4);
        dc.buf.assign(desc, desc + 32);
        Sqe c{};
        c.opc = kCopy;
        c.nsid = 1;
        c.cdw10 = static_cast<uint32_t>(s);
        c.cdw11 = static_cast<uint32_t>(s >> 32);
        c.cdw12 = m.pi ? (8u << 26) : 0;  // PRINFOW.PRACT: new PI for the destination
        c.cdw14 = static_cast<uint32_t>(s);
        st = run(c, &dc);
        const bool src_in = m.InRange(src, sn);
        want = !in              ? sc::kLbaOutOfRange
               : conflict(true) ? nvm_sc::kReservationConflict
               : !src_in        ? sc::kLbaOutOfRange
                         : (m.AnyUnc(src, sn) ? nvm_sc::kUnrecoveredReadError : sc::kSuccess);
        if (want.ok()) {
          std::vector<uint8_t> tmp(&m.data[src * m.lba], &m.data[(src + sn) * m.lba]);
          std::memcpy(&m.data[s * m.lba], tmp.data(), tmp.size());
          if (m.ms) {
            std::vector<uint8_t> tm(&m.meta[src * m.ms], &m.meta[(src + sn) * m.ms]);
            std::memcpy(&m.meta[s * m.ms], tm.data(), tm.size());
          }
          for (uint32_t i = 0; i < sn; ++i) m.unc[s + i] = false;
        }
        break;
      }
      case 10: {  // Flush: nothing changes (reservations do not apply to Flush here)
        Sqe f{};
        f.opc = kFlush;
        f.nsid = rnd(2) ? 1 : 0xffffffff;
        st = run(f);
        want = sc::kSuccess;
        break;
      }
      case 11: {  // fused Compare and Write (host 0, SQ 2), sometimes with a colliding Write
        if (meta_wire && m.pi) continue;  // host PI bytes in the Compare are not modelled
        host = 0;
        std::vector<uint8_t> cd(n * m.lba, 0), cmd(n * spec.ms + 1, 0);
        if (in) {
          std::memcpy(cd.data(), &m.data[s * m.lba], n * m.lba);
          if (ms_wire) std::memcpy(cmd.data(), &m.meta[s * m.ms], n * m.ms);
        }
        const bool flip = rnd(3) == 0;
        if (flip) cd[rnd(cd.size())] ^= 0x80;
        MemChannel cdc, cmc;
        pack(cd.data(), cmd.data(), n, &cdc, &cmc);
        const Status first = run(Fused(Rw(kCompare, s, n, wpr | (m.pi ? 0x4u << 26 : 0)), 1), &cdc,
                                 sep ? &cmc : nullptr, 2);
        const Status want_first = !in               ? sc::kLbaOutOfRange
                                  : conflict(false) ? nvm_sc::kReservationConflict
                                  : m.AnyUnc(s, n)  ? nvm_sc::kUnrecoveredReadError
                                  : flip            ? nvm_sc::kCompareFailure
                                                    : sc::kSuccess;
        ASSERT_EQ(first, want_first) << "fused Compare slba " << s << " nlb " << n;
        if (first.ok() && rnd(3) == 0) {
          // A Write of an overlapping range from host 1 (same thread as the pair's holder): the
          // pair stays atomic, so the Write is interrupted (retryable) and changes nothing.
          auto x = Pattern(m.lba, static_cast<uint32_t>(rng()));
          auto xm = Pattern(spec.ms + 1, 0);
          MemChannel xdc, xmc;
          pack(x.data(), xm.data(), 1, &xdc, &xmc);
          host = 1;
          Sqe xw = Rw(kWrite, s + rnd(n), 1, wpr);
          xw.cdw14 = static_cast<uint32_t>(xw.cdw10);
          Status xst = run(xw, &xdc, sep ? &xmc : nullptr);
          ASSERT_EQ(xst, nvm_sc::kCommandInterrupted);
          ASSERT_FALSE(xst.dnr());
          ++interrupted;
          host = 0;
        }
        auto d = Pattern(n * spec.lba_size, static_cast<uint32_t>(rng()));
        auto md = Pattern(n * spec.ms + 1, static_cast<uint32_t>(rng()));
        pack(d.data(), md.data(), n, &dc, &mc);
        Sqe w = Rw(kWrite, s, n, wpr);
        w.cdw14 = static_cast<uint32_t>(s);
        st = run(Fused(w, 2), &dc, sep ? &mc : nullptr, 2);
        want = !first.ok()      ? sc::kAbortFailedFused
               : conflict(true) ? nvm_sc::kReservationConflict
                                : sc::kSuccess;
        if (want.ok()) {
          std::memcpy(&m.data[s * m.lba], d.data(), n * m.lba);
          if (ms_wire) std::memcpy(&m.meta[s * m.ms], md.data(), n * m.ms);
          for (uint32_t i = 0; i < n; ++i) m.unc[s + i] = false;
        }
        ASSERT_EQ(h.ns().fused_lock().active(), 0u);
        break;
      }
      default: {  // Reservation Register / Acquire / Release; key of host h: 0x10 + h
        const uint64_t key = 0x10 + host;
        const int action = static_cast<int>(rnd(3));
        if (action == 0) {  // register, or unregister when registered
          if (!rm.reg[host]) {
            st = resv(kResvRegister, 0, 0, key);
            want = sc::kSuccess;
            rm.reg[host] = true;
          } else {
            st = resv(kResvRegister, 1, key, 0);
            want = sc::kSuccess;
            const bool was_holder = rm.Holder(host);
            rm.reg[host] = false;
            if (!rm.AllRegistrants() && was_holder) rm.rtype = 0, rm.holder = -1;
            if (rm.AllRegistrants() && !rm.reg[0] && !rm.reg[1]) rm.rtype = 0, rm.holder = -1;
          }
        } else if (action == 1) {  // acquire a random type
          const int type = static_cast<int>(1 + rnd(6));
          st = resv(kResvAcquire, static_cast<uint32_t>(type) << 8, key, 0);
          if (!rm.reg[host]) {
            want = nvm_sc::kReservationConflict;
          } else if (rm.rtype == 0) {
            want = sc::kSuccess;
            rm.rtype = type;
            rm.holder = host;
          } else {
            want =
                rm.Holder(host) && rm.rtype == type ? sc::kSuccess : nvm_sc::kReservationConflict;
          }
        } else {  // release the reservation of its type
          st = resv(kResvRelease, static_cast<uint32_t>(rm.rtype) << 8, key, 0);
          if (!rm.reg[host]) {
            want = nvm_sc::kReservationConflict;
          } else {
            want = sc::kSuccess;
            if (rm.Holder(host)) rm.rtype = 0, rm.holder = -1;
          }
        }
        break;
      }
    }
    ASSERT_EQ(st, want) << "op " << op << " host " << host << " slba " << s << " nlb " << n
                        << " reservation type " << rm.rtype << ": got " << st.ToString()
                        << ", model " << want.ToString();
    ok += st.ok();
    conflicts += st == nvm_sc::kReservationConflict;
    fused_ok += op == 11 && st.ok();
  }
  EXPECT_GT(ok, 1000);
  std::printf("%d commands succeeded, %d reservation conflicts, %d fused pairs, %d interrupted\n",
              ok, conflicts, fused_ok, interrupted);
}

INSTANTIATE_TEST_SUITE_P(
    Formats, ModelTest,
    testing::Values(
        NsSpec{.lba_size = 512}, NsSpec{.lba_size = 4096}, NsSpec{.lba_size = 512, .ms = 8},
        NsSpec{.lba_size = 512, .ms = 64, .extended = true}, NsSpec{.lba_size = 4096, .ms = 64},
        NsSpec{.lba_size = 512, .ms = 8, .pi_type = 1, .extended = true},
        NsSpec{.lba_size = 4096, .ms = 8, .pi_type = 2},
        NsSpec{.lba_size = 512, .ms = 64, .pi_type = 3, .pi_first = true},
        NsSpec{.lba_size = 4096, .ms = 16, .pi_type = 1, .guard64 = true},
        // Every LBA format at least once (LBAF 4: 4096+8 without PI, extended; LBAF
        // 6: 512+16 with 64b Guard, Types 2 and 3).
        NsSpec{.lba_size = 4096, .ms = 8, .extended = true},
        NsSpec{.lba_size = 512, .ms = 16, .pi_type = 2, .guard64 = true},
        NsSpec{.lba_size = 512, .ms = 16, .pi_type = 3, .extended = true, .guard64 = true}));

}  // namespace
}  // namespace nvemu::test
