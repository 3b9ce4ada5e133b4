// Controller: the transport-free NVMe controller (NVMe Base 2.0, chapter 3): register state machine
// (CC/CSTS lifecycle, 3.5 and 3.6), admin command execution, features, and the namespaces it
// serves.
//
// Front ends (pcie/, later tcp/) own queues and data movement; they feed commands in as Requests
// and receive Status/dw0 back. Threading:
//   - ReadRegister/WriteRegister: control path; callers serialize them (PcieDevice holds a mutex).
//     CC edges call the FrontEnd synchronously, so RDY is set before WriteRegister returns.
//   - ExecuteAdmin: the admin reactor only.
//   - ExecuteIo: any I/O reactor, concurrently; reads only immutable state. Lock-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/async_events.h"
#include "core/busy_time.h"
#include "core/front_end.h"
#include "core/registers.h"
#include "core/subsystem.h"
#include "nvemu/clock.h"
#include "nvemu/config.h"
#include "nvm/io_cmd.h"
#include "nvm/namespace.h"
#include "spec/request.h"

namespace nvemu {

struct AdminState;

class Controller {
 public:
  // The subsystem (namespaces) and the clock must outlive the controller.
  Controller(const ControllerConfig& config, Subsystem& subsystem, uint16_t cntlid,
             const Clock& clock);
  ~Controller();

  // Must be set before the first register write.
  void SetFrontEnd(FrontEnd* front_end) { front_end_ = front_end; }

  uint64_t ReadRegister(uint32_t offset, unsigned size);
  // Applies a host write and its side effects (enable, reset, shutdown, subsystem reset).
  RegisterWrite WriteRegister(uint32_t offset, unsigned size, uint64_t value);

  Status ExecuteAdmin(Request& req);
  Status ExecuteIo(Request& req) {
#ifndef NDEBUG
    // Debug builds check the FrontEnd contract (StopQueues): no I/O once DisableQueues returned.
    struct InFlight {
      std::atomic<int>& n;
      explicit InFlight(std::atomic<int>& c) : n(c) { n.fetch_add(1, std::memory_order_acq_rel); }
      ~InFlight() { n.fetch_sub(1, std::memory_order_acq_rel); }
    } in_flight(io_in_flight_);
#endif
    // Abort (admin/abort.cc): one relaxed load unless an Abort marked a command not yet fetched.
    if (abort_markers_.load(std::memory_order_relaxed) != 0 && TakeAbortMarker(req)) {
      return sc::kAbortRequested;
    }
    return ExecuteIoCommand(io_ctx_, req);
  }
  // Hint for an I/O command that will execute next (nvm/io_cmd.h); any I/O reactor.
  void PrefetchIo(const Sqe& sqe) const { PrefetchIoCommand(io_ctx_, sqe); }

  // Power-off / process exit: like an abrupt shutdown; flushes backends.
  void PowerOff();
  // Function Level Reset / power-on reset: every register back to its reset value (3.7.1, 3.7.2).
  void ResetToPowerOn();
  // A fatal error on any thread (e.g. an unreadable SQ): CSTS.CFS reads 1 until the next reset.
  void SetFatal() { fatal_.store(true, std::memory_order_release); }
  // CC as last written (readable from any thread).
  reg::Cc cc() const { return reg::Cc{cc_snapshot_.load(std::memory_order_acquire)}; }

  const ControllerConfig& config() const { return config_; }
  const RegisterFile& registers() const { return regs_; }
  // NVMe over Fabrics controllers are message-based: AQA/ASQ/ACQ are reserved (NVMe Base 2.0,
  // 3.1.3), so enabling skips their checks. Set before the first register write.
  void set_message_based(bool on) { message_based_ = on; }
  bool message_based() const { return message_based_; }
  reg::Cap cap() const { return regs_.cap(); }
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Memory page size from CC.MPS (valid while enabled).
  uint32_t page_size() const { return page_size_.load(std::memory_order_acquire); }
  uint64_t max_transfer_bytes() const { return io_ctx_.max_transfer_bytes; }
  uint16_t cntlid() const { return cntlid_; }
  uint32_t nn() const { return subsystem_.nn(); }
  // An active namespace of this controller (attached to it), or null. Admin/control threads.
  Namespace* GetNamespace(uint32_t nsid) const {
    const NamespaceTable& t = *active_namespaces_.load(std::memory_order_acquire);
    return (nsid == 0 || nsid > t.size()) ? nullptr : t[nsid - 1];
  }
  Subsystem& subsystem() { return subsystem_; }

  // Number of I/O SQs/CQs granted by Set Features Number of Queues (1-based counts).
  uint32_t allocated_sqs() const { return allocated_sqs_; }
  uint32_t allocated_cqs() const { return allocated_cqs_; }
  void set_allocated_queues(uint32_t sqs, uint32_t cqs) {
    allocated_sqs_ = sqs;
    allocated_cqs_ = cqs;
  }
  // Volatile Write Cache (feature 06h); the I/O path reads it (nvm/io_cmd.h IoControllerState).
  bool volatile_write_cache() const { return io_state_.volatile_write_cache(); }
  void set_volatile_write_cache(bool on) { io_state_.set_volatile_write_cache(on); }
  // Host Identifier (feature 81h; NVMe/TCP: Connect HOSTID): identifies this controller's host to
  // reservations. All zero until set.
  std::array<uint8_t, 16> host_id() const { return io_state_.host_id(); }
  void set_host_id(const std::array<uint8_t, 16>& id) { io_state_.set_host_id(id); }

  // Features the queue engine applies on the I/O reactors (NVMe Base 2.0, 5.27.1): Set Features
  // (admin reactor) stores them, QueueGroups read them lock-free on every poll pass. Values use
  // the feature's CDW11 layout. 01h Arbitration: AB[2:0], LPW[15:8], MPW[23:16], HPW[31:24].
  // 08h Interrupt Coalescing: THR[7:0], TIME[15:8]. 09h Interrupt Vector Configuration: CD per IV.
  uint32_t arbitration() const { return arbitration_.load(std::memory_order_relaxed); }
  void set_arbitration(uint32_t dw11) { arbitration_.store(dw11, std::memory_order_relaxed); }
  uint32_t interrupt_coalescing() const { return coalescing_.load(std::memory_order_relaxed); }
  void set_interrupt_coalescing(uint32_t dw11) {
    coalescing_.store(dw11 & 0xffff, std::memory_order_relaxed);
  }
  bool coalescing_disabled(uint16_t iv) const {
    return iv < kMaxVectors &&
           ((cd_bits_[iv / 64].load(std::memory_order_relaxed) >> (iv % 64)) & 1);
  }
  void set_coalescing_disabled(uint16_t iv, bool cd) {
    if (iv >= kMaxVectors) return;
    if (cd) {
      cd_bits_[iv / 64].fetch_or(uint64_t{1} << (iv % 64), std::memory_order_relaxed);
    } else {
      cd_bits_[iv / 64].fetch_and(~(uint64_t{1} << (iv % 64)), std::memory_order_relaxed);
    }
  }

  // Admin command set state (core/admin/admin_state.h): error log, SMART, features, firmware,
  // self-test. Admin reactor, except where that header says otherwise.
  AdminState& admin_state() { return *admin_; }
  // SMART Controller Busy Time: the clock every front end's BusyTracker reports to (any thread).
  BusyClock& io_busy();
  // The front end's completion path calls this for every command that completed with an error
  // (Error Information log, NVMe Base 2.0, 5.16.1.2; SMART media errors). Any reactor.
  void RecordError(const Request& req, Status status);
  // Abort (admin/abort.cc). AddAbortMarker runs on the reactor that owns SQ `sqid`;
  // TakeAbortMarker on the reactor executing `req` (it completes the Abort command).
  void AddAbortMarker(uint16_t sqid, uint16_t cid, uint16_t abort_cid);
  bool TakeAbortMarker(const Request& req);
  void ClearAbortMarkers();

  AsyncEventQueue& async_events() { return async_events_; }
  FrontEnd* front_end() const { return front_end_; }
  const Clock& clock() const { return clock_; }

 private:
  void OnCcWrite(uint32_t old_cc);
  void Enable();
  void StopQueues();
  void Reset(bool keep_shutdown_status);
  void Shutdown(uint8_t shn);
  void SubsystemReset();
  // Returns why CC/AQA/ASQ/ACQ cannot be enabled, or nullptr.
  const char* ValidateEnable() const;
  void ResetAdminState();

  const ControllerConfig config_;
  const Clock& clock_;
  Subsystem& subsystem_;
  const uint16_t cntlid_;
  // The namespaces attached to this controller; the subsystem publishes new tables (subsystem.h).
  std::atomic<const NamespaceTable*> active_namespaces_{nullptr};
  IoContext io_ctx_;

  FrontEnd* front_end_ = nullptr;
  bool message_based_ = false;
  RegisterFile regs_;
  // Commands are accepted (doorbells, fabrics I/O): set by Enable, cleared by every stop (reset,
  // shutdown, NSSR, power-off). Unlike CSTS.RDY it clears on a shutdown with CC.EN still 1.
  std::atomic<bool> ready_{false};
#ifndef NDEBUG
  std::atomic<int> io_in_flight_{0};  // ExecuteIo calls running (FrontEnd contract check)
#endif
  std::atomic<uint32_t> page_size_{4096};
  std::atomic<bool> fatal_{false};
  std::atomic<uint32_t> cc_snapshot_{0};

  // Admin-reactor state (reset by controller reset).
  uint32_t allocated_sqs_;
  uint32_t allocated_cqs_;
  IoControllerState io_state_;  // VWC, Host Identifier, fused state: read by the I/O reactors
  AsyncEventQueue async_events_;
  std::unique_ptr<AdminState> admin_;
  std::atomic<uint32_t> abort_markers_{0};

  // Features read by the I/O reactors (see arbitration()). AB = 111b (no burst limit) as nvmeqemu.
  static constexpr uint16_t kMaxVectors = 2048;  // MSI-X maximum
  std::atomic<uint32_t> arbitration_{0x7};
  std::atomic<uint32_t> coalescing_{0};
  std::array<std::atomic<uint64_t>, kMaxVectors / 64> cd_bits_{};
};

// Builds CAP from the configuration (NVMe Base 2.0, 3.1.3.1).
uint64_t MakeCap(const ControllerConfig& config);

}  // namespace nvemu
