#include "app/identify_json.h"

#include <cstring>

#include "app/identify_print.h"

namespace nvemu::app {
namespace {

using Json = nlohmann::ordered_json;

// A 128-bit little-endian counter: a number when it fits in 64 bits, else a decimal string.
Json Wide(const uint8_t* bytes, size_t len) {
  bool high = false;
  for (size_t i = 8; i < len; ++i) high |= bytes[i] != 0;
  if (high) return LittleEndianDecimal(bytes, len);
  uint64_t v = 0;
  std::memcpy(&v, bytes, 8);
  return v;
}

Json PowerStates(const nvme_id_ctrl& id) {
  Json list = Json::array();
  for (int i = 0; i <= id.npss && i < 32; ++i) {
    const nvme_id_psd& p = id.psd[i];
    list.push_back({{"max_power", p.mp},
                    {"flags", p.flags},
                    {"entry_lat", p.enlat},
                    {"exit_lat", p.exlat},
                    {"read_tput", p.rrt},
                    {"read_lat", p.rrl},
                    {"write_tput", p.rwt},
                    {"write_lat", p.rwl},
                    {"idle_power", p.idlp},
                    {"idle_scale", p.ips},
                    {"active_power", p.actp},
                    {"active_work_scale", p.apws}});
  }
  return list;
}

}  // namespace

Json IdCtrlJson(const nvme_id_ctrl& id) {
  Json j;
  j["vid"] = id.vid;
  j["ssvid"] = id.ssvid;
  j["sn"] = IdString(id.sn, sizeof(id.sn));
  j["mn"] = IdString(id.mn, sizeof(id.mn));
  j["fr"] = IdString(id.fr, sizeof(id.fr));
  j["rab"] = id.rab;
  j["ieee"] = (uint32_t{id.ieee[2]} << 16) | (uint32_t{id.ieee[1]} << 8) | id.ieee[0];
  j["cmic"] = id.cmic;
  j["mdts"] = id.mdts;
  j["cntlid"] = id.cntlid;
  j["ver"] = id.ver;
  j["rtd3r"] = id.rtd3r;
  j["rtd3e"] = id.rtd3e;
  j["oaes"] = id.oaes;
  j["ctratt"] = id.ctratt;
  j["rrls"] = id.rrls;
  j["cntrltype"] = id.cntrltype;
  j["fguid"] = HexBytes(id.fguid, sizeof(id.fguid));
  j["crdt1"] = id.crdt1;
  j["crdt2"] = id.crdt2;
  j["crdt3"] = id.crdt3;
  j["nvmsr"] = id.nvmsr;
  j["vwci"] = id.vwci;
  j["mec"] = id.mec;
  j["oacs"] = id.oacs;
  j["acl"] = id.acl;
  j["aerl"] = id.aerl;
  j["frmw"] = id.frmw;
  j["lpa"] = id.lpa;
  j["elpe"] = id.elpe;
  j["npss"] = id.npss;
  j["avscc"] = id.avscc;
  j["apsta"] = id.apsta;
  j["wctemp"] = id.wctemp;
  j["cctemp"] = id.cctemp;
  j["mtfa"] = id.mtfa;
  j["hmpre"] = id.hmpre;
  j["hmmin"] = id.hmmin;
  j["tnvmcap"] = Wide(id.tnvmcap, sizeof(id.tnvmcap));
  j["unvmcap"] = Wide(id.unvmcap, sizeof(id.unvmcap));
  j["rpmbs"] = id.rpmbs;
  j["edstt"] = id.edstt;
  j["dsto"] = id.dsto;
  j["fwug"] = id.fwug;
  j["kas"] = id.kas;
  j["hctma"] = id.hctma;
  j["mntmt"] = id.mntmt;
  j["mxtmt"] = id.mxtmt;
  j["sanicap"] = id.sanicap;
  j["hmminds"] = id.hmminds;
  j["hmmaxd"] = id.hmmaxd;
  j["nsetidmax"] = id.nsetidmax;
  j["endgidmax"] = id.endgidmax;
  j["anatt"] = id.anatt;
  j["anacap"] = id.anacap;
  j["anagrpmax"] = id.anagrpmax;
  j["nanagrpid"] = id.nanagrpid;
  j["pels"] = id.pels;
  j["domainid"] = id.domainid;
  j["megcap"] = Wide(id.megcap, sizeof(id.megcap));
  j["sqes"] = id.sqes;
  j["cqes"] = id.cqes;
  j["maxcmd"] = id.maxcmd;
  j["nn"] = id.nn;
  j["oncs"] = id.oncs;
  j["fuses"] = id.fuses;
  j["fna"] = id.fna;
  j["vwc"] = id.vwc;
  j["awun"] = id.awun;
  j["awupf"] = id.awupf;
  j["icsvscc"] = id.icsvscc;
  j["nwpc"] = id.nwpc;
  j["acwu"] = id.acwu;
  j["ocfs"] = id.ocfs;
  j["sgls"] = id.sgls;
  j["mnan"] = id.mnan;
  j["maxdna"] = Wide(id.maxdna, sizeof(id.maxdna));
  j["maxcna"] = id.maxcna;
  j["subnqn"] = std::string(id.subnqn, strnlen(id.subnqn, sizeof(id.subnqn)));
  j["ioccsz"] = id.ioccsz;
  j["iorcsz"] = id.iorcsz;
  j["icdoff"] = id.icdoff;
  j["fcatt"] = id.fcatt;
  j["msdbd"] = id.msdbd;
  j["ofcs"] = id.ofcs;
  j["psds"] = PowerStates(id);
  return j;
}

Json IdNsJson(const nvme_id_ns& id) {
  Json j;
  j["nsze"] = id.nsze;
  j["ncap"] = id.ncap;
  j["nuse"] = id.nuse;
  j["nsfeat"] = id.nsfeat;
  j["nlbaf"] = id.nlbaf;
  j["flbas"] = id.flbas;
  j["mc"] = id.mc;
  j["dpc"] = id.dpc;
  j["dps"] = id.dps;
  j["nmic"] = id.nmic;
  j["rescap"] = id.rescap;
  j["fpi"] = id.fpi;
  j["dlfeat"] = id.dlfeat;
  j["nawun"] = id.nawun;
  j["nawupf"] = id.nawupf;
  j["nacwu"] = id.nacwu;
  j["nabsn"] = id.nabsn;
  j["nabo"] = id.nabo;
  j["nabspf"] = id.nabspf;
  j["noiob"] = id.noiob;
  j["nvmcap"] = Wide(id.nvmcap, sizeof(id.nvmcap));
  j["npwg"] = id.npwg;
  j["npwa"] = id.npwa;
  j["npdg"] = id.npdg;
  j["npda"] = id.npda;
  j["nows"] = id.nows;
  j["mssrl"] = id.mssrl;
  j["mcl"] = id.mcl;
  j["msrc"] = id.msrc;
  j["nulbaf"] = id.nulbaf;
  j["anagrpid"] = id.anagrpid;
  j["nsattr"] = id.nsattr;
  j["nvmsetid"] = id.nvmsetid;
  j["endgid"] = id.endgid;
  j["nguid"] = HexBytes(id.nguid, sizeof(id.nguid));
  j["eui64"] = HexBytes(id.eui64, sizeof(id.eui64));
  Json lbafs = Json::array();
  for (unsigned i = 0; i <= id.nlbaf && i < 64; ++i) {
    lbafs.push_back({{"ms", id.lbaf[i].ms}, {"ds", id.lbaf[i].ds}, {"rp", id.lbaf[i].rp}});
  }
  j["lbafs"] = lbafs;
  return j;
}

}  // namespace nvemu::app
