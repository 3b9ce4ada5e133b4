// Subsystem: an NVM subsystem (NVMe Base 2.0, 2.2): an NQN, the namespaces, and the controllers that
// share them. A PCIe device has one subsystem with one controller; an NVMe over Fabrics target has
// several subsystems whose controllers are created by Connect.
//
// Threading: the namespace table is immutable after construction (namespace management will swap it
// by message); controller ID allocation is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "nvemu/config.h"
#include "nvm/namespace.h"

namespace nvemu {

class Subsystem {
 public:
  Subsystem(std::string nqn, std::vector<std::unique_ptr<Namespace>> namespaces);

  // Builds the namespaces of `config` (opening file backends) under `config.subnqn`.
  static Result<std::unique_ptr<Subsystem>> Create(const ControllerConfig& config);

  const std::string& nqn() const { return nqn_; }
  // Namespaces indexed by NSID - 1 (null = inactive NSID).
  std::span<Namespace* const> namespaces() const { return table_; }
  uint32_t nn() const { return static_cast<uint32_t>(table_.size()); }
  Namespace* Get(uint32_t nsid) const {
    return (nsid == 0 || nsid > table_.size()) ? nullptr : table_[nsid - 1];
  }
  // Flushes every namespace's backend; returns false if any failed (logged).
  bool FlushAll();

  // Dynamic controller IDs (NVMe Base 2.0, 5.21.1 Connect: 0001h..FFEFh). 0 when exhausted.
  uint16_t AllocateCntlid();
  void ReleaseCntlid(uint16_t cntlid);

 private:
  const std::string nqn_;
  std::vector<std::unique_ptr<Namespace>> namespaces_;
  std::vector<Namespace*> table_;
  std::mutex mu_;
  std::set<uint16_t> cntlids_;  // GUARDED_BY(mu_)
  uint16_t next_cntlid_ = 1;    // GUARDED_BY(mu_)
};

}  // namespace nvemu
