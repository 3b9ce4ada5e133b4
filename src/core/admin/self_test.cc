// NVMe Base 2.0, 5.8 Device Self-test: CDW10 STC[3:0] (1h short, 2h extended, Fh abort); NSID 0
// (controller only), an active NSID, or FFFFFFFFh (controller and all namespaces).
//
// A test runs in model time: short tests take kShortSelfTestNs, extended ones EDSTT minutes, on
// the controller's Clock. Progress and completion are computed when the state is looked at (the
// log page, a new command), so nothing runs in the background. One test at a time (DSTO bit 0):
// starting another while one runs is Device Self-test in Progress. Results (Figure 214) keep the
// 20 most recent, newest first; every segment of the model passes.
#include <algorithm>
#include <cstddef>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/admin/identify_data.h"
#include "core/controller.h"

namespace nvemu {
namespace {

constexpr Status kSelfTestInProgress = Status::CommandSpecific(0x1d);

void AddResult(Controller& ctrl, uint8_t result, uint64_t at_ns) {
  AdminState& a = ctrl.admin_state();
  SelfTestState& st = a.self_test;
  nvme_st_result r{};
  r.dsts = static_cast<uint8_t>(st.operation << NVME_ST_CODE_SHIFT | result);
  r.seg = 0;
  if (st.nsid != 0) {
    r.vdi = NVME_ST_VALID_DIAG_INFO_NSID;
    r.nsid = st.nsid;
  }
  r.poh = a.health.power_on_seconds(at_ns) / 3600;
  st.results.insert(st.results.begin(), r);
  if (st.results.size() > 20) st.results.resize(20);
  st.operation = 0;
}

}  // namespace

void UpdateSelfTest(Controller& ctrl) {
  SelfTestState& st = ctrl.admin_state().self_test;
  if (st.operation == 0) return;
  uint64_t done_at = st.start_ns + st.duration_ns;
  if (ctrl.clock().NowNs() >= done_at) AddResult(ctrl, NVME_ST_RESULT_NO_ERR, done_at);
}

void AbortSelfTest(Controller& ctrl, uint8_t result) {
  if (ctrl.admin_state().self_test.operation == 0) return;
  AddResult(ctrl, result, ctrl.clock().NowNs());
}

Status AdminDeviceSelfTest(Controller& ctrl, Request& req) {
  UpdateSelfTest(ctrl);
  SelfTestState& st = ctrl.admin_state().self_test;
  uint8_t stc = req.sqe.cdw10 & 0xf;
  uint32_t nsid = req.sqe.nsid;
  if (stc == NVME_ST_CODE_ABORT) {
    AbortSelfTest(ctrl, NVME_ST_RESULT_ABORTED);
    return Status::Success();
  }
  if (stc != NVME_ST_CODE_SHORT && stc != NVME_ST_CODE_EXTENDED) {
    return InvalidFieldAt(req, offsetof(Sqe, cdw10));
  }
  if (nsid != 0 && nsid != 0xffffffff && ctrl.GetNamespace(nsid) == nullptr) {
    return sc::kInvalidNamespaceOrFormat;
  }
  if (st.operation != 0) return kSelfTestInProgress;
  st.operation = stc;
  st.nsid = nsid;
  st.start_ns = ctrl.clock().NowNs();
  st.duration_ns =
      stc == NVME_ST_CODE_SHORT ? kShortSelfTestNs : uint64_t{kEdsttMinutes} * 60'000'000'000ull;
  return Status::Success();
}

}  // namespace nvemu
