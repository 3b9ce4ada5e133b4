#include "app/admin_port.h"

#include <fmt/format.h>

#include <cstring>

#include "app/session.h"

namespace nvemu::app {
namespace {

constexpr uint8_t kOpIdentify = 0x06;
constexpr uint32_t kCnsNamespace = 0x00;
constexpr uint32_t kCnsActiveNsList = 0x02;

class PciePort final : public AdminPort {
 public:
  explicit PciePort(Session s) : session_(std::move(s)) { id_ctrl_ = session_.id_ctrl; }
  ~PciePort() override = default;

  Result<Cqe> Admin(const Sqe& sqe, std::span<uint8_t> in) override {
    host::PcieDriver& drv = *session_.driver;
    if (in.empty()) return drv.Admin(sqe);
    auto buf = drv.dma().Alloc(in.size());
    if (!buf.ok()) return buf.error();
    std::memset(buf->ptr, 0, in.size());
    auto cqe = drv.Admin(sqe, &*buf, in.size());
    std::memcpy(in.data(), buf->ptr, in.size());
    drv.dma().Free(*buf);
    return cqe;
  }
  Result<void> Close() override { return StopSession(session_); }

 private:
  Session session_;
};

class TcpPort final : public AdminPort {
 public:
  explicit TcpPort(std::unique_ptr<host::TcpDriver> d) : driver_(std::move(d)) {}
  ~TcpPort() override = default;
  Result<void> Init() {
    auto id = driver_->IdentifyController();
    if (!id.ok()) return id.error();
    id_ctrl_ = *id;
    return {};
  }
  Result<Cqe> Admin(const Sqe& sqe, std::span<uint8_t> in) override {
    return driver_->Admin(sqe, {}, in);
  }
  Result<void> Close() override { return driver_->Shutdown(); }

 private:
  std::unique_ptr<host::TcpDriver> driver_;
};

}  // namespace

Result<std::unique_ptr<AdminPort>> OpenPcieAdminPort(const ControllerConfig& config,
                                                     size_t dma_bytes) {
  auto session = StartSession(config, dma_bytes);
  if (!session.ok()) return session.error();
  return std::unique_ptr<AdminPort>(new PciePort(std::move(*session)));
}

Result<std::unique_ptr<AdminPort>> OpenTcpAdminPort(const host::TcpDriverOptions& options) {
  auto drv = host::TcpDriver::ConnectAndEnable(options);
  if (!drv.ok()) {
    return Error{fmt::format("NVMe/TCP target {} port {}, subsystem {}: {}", options.address,
                             options.port, options.subnqn, drv.error().message)};
  }
  auto port = std::make_unique<TcpPort>(std::move(*drv));
  if (auto r = port->Init(); !r.ok()) return r.error();
  return std::unique_ptr<AdminPort>(std::move(port));
}

Result<std::vector<uint32_t>> ActiveNamespaceIds(AdminPort& port) {
  constexpr size_t kListBytes = 4096;
  std::vector<uint8_t> buf(kListBytes);
  std::vector<uint32_t> nsids;
  for (uint32_t after = 0;;) {
    std::fill(buf.begin(), buf.end(), 0);
    Sqe sqe{};
    sqe.opc = kOpIdentify;
    sqe.nsid = after;
    sqe.cdw10 = kCnsActiveNsList;
    auto cqe = port.Admin(sqe, buf);
    if (!cqe.ok()) return cqe.error();
    if (cqe->status_field() != 0) {
      return Error{"Identify Active Namespace ID list failed: " +
                   Status::FromField(cqe->status_field()).ToString()};
    }
    size_t n = 0;
    for (; n < kListBytes / 4; ++n) {
      uint32_t nsid;
      std::memcpy(&nsid, buf.data() + 4 * n, 4);
      if (nsid == 0) break;
      nsids.push_back(nsid);
    }
    if (n < kListBytes / 4) break;
    after = nsids.back();
  }
  return nsids;
}

Result<nvme_id_ns> IdentifyNamespace(AdminPort& port, uint32_t nsid) {
  nvme_id_ns id{};
  Sqe sqe{};
  sqe.opc = kOpIdentify;
  sqe.nsid = nsid;
  sqe.cdw10 = kCnsNamespace;
  auto cqe = port.Admin(sqe, {reinterpret_cast<uint8_t*>(&id), sizeof(id)});
  if (!cqe.ok()) return cqe.error();
  if (cqe->status_field() != 0) {
    return Error{fmt::format("Identify Namespace {}: {}", nsid,
                             Status::FromField(cqe->status_field()).ToString())};
  }
  return id;
}

}  // namespace nvemu::app
