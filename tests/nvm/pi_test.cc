// End-to-end data protection (NVM Command Set 1.0, 5.2): CRCs, PRACT/PRCHK on Write, Read,
// Compare, Verify, Write Zeroes and Copy, every check error, Types 1-3, PI first/last, 16b and 64b
// Guard, separate and extended metadata.
#include "nvm/pi.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nvm_fixture.h"

namespace nvemu::test {
namespace {

constexpr uint8_t kWrite = 0x01, kRead = 0x02, kCompare = 0x05, kWriteZeroes = 0x08, kVerify = 0x0c;

TEST(PiCrc, CheckValues) {
  const uint8_t s[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  EXPECT_EQ(Crc16T10Dif(0, s, 9), 0xd0db);
  EXPECT_EQ(Crc64NvmeFinal(Crc64Nvme(kCrc64Init, s, 9)), 0xae8b14860a799888ull);
}

// Bit-at-a-time definitions of the two Guard CRCs (nvm/pi.h), the reference for the fast ones.
uint16_t BitwiseCrc16(uint16_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<uint16_t>(p[i] << 8);
    for (int b = 0; b < 8; ++b) {
      crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x8bb7 : crc << 1);
    }
  }
  return crc;
}
uint64_t BitwiseCrc64(uint64_t crc, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b) crc = (crc & 1) ? (crc >> 1) ^ 0x9a6c9329ac4bc9b5ull : crc >> 1;
  }
  return crc;
}

// ISA-L's folded CRC-16 and the sliced CRC-64 take other paths for short, long, aligned and
// unaligned buffers: every length up to a few blocks, at every start offset within 8 bytes, and
// continued across a split (Guard() runs over the data, then the metadata before the PI).
TEST(PiCrc, MatchBitwiseDefinitionForEveryLengthAndAlignment) {
  std::vector<uint8_t> buf(4096 + 64 + 16);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint8_t& b : buf) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  for (size_t len : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{15}, size_t{16}, size_t{31},
                     size_t{63}, size_t{64}, size_t{65}, size_t{127}, size_t{255}, size_t{256},
                     size_t{512}, size_t{520}, size_t{4096}, size_t{4096 + 64}}) {
    for (size_t off = 0; off < 8; ++off) {
      const uint8_t* p = buf.data() + off;
      SCOPED_TRACE("len " + std::to_string(len) + " offset " + std::to_string(off));
      EXPECT_EQ(Crc16T10Dif(0, p, len), BitwiseCrc16(0, p, len));
      EXPECT_EQ(Crc16T10Dif(0x1234, p, len), BitwiseCrc16(0x1234, p, len));
      EXPECT_EQ(Crc64Nvme(kCrc64Init, p, len), BitwiseCrc64(kCrc64Init, p, len));
      EXPECT_EQ(Crc64NvmeSliced(kCrc64Init, p, len), BitwiseCrc64(kCrc64Init, p, len));
      const size_t cut = len / 3;
      EXPECT_EQ(Crc16T10Dif(Crc16T10Dif(0, p, cut), p + cut, len - cut), BitwiseCrc16(0, p, len));
      EXPECT_EQ(Crc64Nvme(Crc64Nvme(kCrc64Init, p, cut), p + cut, len - cut),
                BitwiseCrc64(kCrc64Init, p, len));
    }
  }
}

struct Case {
  uint32_t lba;
  uint32_t ms;
  uint8_t type;
  bool first;
  bool extended;
  bool guard64;
};

std::string Name(const testing::TestParamInfo<Case>& i) {
  const Case& c = i.param;
  return std::to_string(c.lba) + "p" + std::to_string(c.ms) + "T" + std::to_string(c.type) +
         (c.first ? "First" : "Last") + (c.extended ? "Ext" : "Sep") + (c.guard64 ? "G64" : "G16");
}

class PiTest : public testing::TestWithParam<Case> {
 protected:
  PiTest()
      : h_(NsSpec{GetParam().lba, GetParam().ms, GetParam().type, GetParam().first,
                  GetParam().extended, GetParam().guard64, 1024}) {}

  const Case& c() const { return GetParam(); }
  uint32_t pi_off() const { return c().first ? 0 : c().ms - (c().guard64 ? 16 : 8); }
  bool meta_on_wire(bool pract) const { return !(pract && c().ms == (c().guard64 ? 16u : 8u)); }

  // Runs `opc` on [slba, slba+nlb) with PRINFO, ILBRT `ref`, LBAT/LBATM; `data`/`meta` are the
  // host buffers (split form); extended namespaces interleave them on the wire.
  Status Io(uint8_t opc, uint64_t slba, uint32_t nlb, bool pract, uint8_t prchk, uint64_t ref,
            uint16_t app, uint16_t mask, std::vector<uint8_t>* data, std::vector<uint8_t>* meta) {
    Sqe s = Rw(opc, slba, nlb, Prinfo(pract, prchk));
    s.cdw14 = static_cast<uint32_t>(ref);
    s.cdw3 = static_cast<uint32_t>(ref >> 32) & 0xffff;
    s.cdw15 = app | (static_cast<uint32_t>(mask) << 16);
    const bool mw = meta_on_wire(pract);
    const uint32_t lba = c().lba, ms = c().ms;
    MemChannel dch, mch;
    if (c().extended && mw) {
      dch.buf.resize(nlb * (lba + ms));
      for (uint32_t i = 0; i < nlb; ++i) {
        std::memcpy(&dch.buf[i * (lba + ms)], data->data() + i * lba, lba);
        std::memcpy(&dch.buf[i * (lba + ms) + lba], meta->data() + i * ms, ms);
      }
    } else {
      dch.buf = *data;
      if (mw) mch.buf = *meta;
    }
    Status st = h_.Run(s, &dch, mw && !c().extended ? &mch : nullptr);
    if (opc == kRead) {
      if (c().extended && mw) {
        for (uint32_t i = 0; i < nlb; ++i) {
          std::memcpy(data->data() + i * lba, &dch.buf[i * (lba + ms)], lba);
          std::memcpy(meta->data() + i * ms, &dch.buf[i * (lba + ms) + lba], ms);
        }
      } else {
        *data = dch.buf;
        if (mw) *meta = mch.buf;
      }
    }
    return st;
  }

  NvmHarness h_;
};

TEST_P(PiTest, GenerateThenCheckEveryField) {
  const uint32_t nlb = 4, lba = c().lba, ms = c().ms;
  const uint64_t slba = 8;
  const uint64_t ref = c().type == 1 ? slba : 0x1234;
  auto data = Pattern(nlb * lba, 3);
  std::vector<uint8_t> meta(nlb * ms, 0x5a);
  // PRACT = 1: the controller generates the PI.
  ASSERT_EQ(Io(kWrite, slba, nlb, true, 0, ref, 0xbeef, 0, &data, &meta), sc::kSuccess);
  const uint8_t chk = c().type == 3 ? 0x6 : 0x7;  // Type 3 has no Reference Tag check
  std::vector<uint8_t> rd(nlb * lba), rm(nlb * ms);
  ASSERT_EQ(Io(kRead, slba, nlb, false, chk, ref, 0xbeef, 0xffff, &rd, &rm), sc::kSuccess);
  EXPECT_EQ(rd, data);
  // The stored PI: Application Tag, Reference Tag (big endian) at the PI offset.
  const uint32_t app_at = pi_off() + (c().guard64 ? 8 : 2);
  EXPECT_EQ(rm[app_at] << 8 | rm[app_at + 1], 0xbeef);
  if (c().type != 3) {
    const uint32_t ref_at = pi_off() + (c().guard64 ? 10 : 4);
    EXPECT_EQ(rm[ms + ref_at + (c().guard64 ? 5 : 3)], static_cast<uint8_t>(ref + 1));
  }
  // Compare and Verify pass with every check on.
  EXPECT_EQ(Io(kCompare, slba, nlb, false, chk, ref, 0xbeef, 0xffff, &data, &rm), sc::kSuccess);
  EXPECT_EQ(Io(kVerify, slba, nlb, false, chk, ref, 0xbeef, 0xffff, &data, &rm), sc::kSuccess);
  // Application Tag mismatch under the mask -> 83h; outside the mask -> fine.
  EXPECT_EQ(Io(kRead, slba, nlb, false, 0x2, ref, 0xbeee, 0xffff, &rd, &rm),
            nvm_sc::kApplicationTagCheckError);
  EXPECT_EQ(Io(kRead, slba, nlb, false, 0x2, ref, 0xbeee, 0xfff0, &rd, &rm), sc::kSuccess);
  if (c().type == 2) {
    EXPECT_EQ(Io(kRead, slba, nlb, false, 0x1, ref + 1, 0, 0, &rd, &rm),
              nvm_sc::kReferenceTagCheckError);
  }
  if (c().type == 1) {  // ILBRT must equal SLBA when the Reference Tag is checked
    EXPECT_EQ(Io(kRead, slba, nlb, false, 0x1, ref + 1, 0, 0, &rd, &rm),
              nvm_sc::kInvalidProtectionInformation);
  }
  if (c().type == 3) {
    EXPECT_EQ(Io(kRead, slba, nlb, false, 0x1, ref, 0, 0, &rd, &rm),
              nvm_sc::kInvalidProtectionInformation);
  }
  // Corrupt the stored data of block 2 behind the controller's back: Guard check error.
  uint8_t junk = 0x77;
  ASSERT_TRUE(h_.ns().backend().Write((slba + 2) * lba + 5, &junk, 1).ok());
  EXPECT_EQ(Io(kRead, slba, nlb, false, 0x4, ref, 0, 0, &rd, &rm), nvm_sc::kGuardCheckError);
  EXPECT_EQ(Io(kVerify, slba, nlb, false, 0x4, ref, 0, 0, &rd, &rm), nvm_sc::kGuardCheckError);
  EXPECT_EQ(Io(kRead, slba, nlb, false, c().type == 3 ? 0x2 : 0x3, ref, 0xbeef, 0xffff, &rd, &rm),
            sc::kSuccess);
}

TEST_P(PiTest, HostPiCheckedOnWriteAndUnwrittenBlocksSkipChecks) {
  const uint32_t nlb = 2, lba = c().lba, ms = c().ms;
  const uint64_t slba = 100;
  const uint64_t ref = c().type == 1 ? slba : 7;
  // Unwritten blocks carry all-ones tags: every check passes.
  std::vector<uint8_t> rd(nlb * lba), rm(nlb * ms);
  EXPECT_EQ(Io(kRead, slba, nlb, false, c().type == 3 ? 0x6 : 0x7, ref, 1, 0xffff, &rd, &rm),
            sc::kSuccess);
  // Host PI with a wrong Guard (PRACT = 0, PRCHK Guard) is refused, nothing written.
  auto data = Pattern(nlb * lba, 9);
  std::vector<uint8_t> meta(nlb * ms, 0);
  EXPECT_EQ(Io(kWrite, slba, nlb, false, 0x4, ref, 0, 0, &data, &meta), nvm_sc::kGuardCheckError);
  // Host PI generated right (by a PRACT write elsewhere, then read back) is accepted.
  ASSERT_EQ(Io(kWrite, 200, nlb, true, 0, c().type == 1 ? 200 : ref, 0x42, 0, &data, &meta),
            sc::kSuccess);
  std::vector<uint8_t> good(nlb * ms);
  ASSERT_EQ(Io(kRead, 200, nlb, false, 0, 0, 0, 0, &rd, &good), sc::kSuccess);
  if (c().type == 1) {
    // Type 1 Reference Tags follow the LBA: the same PI at another LBA fails the check.
    EXPECT_EQ(Io(kWrite, slba, nlb, false, 0x1, slba, 0, 0, &data, &good),
              nvm_sc::kReferenceTagCheckError);
  } else {
    EXPECT_EQ(Io(kWrite, slba, nlb, false, 0x6, ref, 0x42, 0xffff, &data, &good), sc::kSuccess);
    EXPECT_EQ(Io(kWrite, slba, nlb, false, 0x2, ref, 0x43, 0xffff, &data, &good),
              nvm_sc::kApplicationTagCheckError);
  }
  // Write Zeroes with PRACT generates PI over zeroes; reads check clean.
  Sqe wz = Rw(kWriteZeroes, 300, 3, Prinfo(true, 0));
  wz.cdw14 = c().type == 1 ? 300 : 5;
  EXPECT_EQ(h_.Run(wz), sc::kSuccess);
  std::vector<uint8_t> zd(3 * lba), zm(3 * ms);
  EXPECT_EQ(
      Io(kRead, 300, 3, false, c().type == 3 ? 0x4 : 0x5, c().type == 1 ? 300 : 5, 0, 0, &zd, &zm),
      sc::kSuccess);
  EXPECT_TRUE(std::all_of(zd.begin(), zd.end(), [](uint8_t b) { return b == 0; }));
}

INSTANTIATE_TEST_SUITE_P(
    Formats, PiTest,
    testing::Values(Case{512, 8, 1, false, false, false}, Case{512, 8, 2, true, true, false},
                    Case{512, 8, 3, false, true, false}, Case{512, 64, 1, true, false, false},
                    Case{512, 64, 2, false, true, false}, Case{4096, 8, 1, false, true, false},
                    Case{4096, 64, 3, true, false, false}, Case{4096, 64, 2, false, false, false},
                    Case{4096, 16, 1, false, false, true}, Case{512, 16, 2, true, true, true},
                    Case{4096, 16, 3, false, true, true}),
    Name);

TEST(Metadata, SeparateAndExtendedWithoutPiRoundTrip) {
  for (bool ext : {false, true}) {
    NvmHarness h({.lba_size = 512, .ms = 64, .extended = ext, .blocks = 64});
    const uint32_t nlb = 3;
    auto data = Pattern(nlb * 512, 1), meta = Pattern(nlb * 64, 2);
    MemChannel d, m;
    if (ext) {
      for (uint32_t i = 0; i < nlb; ++i) {
        d.buf.insert(d.buf.end(), data.begin() + i * 512, data.begin() + (i + 1) * 512);
        d.buf.insert(d.buf.end(), meta.begin() + i * 64, meta.begin() + (i + 1) * 64);
      }
    } else {
      d.buf = data;
      m.buf = meta;
    }
    ASSERT_EQ(h.Run(Rw(kWrite, 5, nlb), &d, ext ? nullptr : &m), sc::kSuccess);
    // Stored split: data image and metadata image (LBA * MS).
    std::vector<uint8_t> img(nlb * 64);
    ASSERT_TRUE(h.ns().backend().ReadMetadata(5 * 64, img.data(), img.size()).ok());
    EXPECT_EQ(img, meta);
    MemChannel rd(d.buf.size()), rm(m.buf.size());
    ASSERT_EQ(h.Run(Rw(kRead, 5, nlb), &rd, ext ? nullptr : &rm), sc::kSuccess);
    EXPECT_EQ(rd.buf, d.buf);
    EXPECT_EQ(rm.buf, m.buf);
    // Separate metadata without a metadata channel (a transport without MPTR): Invalid Field.
    if (!ext) {
      EXPECT_EQ(h.Run(Rw(kRead, 5, nlb), &rd, nullptr), sc::kInvalidField);
    }
  }
}

}  // namespace
}  // namespace nvemu::test
