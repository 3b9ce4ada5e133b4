#include "core/subsystem.h"

#include <spdlog/spdlog.h>

namespace nvemu {

Subsystem::Subsystem(std::string nqn, std::vector<std::unique_ptr<Namespace>> namespaces)
    : nqn_(std::move(nqn)), namespaces_(std::move(namespaces)) {
  for (auto& ns : namespaces_) table_.push_back(ns.get());
}

Result<std::unique_ptr<Subsystem>> Subsystem::Create(const ControllerConfig& config) {
  std::vector<std::unique_ptr<Namespace>> namespaces;
  for (size_t i = 0; i < config.namespaces.size(); ++i) {
    auto ns = MakeNamespace(static_cast<uint32_t>(i + 1), config.namespaces[i], config.serial);
    if (!ns.ok()) return ns.error();
    namespaces.push_back(std::move(ns.value()));
  }
  return std::make_unique<Subsystem>(config.subnqn, std::move(namespaces));
}

bool Subsystem::FlushAll() {
  bool ok = true;
  for (Namespace* ns : table_) {
    if (ns == nullptr) continue;
    IoStatus st = ns->backend().Flush();
    if (!st.ok()) {
      spdlog::error("subsystem {}: flush of namespace {} failed: errno {}", nqn_, ns->nsid(),
                    st.err);
      ok = false;
    }
  }
  return ok;
}

uint16_t Subsystem::AllocateCntlid() {
  std::lock_guard<std::mutex> lock(mu_);
  for (int tries = 0; tries < 0xffef; ++tries) {
    uint16_t id = next_cntlid_;
    next_cntlid_ = next_cntlid_ >= 0xffef ? 1 : next_cntlid_ + 1;
    if (cntlids_.insert(id).second) return id;
  }
  return 0;
}

void Subsystem::ReleaseCntlid(uint16_t cntlid) {
  std::lock_guard<std::mutex> lock(mu_);
  cntlids_.erase(cntlid);
}

}  // namespace nvemu
