#include "core/fabrics/target_core.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/fabrics/fabrics.h"
#include "core/fabrics/fabrics_controller.h"

namespace nvemu {

// NVMe Base 2.0, 4.5 (NQN format: at most 223 bytes) and NVMe/TCP 1.0, 3.6.2.3 (MAXH2CDATA).
Result<void> TargetConfig::Validate() const {
  auto fail = [](std::string msg) { return Result<void>(Error{std::move(msg)}); };
  if (address.empty()) return fail("listen address is empty");
  if (discovery_port < -1 || discovery_port > 65535) {
    return fail(fmt::format("discovery_port {} outside -1..65535", discovery_port));
  }
  if (port != 0 && discovery_port == port) return fail("discovery_port equals port");
  if (reactors < 1 || reactors > 256)
    return fail(fmt::format("reactors {} outside 1..256", reactors));
  if (in_capsule_data > 1024 * 1024) {
    return fail(fmt::format("in_capsule_data {} above 1 MiB", in_capsule_data));
  }
  if (maxh2cdata < 4096 || maxh2cdata % 4 != 0) {
    return fail(fmt::format("maxh2cdata {} must be a multiple of 4 and >= 4096", maxh2cdata));
  }
  if (max_r2t_bytes != 0 && max_r2t_bytes % 4 != 0) {
    return fail(fmt::format("max_r2t_bytes {} must be a multiple of 4", max_r2t_bytes));
  }
  if (kas_100ms == 0) return fail("kas_100ms must be at least 1");
  if (subsystems.empty()) return fail("at least one subsystem is needed");
  std::set<std::string> nqns;
  for (const SubsystemConfig& s : subsystems) {
    if (s.nqn.empty() || s.nqn.size() > 223) {
      return fail(fmt::format("subsystem NQN '{}' must be 1..223 bytes", s.nqn));
    }
    if (s.nqn == fabrics::kDiscoveryNqn) return fail("the discovery NQN cannot name a subsystem");
    if (!nqns.insert(s.nqn).second) return fail(fmt::format("duplicate subsystem NQN {}", s.nqn));
    for (const std::string& h : s.allowed_hosts) {
      if (h.empty() || h.size() > 223) return fail(fmt::format("host NQN '{}' invalid", h));
    }
    ControllerConfig c = controller;
    c.subnqn = s.nqn;
    c.serial = s.serial;
    c.namespaces = s.namespaces;
    if (auto r = c.Validate(); !r.ok()) {
      return fail(fmt::format("subsystem {}: {}", s.nqn, r.error().message));
    }
  }
  return {};
}

namespace fabrics {

bool SubsystemEntry::HostAllowed(std::string_view hostnqn) const {
  if (allowed_hosts.empty()) return true;
  return std::find(allowed_hosts.begin(), allowed_hosts.end(), hostnqn) != allowed_hosts.end();
}

TargetCore::TargetCore(const TargetConfig& config, const Clock& clock)
    : config_(config), clock_(clock) {}

Result<std::unique_ptr<TargetCore>> TargetCore::Create(const TargetConfig& config,
                                                       const Clock& clock) {
  if (auto r = config.Validate(); !r.ok()) return r.error();
  std::unique_ptr<TargetCore> core(new TargetCore(config, clock));

  // The discovery subsystem: no namespaces, its controllers answer Identify and Log Page 70h.
  auto disc = std::make_unique<SubsystemEntry>();
  disc->controller = config.controller;
  disc->controller.subnqn = kDiscoveryNqn;
  disc->controller.namespaces.clear();
  disc->discovery = true;
  disc->subsystem =
      std::make_unique<Subsystem>(kDiscoveryNqn, std::vector<std::unique_ptr<Namespace>>{});
  core->subsystems_.push_back(std::move(disc));

  for (const SubsystemConfig& s : config.subsystems) {
    auto e = std::make_unique<SubsystemEntry>();
    e->controller = config.controller;
    e->controller.subnqn = s.nqn;
    e->controller.serial = s.serial;
    e->controller.namespaces = s.namespaces;
    e->allowed_hosts = s.allowed_hosts;
    auto sub = Subsystem::Create(e->controller, clock);
    if (!sub.ok()) return Error{fmt::format("subsystem {}: {}", s.nqn, sub.error().message)};
    e->subsystem = std::move(sub.value());
    core->subsystems_.push_back(std::move(e));
  }
  return core;
}

TargetCore::~TargetCore() { EndAllAssociations("target destroyed"); }

SubsystemEntry* TargetCore::FindSubsystem(std::string_view nqn) const {
  for (const auto& e : subsystems_) {
    if (e->nqn() == nqn) return e.get();
  }
  return nullptr;
}

void TargetCore::SetPorts(std::vector<DiscoveryPort> ports) {
  std::lock_guard<std::mutex> lock(mu_);
  ports_ = std::move(ports);
  genctr_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<DiscoveryPort> TargetCore::ports() const {
  std::lock_guard<std::mutex> lock(mu_);
  return ports_;
}

std::shared_ptr<FabricsController> TargetCore::CreateController(
    SubsystemEntry& entry, const std::string& hostnqn, const std::array<uint8_t, 16>& hostid,
    uint32_t kato_ms) {
  uint16_t cntlid = entry.subsystem->AllocateCntlid();
  if (cntlid == 0) return nullptr;
  auto ctrl = std::make_shared<FabricsController>(*this, entry, cntlid, hostnqn, hostid, kato_ms);
  std::lock_guard<std::mutex> lock(mu_);
  controllers_[{&entry, cntlid}] = ctrl;
  return ctrl;
}

std::shared_ptr<FabricsController> TargetCore::FindController(const SubsystemEntry& entry,
                                                              uint16_t cntlid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = controllers_.find({&entry, cntlid});
  if (it == controllers_.end() || it->second->ended()) return nullptr;
  return it->second;
}

void TargetCore::Unregister(const FabricsController* ctrl) {
  std::shared_ptr<FabricsController> keep;  // destroyed outside the lock
  std::lock_guard<std::mutex> lock(mu_);
  auto it = controllers_.find({&ctrl->entry(), ctrl->cntlid()});
  if (it != controllers_.end() && it->second.get() == ctrl) {
    keep = std::move(it->second);
    controllers_.erase(it);
  }
}

size_t TargetCore::controller_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return controllers_.size();
}

void TargetCore::EndAllAssociations(const char* why) {
  std::vector<std::shared_ptr<FabricsController>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, ctrl] : controllers_) all.push_back(ctrl);
  }
  for (auto& ctrl : all) ctrl->EndAssociation(why);
}

}  // namespace fabrics
}  // namespace nvemu
