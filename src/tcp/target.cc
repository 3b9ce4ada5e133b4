#include "tcp/target.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>
#include <thread>

namespace nvemu {

Result<std::unique_ptr<TcpTarget>> TcpTarget::Create(const TargetConfig& config) {
  auto t = tcp::Target::Create(config);
  if (!t.ok()) return t.error();
  return std::unique_ptr<TcpTarget>(std::move(t.value()));
}

namespace tcp {
namespace {

constexpr uint64_t kDrainNs = 1'000'000'000;  // Stop(): time to send what is already queued
constexpr auto kStopWait = std::chrono::seconds(3);

}  // namespace

ConnectionLimits MakeLimits(const TargetConfig& config) {
  ConnectionLimits l;
  l.admin_in_capsule = 8192;
  l.io_in_capsule = config.in_capsule_data;
  l.maxh2cdata = config.maxh2cdata;
  l.max_r2t_bytes = config.max_r2t_bytes;
  const ControllerConfig& c = config.controller;
  // MDTS is in units of CAP.MPSMIN pages; 0 (no limit) is served up to 1 MiB per command.
  uint64_t mdts = c.mdts == 0 ? (1ull << 20) : (4096ull << c.mpsmin) << c.mdts;
  l.max_transfer = static_cast<uint32_t>(std::min<uint64_t>(mdts, 1ull << 30));
  return l;
}

Result<std::unique_ptr<Target>> Target::Create(const TargetConfig& config) {
  std::unique_ptr<Target> t(new Target());
  auto core = fabrics::TargetCore::Create(config, t->clock_);
  if (!core.ok()) return core.error();
  t->core_ = std::move(core.value());
  return t;
}

Target::~Target() { Stop(); }

size_t Target::connection_count() const {
  size_t n = 0;
  for (const auto& p : pollers_) n += p->connection_count();
  return n;
}

void Target::Assign(UniqueFd fd) {
  uint32_t i = next_poller_.fetch_add(1, std::memory_order_relaxed) % pollers_.size();
  pollers_[i]->Adopt(std::move(fd));
}

Result<void> Target::Start() {
  if (started_) return Error{"target already started"};
  const TargetConfig& cfg = core_->config();
  const ConnectionLimits limits = MakeLimits(cfg);
  for (uint32_t i = 0; i < cfg.reactors; ++i) {
    engine::ReactorOptions o;
    o.name = "tcp-" + std::to_string(i);
    o.mode = cfg.mode;
    o.timer_period_us = cfg.controller.timer_period_us;
    o.entries_per_tick = cfg.controller.entries_per_tick;
    reactors_.push_back(std::make_unique<engine::Reactor>(o));
    pollers_.push_back(std::make_unique<TcpPoller>(*reactors_.back(), *core_, limits));
    reactors_.back()->AddPoller(pollers_.back().get());
  }
  auto accept = [this](UniqueFd fd) { Assign(std::move(fd)); };
  auto io = Listener::Create(cfg.address, cfg.port, accept);
  if (!io.ok()) return io.error();
  port_ = io.value()->port();
  listeners_.push_back(std::move(io.value()));
  if (cfg.discovery_port >= 0) {
    auto disc = Listener::Create(cfg.address, static_cast<uint16_t>(cfg.discovery_port), accept);
    if (!disc.ok()) return disc.error();
    discovery_port_ = disc.value()->port();
    listeners_.push_back(std::move(disc.value()));
  }
  for (auto& l : listeners_) pollers_[0]->AddHandler(l->fd(), l.get(), EPOLLIN);
  // Discovery Log Page entries point hosts at the I/O port (NVMe Base 2.0, Figure 262).
  fabrics::DiscoveryPort p;
  p.adrfam = listeners_[0]->ipv6() ? 2 : 1;
  p.traddr = cfg.address;
  p.trsvcid = std::to_string(port_);
  p.portid = 1;
  core_->SetPorts({p});
  for (auto& r : reactors_) r->Start();
  started_ = true;
  spdlog::info("tcp: NVMe/TCP target listening on {} port {}{}", cfg.address, port_,
               discovery_port_ >= 0 ? fmt::format(" (discovery port {})", discovery_port_) : "");
  return {};
}

void Target::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  // 1. No new connections.
  pollers_[0]->RunSync([this] {
    for (auto& l : listeners_) pollers_[0]->RemoveHandler(l->fd());
  });
  listeners_.clear();
  // 2. Every connection stops reading, sends what it has queued, and closes.
  const uint64_t deadline = clock_.NowNs() + kDrainNs;
  for (auto& p : pollers_) {
    TcpPoller* poller = p.get();
    poller->RunSync([poller, deadline] { poller->DrainAll("target stopping", deadline); });
  }
  auto until = std::chrono::steady_clock::now() + kStopWait;
  while (connection_count() > 0 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // 3. Whatever is left (a peer that does not read) is closed; controllers end.
  for (auto& p : pollers_) {
    TcpPoller* poller = p.get();
    poller->RunSync(
        [poller] { poller->ForEachConnection([](Connection& c) { c.Close("target stopped"); }); });
  }
  core_->EndAllAssociations("target stopped");
  // 4. Reactors stop (pollers no longer block: they are draining).
  for (size_t i = 0; i < reactors_.size(); ++i) {
    pollers_[i]->Kick();
    reactors_[i]->Stop();
    reactors_[i]->RemovePoller(pollers_[i].get());
  }
  pollers_.clear();
  reactors_.clear();
  spdlog::info("tcp: NVMe/TCP target stopped");
}

}  // namespace tcp
}  // namespace nvemu
