// Doorbell Buffer Config for the PCIe front end (see pcie/shadow_doorbells.h).
#include "pcie/shadow_doorbells.h"

#include <spdlog/spdlog.h>

#include "pcie/pcie_device_impl.h"

namespace nvemu::pcie {
namespace {

std::atomic<uint32_t>* Slot(uint8_t* page, uint64_t offset) {
  return reinterpret_cast<std::atomic<uint32_t>*>(page + offset);
}

}  // namespace

// Admin reactor. Maps both pages, then switches every existing I/O queue on its reactor; queues
// created later switch at creation (ShadowSq/ShadowCq).
Status PcieDeviceImpl::ConfigureShadowDoorbells(uint64_t shadow, uint64_t eventidx) {
  const uint32_t page = ctrl_->page_size();
  uint8_t* db = memory_.Map(shadow, page);
  uint8_t* ei = memory_.Map(eventidx, page);
  if (db == nullptr || ei == nullptr) return sc::kDataTransferError;
  shadow_db_ = db;
  shadow_ei_ = ei;
  shadow_on_.store(true, std::memory_order_release);  // before any queue switches to the shadow
  for (uint32_t qid = 1; qid <= max_qid_; ++qid) {
    if (cqs_[qid]) {
      PcieCq* cq = cqs_[qid].get();
      cq_reactor_[qid].load()->RunSync([&] { ShadowCq(cq); });
    }
    if (sqs_[qid]) {
      PcieSq* sq = sqs_[qid].get();
      sq_reactor_[qid].load()->RunSync([&] { ShadowSq(sq); });
    }
  }
  spdlog::info("pcie: shadow doorbells at {:#x}, EventIdx at {:#x}", shadow, eventidx);
  return Status::Success();
}

// Queue y's slots are where its doorbell registers are, relative to 1000h; queues whose slots do
// not fit in the page keep their MMIO doorbells.
void PcieDeviceImpl::ShadowSq(PcieSq* sq) {
  uint64_t off = uint64_t{2u * sq->qid} * layout_.doorbell_stride;
  if (shadow_db_ == nullptr || sq->qid == 0 || off + 4 > ctrl_->page_size()) return;
  sq->tail_db = Slot(shadow_db_, off);
  sq->event_idx = Slot(shadow_ei_, off);
}

void PcieDeviceImpl::ShadowCq(PcieCq* cq) {
  uint64_t off = uint64_t{2u * cq->qid + 1} * layout_.doorbell_stride;
  if (shadow_db_ == nullptr || cq->qid == 0 || off + 4 > ctrl_->page_size()) return;
  cq->head_db = Slot(shadow_db_, off);
  cq->event_idx = Slot(shadow_ei_, off);
}

}  // namespace nvemu::pcie
