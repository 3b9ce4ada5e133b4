#include "app/session.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace nvemu::app {

Result<Session> StartSession(const ControllerConfig& config, size_t dma_bytes) {
  host::DriverOptions options;
  options.controller = config;
  options.dma_bytes = (dma_bytes + 4095) & ~size_t{4095};
  spdlog::info("creating the in-process controller ({} namespace(s), {} MiB host memory)",
               config.namespaces.size(), options.dma_bytes >> 20);
  auto driver = host::PcieDriver::Create(options);
  if (!driver.ok()) return Error{"cannot create the controller: " + driver.error().message};
  Session session;
  session.driver = std::move(*driver);
  if (auto r = session.driver->Enable(); !r.ok()) {
    return Error{"cannot enable the controller: " + r.error().message};
  }
  spdlog::info("controller enabled (CSTS.RDY=1)");
  auto id = session.driver->IdentifyController();
  if (!id.ok()) return id.error();
  session.id_ctrl = *id;
  return session;
}

Result<std::vector<uint32_t>> ActiveNamespaceIds(host::PcieDriver& driver) {
  constexpr size_t kListBytes = 4096;
  constexpr uint32_t kCnsActiveNsList = 0x02;
  auto buf = driver.dma().Alloc(kListBytes);
  if (!buf.ok()) return buf.error();
  std::vector<uint32_t> nsids;
  Result<void> status;
  for (uint32_t after = 0;;) {
    std::memset(buf->ptr, 0, kListBytes);
    Sqe sqe{};
    sqe.opc = 0x06;  // Identify
    sqe.nsid = after;
    sqe.cdw10 = kCnsActiveNsList;
    auto cqe = driver.Admin(sqe, &*buf, kListBytes);
    if (!cqe.ok()) {
      status = cqe.error();
      break;
    }
    if (cqe->status_field() != 0) {
      status = Error{"Identify Active Namespace ID list failed: " +
                     Status::FromField(cqe->status_field()).ToString()};
      break;
    }
    size_t n = 0;
    for (; n < kListBytes / 4; ++n) {
      uint32_t nsid;
      std::memcpy(&nsid, buf->ptr + 4 * n, 4);
      if (nsid == 0) break;
      nsids.push_back(nsid);
    }
    if (n < kListBytes / 4) break;
    after = nsids.back();
  }
  driver.dma().Free(*buf);
  if (!status.ok()) return status.error();
  return nsids;
}

Result<std::vector<nvme_id_ns>> IdentifyNamespaces(host::PcieDriver& driver,
                                                   const std::vector<uint32_t>& nsids) {
  std::vector<nvme_id_ns> result;
  result.reserve(nsids.size());
  for (uint32_t nsid : nsids) {
    auto id = driver.IdentifyNamespace(nsid);
    if (!id.ok()) return Error{fmt::format("namespace {}: {}", nsid, id.error().message)};
    result.push_back(*id);
  }
  return result;
}

Result<void> StopSession(Session& session) {
  if (!session.driver) return {};
  auto r = session.driver->Shutdown();
  if (r.ok()) spdlog::info("controller shut down (CSTS.SHST=10b)");
  return r;
}

}  // namespace nvemu::app
