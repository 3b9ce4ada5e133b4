// The completion path's error hook (Controller::RecordError): every command that completes with an
// error gets an Error Information log entry (NVMe Base 2.0, 5.16.1.2, Figure 206); media errors
// also count in SMART Media and Data Integrity Errors (5.16.1.3).
#include "core/admin/admin_state.h"
#include "core/controller.h"

namespace nvemu {
namespace {

// NVM commands whose CDW10-11 hold the Starting LBA (NVM Command Set 1.0, Figure 20).
bool HasSlba(uint8_t opc) {
  switch (opc) {
    case 0x01:  // Write
    case 0x02:  // Read
    case 0x04:  // Write Uncorrectable
    case 0x05:  // Compare
    case 0x08:  // Write Zeroes
    case 0x0c:  // Verify
      return true;
    default:
      return false;
  }
}

}  // namespace

void Controller::RecordError(const Request& req, Status status) {
  if (status.ok()) return;
  ErrorLog::Entry e;
  e.sqid = req.sqid;
  e.cid = req.sqe.cid;
  e.status = static_cast<uint16_t>(status.field() << 1);
  e.param_loc = req.error_loc;
  e.nsid = req.sqe.nsid;
  if (req.sqid != 0 && HasSlba(req.sqe.opc)) {
    e.lba = req.sqe.cdw10 | uint64_t{req.sqe.cdw11} << 32;
  }
  if (status.sct() == Sct::kMediaError) admin_->health.CountMediaError();
  admin_->errors.Record(e);
  admin_->health.CountErrorEntry();
}

}  // namespace nvemu
