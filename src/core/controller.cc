#include "core/controller.h"

#include <spdlog/spdlog.h>

#include <cassert>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"

namespace nvemu {

uint64_t MakeCap(const ControllerConfig& c) {
  uint64_t cap = 0;
  cap |= static_cast<uint64_t>(c.mqes & 0xffff);              // MQES
  cap |= static_cast<uint64_t>(c.cqr ? 1 : 0) << 16;          // CQR
  cap |= static_cast<uint64_t>(reg::kCapAmsWrrUrgent) << 17;  // AMS: WRR with urgent
  cap |= static_cast<uint64_t>(c.timeout_500ms) << 24;        // TO
  cap |= static_cast<uint64_t>(c.dstrd & 0xf) << 32;          // DSTRD
  cap |= 1ull << 36;                                          // NSSRS
  cap |= 1ull << 37;                                          // CSS: NVM command set
  cap |= static_cast<uint64_t>(c.mpsmin & 0xf) << 48;         // MPSMIN
  cap |= static_cast<uint64_t>(c.mpsmax & 0xf) << 52;         // MPSMAX
  return cap;
}

Controller::Controller(const ControllerConfig& config, Subsystem& subsystem, uint16_t cntlid,
                       const Clock& clock)
    : config_(config),
      clock_(clock),
      subsystem_(subsystem),
      cntlid_(cntlid),
      regs_(MakeCap(config), reg::kVersion20),
      allocated_sqs_(config.max_io_queues),
      allocated_cqs_(config.max_io_queues),
      io_state_(cntlid, config.max_io_queues) {
  admin_ = std::make_unique<AdminState>(subsystem.health());
  io_ctx_.namespaces = &active_namespaces_;
  io_ctx_.stats = &admin_->health.io();
  io_ctx_.controller = &io_state_;
  // Asynchronous Event Requests complete later, through the front end (admin/aer.cc).
  async_events_.SetDeliver([this](uint16_t cid, uint32_t dw0) {
    if (front_end_) front_end_->CompleteDeferred(0, cid, Status::Success(), dw0);
  });
  async_events_.SetObserver([this](const AsyncEvent& e) {
    if (e.type == AsyncEventType::kError) {
      admin_->errors.Record(ErrorLog::Entry{});
      admin_->health.CountErrorEntry();
    }
  });
  Subsystem::ControllerHooks hooks;
  hooks.table = &active_namespaces_;
  hooks.quiesce_io = [this] {
    if (front_end_) front_end_->QuiesceIo();
  };
  hooks.namespace_changed = [this](uint32_t nsid) { NoteNamespaceChanged(*this, nsid); };
  subsystem_.AddController(cntlid_, std::move(hooks));
  AdminStateInit(*this);
  if (config_.mdts != 0) {
    io_ctx_.max_transfer_bytes = (1ull << config_.mdts) << (12 + config_.mpsmin);
  }
}

BusyClock& Controller::io_busy() { return admin_->health.busy(); }

Controller::~Controller() {
  subsystem_.RemoveController(cntlid_);
  delete active_namespaces_.exchange(nullptr);
}

uint64_t Controller::ReadRegister(uint32_t offset, unsigned size) {
  if (fatal_.exchange(false, std::memory_order_acq_rel)) {
    regs_.set_csts(regs_.csts() | reg::kCstsCfs);
  }
  return regs_.Read(offset, size);
}

RegisterWrite Controller::WriteRegister(uint32_t offset, unsigned size, uint64_t value) {
  RegisterWrite w = regs_.Write(offset, size, value);
  cc_snapshot_.store(regs_.cc().v, std::memory_order_release);
  switch (w.event) {
    case RegisterEvent::kCc:
      OnCcWrite(w.old_value);
      break;
    case RegisterEvent::kNssr:
      SubsystemReset();
      break;
    default:
      break;
  }
  return w;
}

// NVMe Base 2.0, 3.1.3.5 and 3.6: CC.EN and CC.SHN edges, handled in one place.
//   - SHN 00b -> 01b/10b: shutdown (Shutdown), whatever EN is; CSTS.SHST ends at 10b.
//   - EN 1 -> 0: Controller Level Reset (3.7.2). It clears CSTS.SHST, except when the same write
//     started a shutdown (SHN set and EN cleared at once): the host then waits for SHST = 10b, so
//     the reset keeps it (as Linux nvmet does).
//   - SHN -> 00b while the controller is disabled: SHST returns to 00b (after the combined write
//     above, this is how the host ends the shutdown state); with EN still 1 a reset is needed first
//     (3.6.1), so SHST stays.
//   - EN 0 -> 1: Enable, refused while SHST is not 00b.
void Controller::OnCcWrite(uint32_t old_value) {
  const reg::Cc old_cc{old_value};
  const reg::Cc cc = regs_.cc();
  const bool shn_set = cc.shn() != reg::kShnNone && old_cc.shn() == reg::kShnNone;
  const bool shn_cleared = cc.shn() == reg::kShnNone && old_cc.shn() != reg::kShnNone;
  if (shn_set) Shutdown(cc.shn());
  if (old_cc.en() && !cc.en()) Reset(/*keep_shutdown_status=*/shn_set);
  if (shn_cleared && !old_cc.en()) regs_.set_csts(regs_.csts() & ~reg::kCstsShstMask);
  if (!old_cc.en() && cc.en()) Enable();
}

const char* Controller::ValidateEnable() const {
  reg::Cap cap = regs_.cap();
  reg::Cc cc = regs_.cc();
  if (cc.mps() < cap.mpsmin() || cc.mps() > cap.mpsmax())
    return "CC.MPS outside CAP.MPSMIN..MPSMAX";
  if (cc.css() != 0) return "CC.CSS selects an unsupported command set";
  if (cc.ams() != reg::kAmsRoundRobin && cc.ams() != reg::kAmsWrrUrgent) {
    return "CC.AMS selects an unsupported arbitration mechanism";
  }
  if (message_based_) return nullptr;  // no admin queue registers on fabrics
  uint32_t aqa = regs_.aqa();
  // 3.1.3.8: the admin queues hold at least 2 entries.
  if (reg::AqaAsqs(aqa) < 1) return "AQA.ASQS is less than 2 entries";
  if (reg::AqaAcqs(aqa) < 1) return "AQA.ACQS is less than 2 entries";
  uint64_t page_mask = (1ull << (12 + cc.mps())) - 1;
  if (regs_.asq() == 0 || (regs_.asq() & page_mask)) return "ASQ is zero or not page aligned";
  if (regs_.acq() == 0 || (regs_.acq() & page_mask)) return "ACQ is zero or not page aligned";
  return nullptr;
}

void Controller::Enable() {
  uint32_t csts = regs_.csts();
  if (csts & reg::kCstsShstMask) {
    spdlog::warn("controller: CC.EN=1 after shutdown without a reset; ignored");
    return;
  }
  if (const char* why = ValidateEnable()) {
    // A real controller fails to become ready; we also raise CFS so hosts see it at once.
    spdlog::error("controller: enable failed: {}", why);
    regs_.set_csts(csts | reg::kCstsCfs);
    return;
  }
  page_size_.store(1u << (12 + regs_.cc().mps()), std::memory_order_release);
  Status st = front_end_ ? front_end_->EnableQueues() : sc::kInternalError;
  if (!st.ok()) {
    spdlog::error("controller: enable failed: admin queues: {}", st.ToString());
    regs_.set_csts(csts | reg::kCstsCfs);
    return;
  }
  ready_.store(true, std::memory_order_release);
  regs_.set_csts((csts & ~reg::kCstsCfs) | reg::kCstsRdy);
  AdminStateOnEnable(*this);
  spdlog::info("controller: enabled (MPS {} B, admin SQ {} / CQ {} entries)", page_size(),
               reg::AqaAsqs(regs_.aqa()) + 1, reg::AqaAcqs(regs_.aqa()) + 1);
}

void Controller::ResetAdminState() {
  allocated_sqs_ = config_.max_io_queues;
  allocated_cqs_ = config_.max_io_queues;
  io_state_.set_volatile_write_cache(true);
  io_state_.ReleaseAllFused();  // queues are gone: no fused pair can complete
  AdminStateOnReset(*this);     // features, AERs, firmware activation (admin/admin_state.cc)
}

// Stops every queue through the front end and checks its contract (core/front_end.h): once
// DisableQueues returns, no I/O command of this controller executes any more.
void Controller::StopQueues() {
  ready_.store(false, std::memory_order_release);
  if (front_end_) front_end_->DisableQueues();
#ifndef NDEBUG
  if (int n = io_in_flight_.load(std::memory_order_acquire); n != 0) {
    spdlog::critical("controller: {} I/O command(s) still executing after DisableQueues", n);
    assert(n == 0 && "FrontEnd::DisableQueues returned with I/O in flight");
  }
#endif
}

// 3.7.2 Controller Level Reset (CC.EN 1 -> 0): queues are deleted and outstanding commands
// completed or aborted by the front end; CSTS.RDY clears once that is done. `keep_shutdown_status`:
// the same CC write started a shutdown, which stays reported in CSTS.SHST (see OnCcWrite).
void Controller::Reset(bool keep_shutdown_status) {
  StopQueues();
  ResetAdminState();
  const uint32_t cc = regs_.cc().v;
  const uint32_t shst = regs_.csts() & reg::kCstsShstMask;
  regs_.ResetForControllerReset();
  regs_.set_cc(cc);  // the host's CC (EN=0) stays visible
  if (keep_shutdown_status) regs_.set_csts(regs_.csts() | shst);
  fatal_.store(false);
  spdlog::info("controller: reset");
}

// 3.6.1 / 3.6.2 shutdown: stop processing, make data durable, report SHST complete. CSTS.RDY keeps
// its value (it follows CC.EN), but the controller accepts no command until it is reset.
void Controller::Shutdown(uint8_t shn) {
  uint32_t csts = regs_.csts();
  regs_.set_csts((csts & ~reg::kCstsShstMask) | (reg::kShstOccurring << reg::kCstsShstShift));
  StopQueues();
  subsystem_.FlushAll();
  regs_.set_csts((regs_.csts() & ~reg::kCstsShstMask) |
                 (reg::kShstComplete << reg::kCstsShstShift));
  AdminStateOnShutdown(*this);  // persists counters; the next power-off is a safe one
  spdlog::info("controller: {} shutdown complete", shn == reg::kShnAbrupt ? "abrupt" : "normal");
}

// 3.7.1 NVM Subsystem Reset: every register returns to its reset value and CSTS.NSSRO is set.
void Controller::SubsystemReset() {
  StopQueues();
  ResetAdminState();
  async_events_.Clear();
  regs_ = RegisterFile(MakeCap(config_), reg::kVersion20);
  regs_.set_csts(reg::kCstsNssro);
  cc_snapshot_.store(0);
  fatal_.store(false);
  spdlog::info("controller: NVM subsystem reset");
}

void Controller::ResetToPowerOn() {
  StopQueues();
  ResetAdminState();
  async_events_.Clear();
  regs_ = RegisterFile(MakeCap(config_), reg::kVersion20);
  cc_snapshot_.store(0);
  fatal_.store(false);
}

void Controller::PowerOff() {
  StopQueues();
  subsystem_.FlushAll();
  AdminStateOnPowerOff(*this);  // SMART counters and firmware to the state file
}

Status Controller::ExecuteAdmin(Request& req) {
  if (abort_markers_.load(std::memory_order_relaxed) != 0 && TakeAbortMarker(req)) {
    return sc::kAbortRequested;
  }
  Status st = ExecuteAdminCommand(*this, req);
  // Delete I/O Submission Queue: a fused pair waiting for its second command is dropped.
  if (req.sqe.opc == 0x00 && st.ok()) io_state_.ReleaseFused(req.sqe.cdw10 & 0xffff);
  return st;
}

}  // namespace nvemu
