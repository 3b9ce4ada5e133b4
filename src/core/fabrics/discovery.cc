// NVMe Base 2.0, 5.16.1.23 Discovery Log Page (Log Identifier 70h), returned by discovery
// controllers: a 1024-byte header (GENCTR, NUMREC, RECFMT) followed by one 1024-byte entry per
// subsystem the host may connect to, per port (Figures 261 and 262).
//
// Hosts read the header, then the whole log in chunks, and retry while GENCTR changes; any
// dword-aligned LPO/NUMD is honoured and bytes past the end read as zero.
//
// Get Log Page on a discovery controller dispatches through kDiscoveryLogs: 70h, and 00h Supported
// Log Pages (5.16.1.1) built from the same table, so it lists 00h and 70h only. Neither page takes
// index offsets (IOS = 0: OT = 1 is Invalid Field), and the discovery log's LSP options (extended
// entries, port local entries only, all NVM subsystem entries) are not implemented (LIDSP = 0).
#include <nvme/types.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/admin/log_support.h"
#include "core/fabrics/fabrics.h"
#include "core/fabrics/queue.h"

static_assert(sizeof(nvmf_disc_log_entry) == 1024);

namespace nvemu::fabrics {
namespace {

constexpr size_t kHeaderBytes = 1024;
constexpr size_t kEntryBytes = 1024;
constexpr uint16_t kAsqsz = 32;  // admin queue entries a host may request (SQSIZE + 1)

void CopyField(char* dst, size_t len, const std::string& src) {
  std::memset(dst, 0, len);  // ASCII, NUL padded (Figure 262)
  std::memcpy(dst, src.data(), std::min(len - 1, src.size()));
}

// The whole log for a host: entries for the NVM subsystems it may access, on every port.
std::vector<uint8_t> BuildLog(const TargetCore& core, const std::string& hostnqn) {
  std::vector<DiscoveryPort> ports = core.ports();
  std::vector<const SubsystemEntry*> subsystems;
  for (const auto& e : core.subsystems()) {
    if (!e->discovery && e->HostAllowed(hostnqn)) subsystems.push_back(e.get());
  }
  const uint64_t numrec = subsystems.size() * ports.size();
  std::vector<uint8_t> log(kHeaderBytes + numrec * kEntryBytes, 0);
  const uint64_t genctr = core.genctr();
  std::memcpy(&log[0], &genctr, 8);  // GENCTR
  std::memcpy(&log[8], &numrec, 8);  // NUMREC; RECFMT (bytes 16-17) = 0
  size_t off = kHeaderBytes;
  for (const SubsystemEntry* s : subsystems) {
    for (const DiscoveryPort& p : ports) {
      nvmf_disc_log_entry e{};
      e.trtype = NVMF_TRTYPE_TCP;
      e.adrfam = p.adrfam;
      e.subtype = NVME_NQN_NVME;  // 2: an NVM subsystem
      // TREQ: no secure channel requirement specified; SQ flow control may be disabled (C2HData
      // SUCCESS is supported).
      e.treq = NVMF_TREQ_NOT_SPECIFIED | NVMF_TREQ_DISABLE_SQFLOW;
      e.portid = p.portid;
      e.cntlid = kCntlidDynamic;
      e.asqsz = kAsqsz;
      e.eflags = 0;
      CopyField(e.trsvcid, sizeof(e.trsvcid), p.trsvcid);
      CopyField(e.subnqn, sizeof(e.subnqn), s->nqn());
      CopyField(e.traddr, sizeof(e.traddr), p.traddr);
      e.tsas.tcp.sectype = NVMF_TCP_SECTYPE_NONE;
      std::memcpy(&log[off], &e, sizeof(e));
      off += kEntryBytes;
    }
  }
  return log;
}

using LogBuilder = std::vector<uint8_t> (*)(FabricsController&);

std::vector<uint8_t> DiscoveryLog(FabricsController& ctrl) {
  return BuildLog(ctrl.core(), ctrl.hostnqn());
}

std::vector<uint8_t> SupportedLogPages(FabricsController&);

constexpr std::array<LogBuilder, 256> MakeDiscoveryLogs() {
  std::array<LogBuilder, 256> t{};
  t[kLogSupportedLogPages] = SupportedLogPages;
  t[kLidDiscovery] = DiscoveryLog;
  return t;
}
constexpr std::array<LogBuilder, 256> kDiscoveryLogs = MakeDiscoveryLogs();

std::vector<uint8_t> SupportedLogPages(FabricsController&) {
  return BuildSupportedLogPages([](uint8_t lid) {
    return LogSupport{kDiscoveryLogs[lid] != nullptr, false, 0};
  });
}

}  // namespace

// Get Log Page (5.16): CDW10 LID[7:0] NUMDL[31:16], CDW11 NUMDU[15:0], CDW12/13 LPOL/LPOU, CDW14
// OT[23].
Status ExecuteDiscoveryGetLogPage(FabricsController& ctrl, Request& req) {
  const LogBuilder build = kDiscoveryLogs[req.sqe.cdw10 & 0xff];
  if (build == nullptr) return nvemu::sc::kInvalidLogPage;
  const uint64_t numd =
      ((static_cast<uint64_t>(req.sqe.cdw11 & 0xffff) << 16) | (req.sqe.cdw10 >> 16)) + 1;
  const uint64_t len = numd * 4;
  const uint64_t lpo = (static_cast<uint64_t>(req.sqe.cdw13) << 32) | req.sqe.cdw12;
  if (lpo & 3) return nvemu::sc::kInvalidField;                    // the offset is dword aligned
  if ((req.sqe.cdw14 >> 23) & 1) return nvemu::sc::kInvalidField;  // OT: IOS = 0 for both pages
  std::vector<uint8_t> log = build(ctrl);
  if (lpo > log.size()) return nvemu::sc::kInvalidField;
  if (Status st = req.data->Prepare(len); !st.ok()) return st;
  return req.data->Transfer(Direction::kToHost, 0, len, [&](uint8_t* buf, uint64_t off, size_t n) {
    // Bytes [lpo + off, lpo + off + n) of the log; beyond its end they read as zero.
    uint64_t start = lpo + off;
    size_t have = start < log.size() ? std::min<uint64_t>(n, log.size() - start) : 0;
    if (have) std::memcpy(buf, log.data() + start, have);
    std::memset(buf + have, 0, n - have);
    return Status::Success();
  });
}

}  // namespace nvemu::fabrics
