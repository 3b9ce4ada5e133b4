#include "app/identify_print.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace nvemu::app {
namespace {

// C's "%#x": 0 prints as "0", anything else as "0x..." (what nvme-cli shows).
std::string Hex(uint64_t v) { return v == 0 ? "0" : fmt::format("{:#x}", v); }

class Lines {
 public:
  explicit Lines(int width) : width_(width) {}
  template <typename T>
  void Add(std::string_view name, const T& value) {
    fmt::format_to(std::back_inserter(out_), "{:<{}}: {}\n", name, width_, value);
  }
  void Raw(std::string_view text) { out_ += text; }
  std::string Take() { return std::move(out_); }

 private:
  int width_;
  std::string out_;
};

// NVMe Base 2.0, Figure 276: MP in 0.01 W, or 0.0001 W when MXPS (flags bit 0) is set.
std::string MaxPower(const nvme_id_psd& psd) {
  if (psd.flags & 0x1) return fmt::format("{}.{:04}W", psd.mp / 10000, psd.mp % 10000);
  return fmt::format("{}.{:02}W", psd.mp / 100, psd.mp % 100);
}

// IDLP/ACTP with their scale (bits 7:6 of IPS / APWS): "-" when not reported.
std::string ScaledPower(uint16_t power, uint8_t scale_bits) {
  switch ((scale_bits >> 6) & 0x3) {
    case 1:
      return fmt::format("{}.{:04}W", power / 10000, power % 10000);
    case 2:
      return fmt::format("{}.{:02}W", power / 100, power % 100);
    case 0:
      return "-";
    default:
      return "reserved";
  }
}

std::string PowerState(const nvme_id_psd& psd, int index) {
  return fmt::format(
      "ps {:4} : mp:{} {}operational enlat:{} exlat:{} rrt:{} rrl:{}\n"
      "          rwt:{} rwl:{} idle_power:{} active_power:{}\n",
      index, MaxPower(psd), (psd.flags & 0x2) ? "non-" : "", psd.enlat, psd.exlat, psd.rrt, psd.rrl,
      psd.rwt, psd.rwl, ScaledPower(psd.idlp, psd.ips), ScaledPower(psd.actp, psd.apws));
}

// FGUID is printed as a UUID-style string, as nvme-cli does.
std::string Guid(const uint8_t* b) {
  return fmt::format("{}-{}-{}-{}-{}", HexBytes(b, 4), HexBytes(b + 4, 2), HexBytes(b + 6, 2),
                     HexBytes(b + 8, 2), HexBytes(b + 10, 6));
}

std::string Nqn(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

}  // namespace

std::string IdString(const char* field, size_t len) {
  std::string s(field, strnlen(field, len));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

std::string FormatVersion(uint32_t ver) {
  return fmt::format("{}.{}.{}", ver >> 16, (ver >> 8) & 0xff, ver & 0xff);
}

unsigned InUseLbaFormat(const nvme_id_ns& id) {
  return (id.flbas & 0xf) | (((id.flbas >> 5) & 0x3) << 4);
}

std::string LittleEndianDecimal(const uint8_t* bytes, size_t len) {
  unsigned __int128 v = 0;
  for (size_t i = std::min<size_t>(len, 16); i-- > 0;) v = (v << 8) | bytes[i];
  if (v == 0) return "0";
  std::string digits;
  while (v != 0) {
    digits.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  std::reverse(digits.begin(), digits.end());
  return digits;
}

std::string HexBytes(const uint8_t* bytes, size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) fmt::format_to(std::back_inserter(s), "{:02x}", bytes[i]);
  return s;
}

std::string FormatIdCtrl(const nvme_id_ctrl& id) {
  Lines l(10);
  l.Raw("NVME Identify Controller:\n");
  l.Add("vid", Hex(id.vid));
  l.Add("ssvid", Hex(id.ssvid));
  l.Add("sn", IdString(id.sn, sizeof(id.sn)));
  l.Add("mn", IdString(id.mn, sizeof(id.mn)));
  l.Add("fr", IdString(id.fr, sizeof(id.fr)));
  l.Add("rab", id.rab);
  l.Add("ieee", fmt::format("{:02x}{:02x}{:02x}", id.ieee[2], id.ieee[1], id.ieee[0]));
  l.Add("cmic", Hex(id.cmic));
  l.Add("mdts", id.mdts);
  l.Add("cntlid", Hex(id.cntlid));
  l.Add("ver", Hex(id.ver));
  l.Add("rtd3r", Hex(id.rtd3r));
  l.Add("rtd3e", Hex(id.rtd3e));
  l.Add("oaes", Hex(id.oaes));
  l.Add("ctratt", Hex(id.ctratt));
  l.Add("rrls", Hex(id.rrls));
  l.Add("cntrltype", id.cntrltype);
  l.Add("fguid", Guid(id.fguid));
  l.Add("crdt1", id.crdt1);
  l.Add("crdt2", id.crdt2);
  l.Add("crdt3", id.crdt3);
  l.Add("nvmsr", id.nvmsr);
  l.Add("vwci", id.vwci);
  l.Add("mec", id.mec);
  l.Add("oacs", Hex(id.oacs));
  l.Add("acl", id.acl);
  l.Add("aerl", id.aerl);
  l.Add("frmw", Hex(id.frmw));
  l.Add("lpa", Hex(id.lpa));
  l.Add("elpe", id.elpe);
  l.Add("npss", id.npss);
  l.Add("avscc", Hex(id.avscc));
  l.Add("apsta", Hex(id.apsta));
  l.Add("wctemp", id.wctemp);
  l.Add("cctemp", id.cctemp);
  l.Add("mtfa", id.mtfa);
  l.Add("hmpre", id.hmpre);
  l.Add("hmmin", id.hmmin);
  l.Add("tnvmcap", LittleEndianDecimal(id.tnvmcap, sizeof(id.tnvmcap)));
  l.Add("unvmcap", LittleEndianDecimal(id.unvmcap, sizeof(id.unvmcap)));
  l.Add("rpmbs", Hex(id.rpmbs));
  l.Add("edstt", id.edstt);
  l.Add("dsto", id.dsto);
  l.Add("fwug", id.fwug);
  l.Add("kas", id.kas);
  l.Add("hctma", Hex(id.hctma));
  l.Add("mntmt", id.mntmt);
  l.Add("mxtmt", id.mxtmt);
  l.Add("sanicap", Hex(id.sanicap));
  l.Add("hmminds", id.hmminds);
  l.Add("hmmaxd", id.hmmaxd);
  l.Add("nsetidmax", id.nsetidmax);
  l.Add("endgidmax", id.endgidmax);
  l.Add("anatt", id.anatt);
  l.Add("anacap", id.anacap);
  l.Add("anagrpmax", id.anagrpmax);
  l.Add("nanagrpid", id.nanagrpid);
  l.Add("pels", id.pels);
  l.Add("domainid", id.domainid);
  l.Add("megcap", LittleEndianDecimal(id.megcap, sizeof(id.megcap)));
  l.Add("sqes", Hex(id.sqes));
  l.Add("cqes", Hex(id.cqes));
  l.Add("maxcmd", id.maxcmd);
  l.Add("nn", id.nn);
  l.Add("oncs", Hex(id.oncs));
  l.Add("fuses", Hex(id.fuses));
  l.Add("fna", Hex(id.fna));
  l.Add("vwc", Hex(id.vwc));
  l.Add("awun", id.awun);
  l.Add("awupf", id.awupf);
  l.Add("icsvscc", id.icsvscc);
  l.Add("nwpc", id.nwpc);
  l.Add("acwu", id.acwu);
  l.Add("ocfs", Hex(id.ocfs));
  l.Add("sgls", Hex(id.sgls));
  l.Add("mnan", id.mnan);
  l.Add("maxdna", LittleEndianDecimal(id.maxdna, sizeof(id.maxdna)));
  l.Add("maxcna", id.maxcna);
  l.Add("subnqn", Nqn(id.subnqn, sizeof(id.subnqn)));
  l.Add("ioccsz", id.ioccsz);
  l.Add("iorcsz", id.iorcsz);
  l.Add("icdoff", id.icdoff);
  l.Add("fcatt", Hex(id.fcatt));
  l.Add("msdbd", id.msdbd);
  l.Add("ofcs", id.ofcs);
  for (int i = 0; i <= id.npss && i < 32; ++i) l.Raw(PowerState(id.psd[i], i));
  return l.Take();
}

std::string FormatIdNs(const nvme_id_ns& id, uint32_t nsid) {
  Lines l(8);
  l.Raw(fmt::format("NVME Identify Namespace {}:\n", nsid));
  l.Add("nsze", Hex(id.nsze));
  l.Add("ncap", Hex(id.ncap));
  l.Add("nuse", Hex(id.nuse));
  l.Add("nsfeat", Hex(id.nsfeat));
  l.Add("nlbaf", id.nlbaf);
  l.Add("flbas", Hex(id.flbas));
  l.Add("mc", Hex(id.mc));
  l.Add("dpc", Hex(id.dpc));
  l.Add("dps", Hex(id.dps));
  l.Add("nmic", Hex(id.nmic));
  l.Add("rescap", Hex(id.rescap));
  l.Add("fpi", Hex(id.fpi));
  l.Add("dlfeat", id.dlfeat);
  l.Add("nawun", id.nawun);
  l.Add("nawupf", id.nawupf);
  l.Add("nacwu", id.nacwu);
  l.Add("nabsn", id.nabsn);
  l.Add("nabo", id.nabo);
  l.Add("nabspf", id.nabspf);
  l.Add("noiob", id.noiob);
  l.Add("nvmcap", LittleEndianDecimal(id.nvmcap, sizeof(id.nvmcap)));
  l.Add("npwg", id.npwg);
  l.Add("npwa", id.npwa);
  l.Add("npdg", id.npdg);
  l.Add("npda", id.npda);
  l.Add("nows", id.nows);
  l.Add("mssrl", id.mssrl);
  l.Add("mcl", id.mcl);
  l.Add("msrc", id.msrc);
  l.Add("nulbaf", id.nulbaf);
  l.Add("anagrpid", id.anagrpid);
  l.Add("nsattr", id.nsattr);
  l.Add("nvmsetid", id.nvmsetid);
  l.Add("endgid", id.endgid);
  l.Add("nguid", HexBytes(id.nguid, sizeof(id.nguid)));
  l.Add("eui64", HexBytes(id.eui64, sizeof(id.eui64)));
  unsigned in_use = InUseLbaFormat(id);
  for (unsigned i = 0; i <= id.nlbaf && i < 64; ++i) {
    const nvme_lbaf& f = id.lbaf[i];
    l.Raw(fmt::format("lbaf {:2} : ms:{:<3} lbads:{:<2} rp:{}{}\n", i, f.ms, f.ds, Hex(f.rp),
                      i == in_use ? " (in use)" : ""));
  }
  return l.Take();
}

}  // namespace nvemu::app
