// NVMe Base 2.0, 5.13 Firmware Image Download and 5.12 Firmware Commit.
//
// Download: CDW10 NUMD (0's based dwords), CDW11 OFST (dwords). Pieces are reassembled in a buffer;
// a piece at offset 0 starts a new image; a piece overlapping an earlier one is Overlapping Range.
// Commit: CDW10 FS[2:0] slot, CA[5:3] action, BPID[31]. Slots 1..FRMW.NOFS; slot 1 is read-only
// when configured so. Actions: 000b replace, 001b replace and activate at the next reset, 010b
// activate at the next reset, 011b replace and activate now (FRMW bit 4). Activation at the next
// reset reports Firmware Activation Requires Controller Level Reset (the commit succeeded); the
// next Controller Level Reset or power-on switches the active slot, and Identify FR follows it.
#include "core/admin/firmware.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>

#include "core/admin/admin_cmd.h"
#include "core/admin/admin_state.h"
#include "core/admin/identify_data.h"
#include "core/controller.h"

namespace nvemu {
namespace {

constexpr char kMagic[8] = {'N', 'V', 'E', 'M', 'U', 'F', 'W', '1'};
constexpr Status kOverlappingRange = Status::CommandSpecific(0x14);
// Figure 160: the commit succeeded; the image is activated by the next Controller Level Reset.
constexpr Status kActivationRequiresReset = Status::CommandSpecific(0x11, /*dnr=*/false);

constexpr uint8_t kCaReplace = 0;
constexpr uint8_t kCaReplaceActivateReset = 1;
constexpr uint8_t kCaActivateReset = 2;
constexpr uint8_t kCaReplaceActivateNow = 3;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

bool Writable(const Controller& ctrl, uint8_t slot) {
  return slot >= 1 && slot <= ctrl.config().firmware_slots &&
         !(slot == 1 && ctrl.config().firmware_slot1_read_only);
}

// FS = 0 on a replacing commit: the controller picks a writable slot that is not active,
// preferring an empty one.
uint8_t ChooseSlot(const Controller& ctrl, const FirmwareState& fw) {
  uint8_t fallback = 0;
  for (uint8_t s = 1; s <= ctrl.config().firmware_slots; ++s) {
    if (!Writable(ctrl, s) || s == fw.active) continue;
    if (fw.slots[s - 1].revision.empty()) return s;
    if (fallback == 0) fallback = s;
  }
  return fallback;
}

// The downloaded pieces must cover [0, size) without holes.
bool DownloadComplete(const FirmwareState& fw) {
  if (fw.download.empty()) return false;
  auto ranges = fw.received;
  std::sort(ranges.begin(), ranges.end());
  uint64_t end = 0;
  for (const auto& [from, to] : ranges) {
    if (from != end) return false;
    end = to;
  }
  return end == fw.download.size();
}

}  // namespace

uint32_t Crc32(const uint8_t* data, size_t len) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; ++i) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

std::vector<uint8_t> BuildFirmwareImage(const std::string& revision,
                                        const std::vector<uint8_t>& payload) {
  FirmwareImageHeader h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  std::memset(h.revision, ' ', sizeof(h.revision));
  std::memcpy(h.revision, revision.data(), std::min(revision.size(), sizeof(h.revision)));
  h.payload_bytes = static_cast<uint32_t>(payload.size());
  h.crc32 = Crc32(payload.data(), payload.size());
  std::vector<uint8_t> image(sizeof(h) + payload.size());
  std::memcpy(image.data(), &h, sizeof(h));
  std::copy(payload.begin(), payload.end(), image.begin() + sizeof(h));
  return image;
}

bool ParseFirmwareImage(const std::vector<uint8_t>& image, std::string* revision) {
  FirmwareImageHeader h;
  if (image.size() < sizeof(h)) return false;
  std::memcpy(&h, image.data(), sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) return false;
  if (h.payload_bytes != image.size() - sizeof(h)) return false;
  if (h.crc32 != Crc32(image.data() + sizeof(h), h.payload_bytes)) return false;
  std::string rev(h.revision, sizeof(h.revision));
  rev.erase(rev.find_last_not_of(' ') + 1);
  if (rev.empty() || rev.find('\0') != std::string::npos) return false;
  *revision = rev;
  return true;
}

void ActivatePendingFirmware(Controller& ctrl) {
  FirmwareState& fw = ctrl.admin_state().firmware;
  if (fw.next == 0) return;
  spdlog::info("controller: firmware slot {} ({}) activated by reset", fw.next,
               fw.slots[fw.next - 1].revision);
  fw.active = fw.next;
  fw.next = 0;
}

Status AdminFirmwareDownload(Controller& ctrl, Request& req) {
  FirmwareState& fw = ctrl.admin_state().firmware;
  uint64_t len = (uint64_t{req.sqe.cdw10} + 1) * 4;
  uint64_t offset = uint64_t{req.sqe.cdw11} * 4;
  if (offset + len > kMaxFirmwareImage) return InvalidFieldAt(req, offsetof(Sqe, cdw11));
  if (offset == 0) {  // a new image
    fw.download.clear();
    fw.received.clear();
  }
  for (const auto& [from, to] : fw.received) {
    if (offset < to && from < offset + len) return kOverlappingRange;
  }
  std::vector<uint8_t> piece(len);
  if (Status st = req.data->Pull(piece.data(), len); !st.ok()) return st;
  if (fw.download.size() < offset + len) fw.download.resize(offset + len);
  std::copy(piece.begin(), piece.end(), fw.download.begin() + offset);
  fw.received.emplace_back(offset, offset + len);
  return Status::Success();
}

Status AdminFirmwareCommit(Controller& ctrl, Request& req) {
  FirmwareState& fw = ctrl.admin_state().firmware;
  uint8_t fs = req.sqe.cdw10 & 0x7;
  uint8_t ca = (req.sqe.cdw10 >> 3) & 0x7;
  // CA 110b/111b need boot partitions (none); 100b/101b are reserved.
  if (ca > kCaReplaceActivateNow) return InvalidFieldAt(req, offsetof(Sqe, cdw10), 3);
  if (fs > ctrl.config().firmware_slots) return sc::kInvalidFirmwareSlot;

  if (ca == kCaActivateReset) {
    uint8_t slot = fs == 0 ? fw.active : fs;
    if (fw.slots[slot - 1].revision.empty()) return sc::kInvalidFirmwareImage;
    fw.next = slot == fw.active ? 0 : slot;
    AdminStatePersist(ctrl);
    return kActivationRequiresReset;
  }

  uint8_t slot = fs == 0 ? ChooseSlot(ctrl, fw) : fs;
  if (slot == 0 || !Writable(ctrl, slot)) return sc::kInvalidFirmwareSlot;
  std::string revision;
  if (!DownloadComplete(fw) || !ParseFirmwareImage(fw.download, &revision)) {
    return sc::kInvalidFirmwareImage;
  }
  fw.slots[slot - 1] = FirmwareState::Slot{revision, std::move(fw.download)};
  fw.download.clear();
  fw.received.clear();
  spdlog::info("controller: firmware {} committed to slot {} (action {})", revision, slot, ca);
  Status result = Status::Success();
  switch (ca) {
    case kCaReplace:
      if (fw.next == slot) fw.next = 0;
      break;
    case kCaReplaceActivateReset:
      fw.next = slot;
      result = kActivationRequiresReset;
      break;
    case kCaReplaceActivateNow:
      // 5.12: the Firmware Activation Starting notice precedes the switch (OAES bit 9).
      ctrl.async_events().Post(
          AsyncEvent{AsyncEventType::kNotice, kAenNoticeFirmwareActivation, kLogFirmwareSlot});
      fw.active = slot;
      fw.next = 0;
      break;
  }
  AdminStatePersist(ctrl);
  return result;
}

}  // namespace nvemu
