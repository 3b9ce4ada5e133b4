#include <gtest/gtest.h>

#include "nvemu/host/pcie_driver.h"

namespace nvemu::host {
namespace {

TEST(Smoke, IdentifyAndReadWrite) {
  DriverOptions opts;
  auto drv = PcieDriver::Create(opts);
  ASSERT_TRUE(drv.ok()) << drv.error().message;
  auto& d = **drv;
  auto en = d.Enable();
  ASSERT_TRUE(en.ok()) << en.error().message;
  auto id = d.IdentifyController();
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->nn, 1u);
  auto q = d.CreateIoQueuePair(1, 64);
  ASSERT_TRUE(q.ok()) << q.error().message;
  auto buf = d.dma().Alloc(128 * 1024);
  ASSERT_TRUE(buf.ok());
  for (size_t i = 0; i < buf->size; ++i) buf->ptr[i] = static_cast<uint8_t>(i * 7);
  Sqe w{};
  w.opc = 0x01;
  w.nsid = 1;
  w.cdw10 = 100;
  w.cdw12 = 255;
  auto c = (*q)->Execute(w, std::chrono::seconds(5), &*buf, 128 * 1024);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->status >> 1, 0);
  auto rbuf = d.dma().Alloc(128 * 1024);
  Sqe r = w;
  r.opc = 0x02;
  c = (*q)->Execute(r, std::chrono::seconds(5), &*rbuf, 128 * 1024);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->status >> 1, 0);
  EXPECT_EQ(0, memcmp(buf->ptr, rbuf->ptr, 128 * 1024));
}

}  // namespace
}  // namespace nvemu::host
