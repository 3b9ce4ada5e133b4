// tcp::Target: the TcpTarget implementation. Owns the fabrics TargetCore (subsystems, controllers),
// one reactor + TcpPoller per configured reactor, and the listeners (registered with poller 0,
// which assigns accepted connections to the pollers round robin).
//
// Threading: see nvemu/tcp_target.h. Tests may use the accessors to reach the pollers.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/fabrics/target_core.h"
#include "engine/reactor.h"
#include "nvemu/clock.h"
#include "nvemu/tcp_target.h"
#include "tcp/listener.h"
#include "tcp/poller.h"

namespace nvemu::tcp {

// Transport limits derived from a target configuration.
ConnectionLimits MakeLimits(const TargetConfig& config);

class Target final : public TcpTarget {
 public:
  static Result<std::unique_ptr<Target>> Create(const TargetConfig& config);
  ~Target() override;

  Result<void> Start() override;
  void Stop() override;
  uint16_t port() const override { return port_; }
  int32_t discovery_port() const override { return discovery_port_; }
  size_t connection_count() const override;
  size_t controller_count() const override { return core_->controller_count(); }

  fabrics::TargetCore& core() { return *core_; }
  std::vector<std::unique_ptr<TcpPoller>>& pollers() { return pollers_; }

 private:
  Target() = default;
  void Assign(UniqueFd fd);

  SystemClock clock_;
  std::unique_ptr<fabrics::TargetCore> core_;
  std::vector<std::unique_ptr<engine::Reactor>> reactors_;
  std::vector<std::unique_ptr<TcpPoller>> pollers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::atomic<uint32_t> next_poller_{0};
  uint16_t port_ = 0;
  int32_t discovery_port_ = -1;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace nvemu::tcp
