// TargetCore: the transport-independent part of an NVMe over Fabrics target (NVMe Base 2.0, 1.5 and
// chapter 6): the NVM subsystems with their namespaces and allowed hosts, the Discovery subsystem
// (nqn.2014-08.org.nvmexpress.discovery), and the registry of live controllers created by Connect
// (dynamic controller model: one controller per admin-queue association, CNTLIDs from the
// subsystem).
//
// A transport (tcp/) owns one TargetCore, gives each of its connections a fabrics::Queue, and tells
// the core which ports it listens on (for the Discovery Log Page).
//
// Threading: the subsystem table is immutable after Create(); the controller registry and the port
// list are guarded by a mutex (Connect and teardown are control path, never per I/O).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/subsystem.h"
#include "nvemu/clock.h"
#include "nvemu/config.h"

namespace nvemu::fabrics {

class FabricsController;

// One subsystem the target exposes, with the controller template its Connects instantiate.
struct SubsystemEntry {
  std::unique_ptr<Subsystem> subsystem;
  ControllerConfig controller;             // subnqn/serial/namespaces set for this subsystem
  std::vector<std::string> allowed_hosts;  // empty: any host
  bool discovery = false;

  const std::string& nqn() const { return subsystem->nqn(); }
  bool HostAllowed(std::string_view hostnqn) const;
};

// A transport port, as a Discovery Log Page entry describes it (NVMe Base 2.0, Figure 262).
struct DiscoveryPort {
  uint8_t adrfam = 1;   // 1 = IPv4, 2 = IPv6
  std::string traddr;   // e.g. "127.0.0.1"
  std::string trsvcid;  // e.g. "4420"
  uint16_t portid = 1;
};

class TargetCore {
 public:
  // Builds every subsystem (opening file backends) and the discovery subsystem.
  static Result<std::unique_ptr<TargetCore>> Create(const TargetConfig& config, const Clock& clock);
  ~TargetCore();

  const TargetConfig& config() const { return config_; }
  const Clock& clock() const { return clock_; }

  // nullptr when no subsystem (NVM or discovery) has that NQN.
  SubsystemEntry* FindSubsystem(std::string_view nqn) const;
  const std::vector<std::unique_ptr<SubsystemEntry>>& subsystems() const { return subsystems_; }

  // The ports NVM subsystems are reachable on (Discovery Log Page entries). Thread-safe.
  void SetPorts(std::vector<DiscoveryPort> ports);
  std::vector<DiscoveryPort> ports() const;
  // Discovery Log Page GENCTR: changes whenever the log's content may change (ports).
  uint64_t genctr() const { return genctr_.load(std::memory_order_acquire); }

  // Creates and registers a controller for an admin Connect. Returns null when the subsystem has no
  // free controller ID.
  std::shared_ptr<FabricsController> CreateController(SubsystemEntry& entry,
                                                      const std::string& hostnqn,
                                                      const std::array<uint8_t, 16>& hostid,
                                                      uint32_t kato_ms);
  // The live (not ended) controller `cntlid` of `entry`, or null.
  std::shared_ptr<FabricsController> FindController(const SubsystemEntry& entry, uint16_t cntlid);
  // Forgets `ctrl` (called when its association ends).
  void Unregister(const FabricsController* ctrl);
  size_t controller_count() const;
  // Ends every association (target shutdown): each controller closes its queues.
  void EndAllAssociations(const char* why);

 private:
  TargetCore(const TargetConfig& config, const Clock& clock);

  const TargetConfig config_;
  const Clock& clock_;
  std::vector<std::unique_ptr<SubsystemEntry>> subsystems_;  // [0] = discovery

  mutable std::mutex mu_;
  std::vector<DiscoveryPort> ports_;  // GUARDED_BY(mu_)
  // GUARDED_BY(mu_): live controllers by (subsystem, CNTLID).
  std::map<std::pair<const SubsystemEntry*, uint16_t>, std::shared_ptr<FabricsController>>
      controllers_;
  std::atomic<uint64_t> genctr_{1};
};

}  // namespace nvemu::fabrics
