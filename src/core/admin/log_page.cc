// NVMe Base 2.0, 5.16 Get Log Page: CDW10 LID[7:0], LSP[14:8], RAE[15], NUMDL[31:16]; CDW11
// NUMDU[15:0]; CDW12/13 LPOL/LPOU (byte offset, dword aligned; LPA bit 2); CDW14 OT[23],
// CSI[31:24].
//
// Each log page is built whole by one function of the table below; the handler then copies NUMD+1
// dwords from LPO (bytes past the end of the page read as zero). RAE = 0 clears the asynchronous
// events reported for that log page (5.2) and, for log 04h, the list itself. The same table says
// whether a page accepts index offsets (OT = 1; none does yet) and builds the Supported Log Pages
// page (00h, core/admin/log_support.h), so that page lists exactly what this command returns.
#include <nvme/types.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <vector>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/admin/log_support.h"
#include "core/controller.h"
#include "nvm/io_cmd.h"

static_assert(sizeof(nvme_error_log_page) == 64 && sizeof(nvme_smart_log) == 512);
static_assert(sizeof(nvme_firmware_slot) == 512 && sizeof(nvme_cmd_effects_log) == 4096);
static_assert(sizeof(nvme_self_test_log) == 564);
static_assert(sizeof(nvme_supported_log_pages) == 1024);

namespace nvemu {
namespace {

constexpr uint8_t kLogEffects = 0x05;
constexpr uint8_t kLogSelfTest = 0x06;

using Page = std::vector<uint8_t>;

template <typename T>
Page Bytes(const T& v) {
  Page p(sizeof(T));
  std::memcpy(p.data(), &v, sizeof(T));
  return p;
}

// 00h Supported Log Pages (5.16.1.1): built from kLogTable below.
Status SupportedLogPages(Controller& ctrl, Request& req, Page* page);

// 01h Error Information (5.16.1.2): 64 entries, newest first.
Status ErrorInformation(Controller& ctrl, Request&, Page* page) {
  auto entries = ctrl.admin_state().errors.Page();
  page->resize(entries.size() * sizeof(nvme_error_log_page));
  std::memcpy(page->data(), entries.data(), page->size());
  return Status::Success();
}

// 02h SMART / Health Information (5.16.1.3). Controller-wide only (LPA bit 0 = 0): a specific
// NSID is Invalid Field.
Status SmartHealth(Controller& ctrl, Request& req, Page* page) {
  if (req.sqe.nsid != 0 && req.sqe.nsid != 0xffffffff) return InvalidFieldAt(req, 4);
  AdminState& a = ctrl.admin_state();
  *page = Bytes(a.health.Page(ctrl.clock().NowNs(), a.features.temp_over, a.features.temp_under));
  return Status::Success();
}

// 03h Firmware Slot Information (5.16.1.4): AFI and the revision in each slot.
Status FirmwareSlots(Controller& ctrl, Request&, Page* page) {
  const FirmwareState& fw = ctrl.admin_state().firmware;
  nvme_firmware_slot log{};
  log.afi = static_cast<uint8_t>(fw.active | fw.next << 4);
  for (size_t i = 0; i < ctrl.config().firmware_slots; ++i) {
    const std::string& rev = fw.slots[i].revision;
    if (rev.empty()) continue;
    std::memset(log.frs[i], ' ', 8);
    std::memcpy(log.frs[i], rev.data(), std::min<size_t>(8, rev.size()));
  }
  *page = Bytes(log);
  return Status::Success();
}

// 04h Changed Namespace List (5.16.1.5): up to 1024 NSIDs; more changed -> FFFFFFFFh alone.
Status ChangedNamespaces(Controller& ctrl, Request& req, Page* page) {
  std::lock_guard<std::mutex> lock(ctrl.admin_state().changed_mu);
  std::vector<uint32_t>& changed = ctrl.admin_state().changed_namespaces;
  std::array<uint32_t, 1024> list{};
  if (changed.size() > list.size()) {
    list[0] = 0xffffffff;
  } else {
    std::vector<uint32_t> sorted = changed;
    std::sort(sorted.begin(), sorted.end());
    std::copy(sorted.begin(), sorted.end(), list.begin());
  }
  *page = Bytes(list);
  bool rae = (req.sqe.cdw10 >> 15) & 1;
  if (!rae) changed.clear();
  return Status::Success();
}

// 05h Commands Supported and Effects (5.16.1.6, Figure 210), for the NVM command set (CSI 00h).
Status CommandEffects(Controller& ctrl, Request& req, Page* page) {
  if ((req.sqe.cdw14 >> 24) != 0) return InvalidFieldAt(req, offsetof(Sqe, cdw14) + 3);
  nvme_cmd_effects_log log{};
  for (unsigned opc = 0; opc < 256; ++opc) {
    log.acs[opc] = AdminCommandEffects(static_cast<uint8_t>(opc));
    // Doorbell Buffer Config exists only on memory-based (PCIe) controllers (5.11).
    if (opc == 0x7c && ctrl.message_based()) log.acs[opc] = 0;
    if (IsIoCommandSupported(static_cast<uint8_t>(opc))) {
      // Commands that write the medium change logical block content (LBCC, bit 1).
      bool writes = opc == 0x01 || opc == 0x04 || opc == 0x08 || opc == 0x09 || opc == 0x19;
      log.iocs[opc] = 1u | (writes ? 1u << 1 : 0u);
    }
  }
  *page = Bytes(log);
  return Status::Success();
}

// 06h Device Self-test (5.16.1.7): the operation in progress and the last 20 results.
Status SelfTestLog(Controller& ctrl, Request&, Page* page) {
  UpdateSelfTest(ctrl);
  const SelfTestState& st = ctrl.admin_state().self_test;
  nvme_self_test_log log{};
  log.current_operation = st.operation;
  if (st.operation != 0) {
    uint64_t elapsed = ctrl.clock().NowNs() - st.start_ns;
    log.completion = static_cast<uint8_t>(std::min<uint64_t>(99, elapsed * 100 / st.duration_ns));
  }
  for (size_t i = 0; i < 20; ++i) {
    if (i < st.results.size()) {
      log.result[i] = st.results[i];
    } else {
      log.result[i].dsts = NVME_ST_RESULT_NOT_USED;
    }
  }
  *page = Bytes(log);
  return Status::Success();
}

using LogBuilder = Status (*)(Controller&, Request&, Page*);

// One Log Page Identifier: its builder (null = not supported) and whether index offsets (CDW14
// OT = 1, LPO in units of the page's entries) are supported for it (IOS).
struct LogPageEntry {
  LogBuilder build = nullptr;
  bool index_offset = false;
};

constexpr std::array<LogPageEntry, 256> MakeLogTable() {
  std::array<LogPageEntry, 256> t{};
  t[kLogSupportedLogPages] = {SupportedLogPages};
  t[kLogErrorInformation] = {ErrorInformation};
  t[kLogSmartHealth] = {SmartHealth};
  t[kLogFirmwareSlot] = {FirmwareSlots};
  t[kLogChangedNamespaces] = {ChangedNamespaces};
  t[kLogEffects] = {CommandEffects};
  t[kLogSelfTest] = {SelfTestLog};
  return t;
}
constexpr std::array<LogPageEntry, 256> kLogTable = MakeLogTable();

Status SupportedLogPages(Controller&, Request&, Page* page) {
  *page = BuildSupportedLogPages([](uint8_t lid) {
    const LogPageEntry& e = kLogTable[lid];
    return LogSupport{e.build != nullptr, e.index_offset, 0};
  });
  return Status::Success();
}

}  // namespace

Status AdminGetLogPage(Controller& ctrl, Request& req) {
  const Sqe& sqe = req.sqe;
  uint8_t lid = sqe.cdw10 & 0xff;
  bool rae = (sqe.cdw10 >> 15) & 1;
  uint64_t numd = ((sqe.cdw10 >> 16) | (uint64_t{sqe.cdw11 & 0xffff} << 16)) + 1;
  uint64_t offset = sqe.cdw12 | uint64_t{sqe.cdw13} << 32;
  const LogPageEntry& entry = kLogTable[lid];
  // Figure 199: an unsupported or reserved log page is an Invalid Log Page (2.0 also allows
  // Invalid Field in Command here; nvemu reports the more precise status).
  if (entry.build == nullptr) return sc::kInvalidLogPage;
  if (offset & 3) return InvalidFieldAt(req, offsetof(Sqe, cdw12));  // LPO is dword aligned
  // OT = 1 (index offset) only where the Supported Log Pages entry sets IOS.
  if (((sqe.cdw14 >> 23) & 1) != 0 && !entry.index_offset) {
    return InvalidFieldAt(req, offsetof(Sqe, cdw14) + 2, 7);
  }
  Page page;
  if (Status st = entry.build(ctrl, req, &page); !st.ok()) return st;
  // 5.16: an offset beyond the log page is Invalid Field in Command.
  if (offset >= page.size()) return InvalidFieldAt(req, offsetof(Sqe, cdw12));
  uint64_t len = numd * 4;
  if (Status st = req.data->Prepare(len); !st.ok()) return st;
  Status st =
      req.data->Transfer(Direction::kToHost, 0, len, [&](uint8_t* buf, uint64_t off, size_t n) {
        uint64_t from = offset + off;
        size_t have = from < page.size() ? std::min<size_t>(n, page.size() - from) : 0;
        if (have) std::memcpy(buf, page.data() + from, have);
        std::memset(buf + have, 0, n - have);
        return Status::Success();
      });
  if (!st.ok()) return st;
  if (!rae) ctrl.async_events().LogRead(lid);  // 5.2: the host has cleared the event
  return Status::Success();
}

}  // namespace nvemu
