// Firmware Image Download and Firmware Commit (NVMe Base 2.0, 5.13 and 5.12), the Firmware Slot
// Information log (5.16.1.4) and the Firmware Activation Starting notice.
#include "core/admin/firmware.h"

#include "admin_fixture.h"

namespace nvemu::admin_test {
namespace {

class FirmwareTest : public AdminTest {
 protected:
  // Downloads `image` in pieces of `piece` bytes (dword multiples).
  uint16_t Download(const std::vector<uint8_t>& image, size_t piece = 4096, size_t skip = ~0ull) {
    DmaBuffer b = Alloc(std::max<size_t>(piece, 4096));
    for (size_t off = 0; off < image.size(); off += piece) {
      size_t n = std::min(piece, image.size() - off);
      size_t padded = (n + 3) & ~size_t{3};
      std::memset(b.ptr, 0, padded);
      std::memcpy(b.ptr, image.data() + off, n);
      if (off == skip) continue;
      uint16_t s = Status(Cmd(op::kFwDownload, 0, static_cast<uint32_t>(padded / 4 - 1),
                              static_cast<uint32_t>(off / 4)),
                          &b, padded);
      if (s != st::kSuccess) return s;
    }
    return st::kSuccess;
  }
  uint16_t Commit(uint8_t slot, uint8_t action) {
    return Status(Cmd(op::kFwCommit, 0, slot | action << 3));
  }
  std::string Fr() {
    nvme_id_ctrl id = IdCtrl();
    std::string fr(id.fr, 8);
    return fr.substr(0, fr.find_last_not_of(' ') + 1);
  }
  // A valid image: 32-byte header + payload (a dword multiple, as downloads move dwords).
  static std::vector<uint8_t> Image(const std::string& rev, size_t payload = 10000) {
    std::vector<uint8_t> p(payload);
    for (size_t i = 0; i < payload; ++i) p[i] = static_cast<uint8_t>(i * 31);
    return BuildFirmwareImage(rev, p);
  }
};

TEST_F(FirmwareTest, CommitToSlotActivatesAtTheNextReset) {
  config().firmware_revision = "1.0";
  Start();
  ASSERT_EQ(Download(Image("2.0")), st::kSuccess);
  EXPECT_EQ(Commit(2, 1), st::kFwNeedsReset) << "CA 001b: replace, activate at reset";
  EXPECT_EQ(Fr(), "1.0") << "FR changes only after the reset";
  auto log = Log<nvme_firmware_slot>(0x03);
  EXPECT_EQ(log.afi, 0x21) << "active slot 1, next slot 2";
  EXPECT_EQ(std::string(log.frs[1], 3), "2.0");
  EXPECT_EQ(std::string(log.frs[0], 3), "1.0");
  Reset();
  EXPECT_EQ(Fr(), "2.0");
  EXPECT_EQ(Log<nvme_firmware_slot>(0x03).afi, 0x02);
  // CA 010b: activate the existing image in slot 1 at the next reset.
  EXPECT_EQ(Commit(1, 2), st::kFwNeedsReset);
  Reset();
  EXPECT_EQ(Fr(), "1.0");
}

TEST_F(FirmwareTest, ImmediateActivationSendsTheNotice) {
  Start();
  uint16_t aer = Submit(Cmd(op::kAer));
  ASSERT_EQ(Download(Image("3.1"), 1024), st::kSuccess);
  EXPECT_EQ(Commit(3, 3), st::kSuccess) << "CA 011b: replace and activate now";
  // Collect the AER before the next command: the host library frees a CID when it reaps the
  // completion, so another command could reuse it.
  Cqe c;
  ASSERT_TRUE(Wait(aer, &c));
  EXPECT_EQ(c.dw0, 0x2u | (0x01u << 8) | (0x03u << 16)) << "notice, firmware activation, log 03h";
  EXPECT_EQ(Fr(), "3.1");
  // CA 000b with FS 0: the controller picks a free writable slot (2).
  ASSERT_EQ(Download(Image("4.0")), st::kSuccess);
  EXPECT_EQ(Commit(0, 0), st::kSuccess);
  EXPECT_EQ(std::string(Log<nvme_firmware_slot>(0x03).frs[1], 3), "4.0");
  EXPECT_EQ(Fr(), "3.1") << "CA 000b does not activate";
}

TEST_F(FirmwareTest, SlotAndImageErrors) {
  Start();
  ASSERT_EQ(Download(Image("5.0")), st::kSuccess);
  EXPECT_EQ(Commit(4, 0), st::kInvalidFwSlot) << "3 slots";
  EXPECT_EQ(Commit(1, 0), st::kInvalidFwSlot) << "slot 1 is read-only";
  EXPECT_EQ(Commit(1, 3), st::kInvalidFwSlot);
  EXPECT_EQ(Commit(2, 6), st::kInvalidField) << "boot partitions are not supported";
  EXPECT_EQ(Commit(3, 2), st::kInvalidFwImage) << "slot 3 holds no image";
  // A corrupted image (CRC mismatch) and an incomplete one (a missing piece).
  auto bad = Image("6.0");
  bad[100] ^= 0xff;
  ASSERT_EQ(Download(bad), st::kSuccess);
  EXPECT_EQ(Commit(2, 0), st::kInvalidFwImage);
  ASSERT_EQ(Download(Image("6.0"), 1024, /*skip=*/2048), st::kSuccess);
  EXPECT_EQ(Commit(2, 0), st::kInvalidFwImage);
  EXPECT_EQ(Commit(2, 1), st::kInvalidFwImage) << "no image downloaded at all";
  // Overlapping pieces.
  DmaBuffer b = Alloc(4096);
  ASSERT_EQ(Status(Cmd(op::kFwDownload, 0, 255, 0), &b, 1024), st::kSuccess);
  EXPECT_EQ(Status(Cmd(op::kFwDownload, 0, 255, 128), &b, 1024), st::kOverlappingRange);
  EXPECT_EQ(Status(Cmd(op::kFwDownload, 0, 255, 0x1000000), &b, 1024), st::kInvalidField)
      << "beyond the largest image";
}

}  // namespace
}  // namespace nvemu::admin_test
