#include "app/identify_print.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "app/identify_json.h"

namespace nvemu::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void Ascii(char* dst, size_t len, const char* src) {
  std::memset(dst, ' ', len);
  std::memcpy(dst, src, std::strlen(src));
}

nvme_id_ctrl KnownCtrl() {
  nvme_id_ctrl id{};
  id.vid = 0x1b36;
  id.ssvid = 0x1af4;
  Ascii(id.sn, sizeof(id.sn), "SN1234");
  Ascii(id.mn, sizeof(id.mn), "Known Model");
  Ascii(id.fr, sizeof(id.fr), "1.2");
  id.rab = 6;
  id.ieee[0] = 0x56;
  id.ieee[1] = 0x34;
  id.ieee[2] = 0x12;
  id.cmic = 0;
  id.mdts = 7;
  id.cntlid = 0x41;
  id.ver = 0x00020000;
  id.oacs = 0x6;
  id.acl = 3;
  id.aerl = 3;
  id.frmw = 0x2;
  id.lpa = 0x2;
  id.sqes = 0x66;
  id.cqes = 0x44;
  id.maxcmd = 0;
  id.nn = 4;
  id.oncs = 0x5f;
  id.vwc = 0x7;
  id.sgls = 0;
  id.tnvmcap[0] = 0x00;
  id.tnvmcap[4] = 0x01;  // 2^32
  std::strcpy(id.subnqn, "nqn.2026-11.dev.nvemu:known");
  id.npss = 1;
  id.psd[0].mp = 2500;
  id.psd[1].mp = 800;
  id.psd[1].flags = 0x2;  // non-operational
  id.psd[1].enlat = 10;
  id.psd[1].exlat = 20;
  return id;
}

nvme_id_ns KnownNs() {
  nvme_id_ns id{};
  id.nsze = 0x200000;
  id.ncap = 0x200000;
  id.nuse = 0x800;
  id.nlbaf = 1;
  id.flbas = 1;
  id.lbaf[0].ds = 9;
  id.lbaf[1].ds = 12;
  id.lbaf[1].rp = 0;
  id.lbaf[0].rp = 1;
  for (int i = 0; i < 16; ++i) id.nguid[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 8; ++i) id.eui64[i] = static_cast<uint8_t>(0xa0 + i);
  uint64_t cap = 1ull << 30;
  std::memcpy(id.nvmcap, &cap, sizeof(cap));
  return id;
}

TEST(FormatIdCtrl, FieldsLikeNvmeCli) {
  std::string text = FormatIdCtrl(KnownCtrl());
  EXPECT_THAT(text, HasSubstr("NVME Identify Controller:\n"));
  EXPECT_THAT(text, HasSubstr("\nvid       : 0x1b36\n"));
  EXPECT_THAT(text, HasSubstr("\nssvid     : 0x1af4\n"));
  EXPECT_THAT(text, HasSubstr("\nsn        : SN1234\n"));
  EXPECT_THAT(text, HasSubstr("\nmn        : Known Model\n"));
  EXPECT_THAT(text, HasSubstr("\nfr        : 1.2\n"));
  EXPECT_THAT(text, HasSubstr("\nrab       : 6\n"));
  EXPECT_THAT(text, HasSubstr("\nieee      : 123456\n"));
  EXPECT_THAT(text, HasSubstr("\ncmic      : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nmdts      : 7\n"));
  EXPECT_THAT(text, HasSubstr("\ncntlid    : 0x41\n"));
  EXPECT_THAT(text, HasSubstr("\nver       : 0x20000\n"));
  EXPECT_THAT(text, HasSubstr("\noacs      : 0x6\n"));
  EXPECT_THAT(text, HasSubstr("\nacl       : 3\n"));
  EXPECT_THAT(text, HasSubstr("\naerl      : 3\n"));
  EXPECT_THAT(text, HasSubstr("\nfrmw      : 0x2\n"));
  EXPECT_THAT(text, HasSubstr("\nlpa       : 0x2\n"));
  EXPECT_THAT(text, HasSubstr("\nelpe      : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnpss      : 1\n"));
  EXPECT_THAT(text, HasSubstr("\ntnvmcap   : 4294967296\n"));
  EXPECT_THAT(text, HasSubstr("\nsqes      : 0x66\n"));
  EXPECT_THAT(text, HasSubstr("\ncqes      : 0x44\n"));
  EXPECT_THAT(text, HasSubstr("\nmaxcmd    : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnn        : 4\n"));
  EXPECT_THAT(text, HasSubstr("\noncs      : 0x5f\n"));
  EXPECT_THAT(text, HasSubstr("\nfuses     : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nvwc       : 0x7\n"));
  EXPECT_THAT(text, HasSubstr("\nsgls      : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nsubnqn    : nqn.2026-11.dev.nvemu:known\n"));
  EXPECT_THAT(text, HasSubstr("\nps    0 : mp:25.00W operational enlat:0 exlat:0 rrt:0 rrl:0\n"
                              "          rwt:0 rwl:0 idle_power:- active_power:-\n"));
  EXPECT_THAT(text, HasSubstr("\nps    1 : mp:8.00W non-operational enlat:10 exlat:20"));
}

TEST(FormatIdCtrl, PrintsOnlyPowerStatesUpToNpss) {
  nvme_id_ctrl id = KnownCtrl();
  id.npss = 0;
  EXPECT_THAT(FormatIdCtrl(id), Not(HasSubstr("ps    1 :")));
}

TEST(FormatIdCtrl, FullWidthStringsAreNotOverrun) {
  nvme_id_ctrl id = KnownCtrl();
  std::memset(id.sn, 'S', sizeof(id.sn));  // 20 characters, no padding, no NUL
  std::memset(id.mn, 'M', sizeof(id.mn));
  std::string text = FormatIdCtrl(id);
  EXPECT_THAT(text, HasSubstr("\nsn        : " + std::string(20, 'S') + "\n"));
  EXPECT_THAT(text, HasSubstr("\nmn        : " + std::string(40, 'M') + "\n"));
}

TEST(FormatIdNs, FieldsLikeNvmeCli) {
  std::string text = FormatIdNs(KnownNs(), 3);
  EXPECT_THAT(text, HasSubstr("NVME Identify Namespace 3:\n"));
  EXPECT_THAT(text, HasSubstr("\nnsze    : 0x200000\n"));
  EXPECT_THAT(text, HasSubstr("\nncap    : 0x200000\n"));
  EXPECT_THAT(text, HasSubstr("\nnuse    : 0x800\n"));
  EXPECT_THAT(text, HasSubstr("\nnsfeat  : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnlbaf   : 1\n"));
  EXPECT_THAT(text, HasSubstr("\nflbas   : 0x1\n"));
  EXPECT_THAT(text, HasSubstr("\nmc      : 0\n"));
  EXPECT_THAT(text, HasSubstr("\ndpc     : 0\n"));
  EXPECT_THAT(text, HasSubstr("\ndps     : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnmic    : 0\n"));
  EXPECT_THAT(text, HasSubstr("\nnvmcap  : 1073741824\n"));
  EXPECT_THAT(text, HasSubstr("\nnguid   : 000102030405060708090a0b0c0d0e0f\n"));
  EXPECT_THAT(text, HasSubstr("\neui64   : a0a1a2a3a4a5a6a7\n"));
  EXPECT_THAT(text, HasSubstr("\nlbaf  0 : ms:0   lbads:9  rp:0x1\n"));
  EXPECT_THAT(text, HasSubstr("\nlbaf  1 : ms:0   lbads:12 rp:0 (in use)\n"));
  EXPECT_THAT(text, Not(HasSubstr("lbaf  2")));
}

TEST(IdentifyHelpers, Strings) {
  char sn[20];
  Ascii(sn, sizeof(sn), "ABC");
  EXPECT_EQ(IdString(sn, sizeof(sn)), "ABC");
  EXPECT_EQ(FormatVersion(0x00010400), "1.4.0");
  EXPECT_EQ(FormatVersion(0x00020001), "2.0.1");
  uint8_t big[16] = {};
  big[8] = 1;  // 2^64
  EXPECT_EQ(LittleEndianDecimal(big, 16), "18446744073709551616");
  uint8_t bytes[3] = {0x0a, 0xff, 0x00};
  EXPECT_EQ(HexBytes(bytes, 3), "0aff00");
}

TEST(IdentifyHelpers, InUseLbaFormatUsesTheHighFlbasBits) {
  nvme_id_ns id{};
  id.flbas = 0x3;
  EXPECT_EQ(InUseLbaFormat(id), 3u);
  id.flbas = 0x20 | 0x2;  // FLBAS bits 6:5 = 01b -> format 0x12
  EXPECT_EQ(InUseLbaFormat(id), 0x12u);
  id.flbas = 0x10 | 0x1;  // bit 4 is the metadata setting, not part of the index
  EXPECT_EQ(InUseLbaFormat(id), 1u);
}

TEST(IdentifyJson, ControllerKeysAndValues) {
  auto j = IdCtrlJson(KnownCtrl());
  EXPECT_EQ(j["vid"], 0x1b36);
  EXPECT_EQ(j["sn"], "SN1234");
  EXPECT_EQ(j["mn"], "Known Model");
  EXPECT_EQ(j["ieee"], 0x123456);
  EXPECT_EQ(j["mdts"], 7);
  EXPECT_EQ(j["ver"], 0x20000);
  EXPECT_EQ(j["nn"], 4);
  EXPECT_EQ(j["tnvmcap"], 4294967296ull);
  EXPECT_EQ(j["subnqn"], "nqn.2026-11.dev.nvemu:known");
  ASSERT_EQ(j["psds"].size(), 2u);
  EXPECT_EQ(j["psds"][0]["max_power"], 2500);
  EXPECT_EQ(j["psds"][1]["flags"], 2);
}

TEST(IdentifyJson, NamespaceKeysAndValues) {
  auto j = IdNsJson(KnownNs());
  EXPECT_EQ(j["nsze"], 0x200000);
  EXPECT_EQ(j["nuse"], 0x800);
  EXPECT_EQ(j["flbas"], 1);
  EXPECT_EQ(j["nguid"], "000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(j["eui64"], "a0a1a2a3a4a5a6a7");
  ASSERT_EQ(j["lbafs"].size(), 2u);
  EXPECT_EQ(j["lbafs"][1]["ds"], 12);
}

}  // namespace
}  // namespace nvemu::app
