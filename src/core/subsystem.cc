#include "core/subsystem.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <iterator>

#include "core/admin/identify_data.h"
#include "core/reservation_persistence.h"

namespace nvemu {
namespace {

constexpr uint32_t kDefaultMaxNsid = 16;  // hand-built subsystems (tests, fabrics)

// NVMe Base 2.0, 5.14 Format NVM, SES 001b (User Data Erase): every logical block reads as zero
// (RAM releases its chunks, a file gets holes punched).
IoStatus EraseUserData(Backend& backend) {
  if (IoStatus st = backend.Deallocate(0, backend.Size()); !st.ok()) return st;
  return backend.Flush();
}

NamespaceRecord RecordOf(const Namespace& ns) {
  NamespaceRecord r;
  r.nsid = ns.nsid();
  r.lbaf = ns.lbaf();
  r.nsze = ns.nsze();
  r.extended = ns.extended();
  r.pi_type = ns.pi_type();
  r.pi_first = ns.pi_first();
  r.nguid = ns.nguid();
  r.eui64 = ns.eui64();
  r.uuid = ns.uuid();
  return r;
}

}  // namespace

Subsystem::Subsystem(std::string nqn, uint32_t max_nsid, std::unique_ptr<StateStore> state)
    : nqn_(std::move(nqn)), max_nsid_(max_nsid), state_(std::move(state)) {
  entries_.resize(max_nsid_);
}

Subsystem::Subsystem(std::string nqn, std::vector<std::unique_ptr<Namespace>> namespaces)
    : Subsystem(std::move(nqn),
                std::max<uint32_t>(kDefaultMaxNsid, static_cast<uint32_t>(namespaces.size())),
                std::make_unique<StateStore>("")) {
  for (auto& ns : namespaces) {
    uint32_t nsid = ns->nsid();
    if (nsid == 0 || nsid > max_nsid_) continue;
    entries_[nsid - 1].record = RecordOf(*ns);
    capacity_ += entries_[nsid - 1].record.bytes();
    entries_[nsid - 1].ns = std::move(ns);
  }
  std::lock_guard<std::mutex> lock(mu_);
  PublishLocked();
}

Subsystem::~Subsystem() = default;

Result<std::unique_ptr<Subsystem>> Subsystem::Create(const ControllerConfig& config,
                                                     const Clock& clock) {
  auto store = std::make_unique<StateStore>(StateFilePath(config));
  if (auto r = store->Load(); !r.ok()) return r.error();
  PersistentState saved = store->Snapshot();

  std::vector<NamespaceRecord> records;
  if (saved.has_namespaces) {
    records = saved.namespaces;
    if (records.size() != config.namespaces.size()) {
      spdlog::info(
          "subsystem {}: namespace table from {} ({} namespaces) replaces the {} configured",
          config.subnqn, store->path(), records.size(), config.namespaces.size());
    }
  }
  // NN: the configured maximum, else the namespaces configured (namespace management then needs
  // max_namespaces above that to find a free NSID).
  uint32_t max_nsid = config.max_namespaces != 0
                          ? config.max_namespaces
                          : std::max<uint32_t>(1, static_cast<uint32_t>(config.namespaces.size()));
  for (const auto& r : records) max_nsid = std::max(max_nsid, r.nsid);

  std::unique_ptr<Subsystem> sub(new Subsystem(config.subnqn, max_nsid, std::move(store)));
  sub->serial_ = config.serial;
  if (!config.namespaces.empty()) sub->create_kind_ = config.namespaces[0].backend;
  if (!config.namespaces.empty()) {
    sub->file_direct_ = config.namespaces[0].direct_io;
    sub->file_io_uring_ = config.namespaces[0].io_uring;
  }
  if (sub->state_->enabled()) {
    std::string prefix = sub->state_->path();
    if (prefix.ends_with(".state.json")) prefix.resize(prefix.size() - 11);
    sub->create_prefix_ = prefix;
  } else if (sub->create_kind_ == BackendKind::kFile) {
    sub->create_kind_ = BackendKind::kRam;  // no place to keep new images: RAM
  }

  uint64_t configured = 0;
  if (saved.has_namespaces) {
    for (const auto& r : records) {
      if (r.nsid == 0 || r.nsid > max_nsid) return Error{fmt::format("bad NSID {}", r.nsid)};
      auto ns = sub->OpenRecord(r);
      if (!ns.ok()) return ns.error();
      sub->entries_[r.nsid - 1] = Entry{std::move(ns.value()), r};
    }
  } else {
    for (size_t i = 0; i < config.namespaces.size(); ++i) {
      const NamespaceConfig& c = config.namespaces[i];
      uint32_t nsid = static_cast<uint32_t>(i + 1);
      auto ns = MakeNamespace(nsid, c, config.serial);
      if (!ns.ok()) return ns.error();
      NamespaceRecord r = RecordOf(**ns);
      r.backend = c.backend;
      if (c.backend == BackendKind::kFile) {
        r.data_path = c.data_path.empty() ? fmt::format("nvemu-n{}.img", nsid) : c.data_path;
        r.metadata_path =
            c.metadata_path.empty() ? fmt::format("nvemu-n{}.meta", nsid) : c.metadata_path;
      }
      configured += r.bytes();
      sub->entries_[nsid - 1] = Entry{std::move(ns.value()), r};
    }
  }
  // Reservations that persist through power loss (NVMe Base 2.0, 8.19.x).
  for (Entry& e : sub->entries_) {
    if (e.ns) BindReservationPersistence(*sub->state_, *e.ns, ReservationBinding::kRestore);
  }
  sub->capacity_ =
      std::max(config.nvm_capacity != 0 ? config.nvm_capacity : configured, sub->allocated_bytes());

  // Power-on bookkeeping (SMART Power Cycles / Unsafe Shutdowns, NVMe Base 2.0, Figure 207): the
  // file says clean_shutdown = false from power-on until a CC.SHN shutdown completes.
  auto r = sub->state_->Update([&](PersistentState& st) {
    st.power_cycles += 1;
    if (st.loaded && !st.clean_shutdown) st.unsafe_shutdowns += 1;
    st.loaded = true;
    st.clean_shutdown = false;
  });
  if (!r.ok()) return r.error();
  sub->StartHealth(clock.NowNs(), config);  // after the power-cycle count
  std::lock_guard<std::mutex> lock(sub->mu_);
  sub->SaveTableLocked();
  sub->PublishLocked();
  return sub;
}

void Subsystem::StartHealth(uint64_t now_ns, const ControllerConfig& config) {
  std::call_once(health_once_, [&] {
    // Percentage Used: the configured endurance, else 1000 full writes of the NVM capacity.
    uint64_t endurance_bytes = config.endurance_bytes;
    if (endurance_bytes == 0) {
      endurance_bytes = capacity_ > UINT64_MAX / 1000 ? UINT64_MAX : capacity_ * 1000;
    }
    health_.Configure(kWctemp, kCctemp, endurance_bytes);
    health_.Restore(state_->Snapshot(), now_ns);
    health_.set_temperature(config.composite_temperature, now_ns);
    health_.set_available_spare(config.available_spare);
  });
}

namespace {
NamespaceFormat FormatOf(const NamespaceRecord& r) {
  return NamespaceFormat{r.extended, r.pi_type, r.pi_first};
}
}  // namespace

Result<std::unique_ptr<Backend>> Subsystem::OpenBackend(const NamespaceRecord& r) const {
  if (r.lbaf >= kLbaFormats.size()) return Error{fmt::format("namespace {}: bad LBAF", r.nsid)};
  MetadataFill fill = MetadataFillFor(r.lbaf, FormatOf(r));
  std::unique_ptr<Backend> backend;
  switch (r.backend) {
    case BackendKind::kRam:
      backend = MakeRamBackend(r.bytes(), r.metadata_bytes(), fill);
      break;
    case BackendKind::kNull:
      backend = MakeNullBackend(r.bytes(), r.metadata_bytes());
      break;
    case BackendKind::kFile: {
      FileBackendOptions opts;
      opts.data_path = r.data_path;
      opts.metadata_path = r.metadata_path;
      opts.size = r.bytes();
      opts.metadata_size = r.metadata_bytes();
      opts.metadata_fill = fill;
      opts.direct = file_direct_;
      opts.io_uring = file_io_uring_;
      auto file = OpenFileBackend(opts);
      if (!file.ok()) return Error{fmt::format("namespace {}: {}", r.nsid, file.error().message)};
      backend = std::move(file.value());
      break;
    }
  }
  if (!backend) return Error{fmt::format("namespace {}: cannot create backend", r.nsid)};
  return backend;
}

Result<std::unique_ptr<Namespace>> Subsystem::OpenRecord(const NamespaceRecord& r) const {
  auto backend = OpenBackend(r);
  if (!backend.ok()) return backend.error();
  auto ns =
      std::make_unique<Namespace>(r.nsid, r.lbaf, r.nsze, std::move(backend.value()), FormatOf(r));
  ns->SetIdentifiers(r.nguid, r.eui64, r.uuid);
  return ns;
}

bool Subsystem::AttachedLocked(const NamespaceRecord& r, uint16_t cntlid) const {
  return r.attached ||
         std::find(r.controllers.begin(), r.controllers.end(), cntlid) != r.controllers.end();
}

std::unique_ptr<NamespaceTable> Subsystem::BuildTableLocked(uint16_t cntlid) const {
  auto table = std::make_unique<NamespaceTable>(max_nsid_, nullptr);
  for (uint32_t i = 0; i < max_nsid_; ++i) {
    if (entries_[i].ns && AttachedLocked(entries_[i].record, cntlid)) {
      (*table)[i] = entries_[i].ns.get();
    }
  }
  return table;
}

void Subsystem::PublishLocked(std::vector<std::unique_ptr<Namespace>> retired) {
  std::vector<std::unique_ptr<const NamespaceTable>> old;
  std::lock_guard<std::mutex> lock(ctrl_mu_);
  for (auto& [cntlid, hooks] : controllers_) {
    old.emplace_back(hooks.table->exchange(BuildTableLocked(cntlid).release()));
  }
  // Every command that loaded an old table has completed once each front end has quiesced.
  for (auto& [cntlid, hooks] : controllers_) {
    if (hooks.quiesce_io) hooks.quiesce_io();
  }
  old.clear();
  retired.clear();
}

void Subsystem::NotifyChanged(uint32_t nsid, const std::vector<uint16_t>& ids) {
  std::lock_guard<std::mutex> lock(ctrl_mu_);
  for (uint16_t id : ids) {
    auto it = controllers_.find(id);
    if (it != controllers_.end() && it->second.namespace_changed)
      it->second.namespace_changed(nsid);
  }
}

void Subsystem::SaveTableLocked() {
  if (!state_->enabled()) return;
  (void)state_->Update([&](PersistentState& st) {
    st.has_namespaces = true;
    st.namespaces.clear();
    for (const Entry& e : entries_) {
      if (e.ns) st.namespaces.push_back(e.record);
    }
  });
}

bool Subsystem::FlushAll() {
  std::lock_guard<std::mutex> lock(mu_);
  bool ok = true;
  for (const Entry& e : entries_) {
    Namespace* ns = e.ns.get();
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

Namespace* Subsystem::GetAllocated(uint32_t nsid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return (nsid == 0 || nsid > max_nsid_) ? nullptr : entries_[nsid - 1].ns.get();
}

bool Subsystem::IsAttached(uint32_t nsid, uint16_t cntlid) const {
  std::lock_guard<std::mutex> lock(mu_);
  return nsid != 0 && nsid <= max_nsid_ && entries_[nsid - 1].ns &&
         AttachedLocked(entries_[nsid - 1].record, cntlid);
}

std::vector<uint16_t> Subsystem::AttachedControllers(uint32_t nsid) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (nsid == 0 || nsid > max_nsid_ || !entries_[nsid - 1].ns) return {};
  const NamespaceRecord& r = entries_[nsid - 1].record;
  if (!r.attached) return r.controllers;
  std::lock_guard<std::mutex> ctrl_lock(ctrl_mu_);
  std::vector<uint16_t> ids;
  for (const auto& [id, hooks] : controllers_) ids.push_back(id);
  return ids;
}

uint64_t Subsystem::allocated_bytes() const {
  uint64_t total = 0;
  for (const Entry& e : entries_) {
    if (e.ns) total += e.record.bytes();
  }
  return total;
}

Status Subsystem::CreateNamespace(uint8_t lbaf, const NamespaceFormat& format, uint64_t nsze,
                                  uint32_t* nsid) {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t id = 0;
  for (uint32_t i = 0; i < max_nsid_ && id == 0; ++i) {
    if (!entries_[i].ns) id = i + 1;
  }
  // 5.21.1: no free NSID -> Namespace Identifier Unavailable.
  if (id == 0) return sc::kNamespaceIdUnavailable;
  NamespaceRecord r;
  r.nsid = id;
  r.lbaf = lbaf;
  r.nsze = nsze;
  r.attached = false;
  r.extended = format.extended;
  r.pi_type = format.pi_type;
  r.pi_first = format.pi_first;
  // Namespace Insufficient Capacity: the pool (UNVMCAP) cannot hold it.
  if (nsze > (capacity_ >> kLbaFormats[lbaf].lbads) || r.bytes() > capacity_ - allocated_bytes()) {
    return Status::CommandSpecific(0x15);
  }
  uint64_t generation = 0;
  (void)state_->Update([&](PersistentState& st) { generation = ++st.namespace_generation; });
  r.backend = create_kind_;
  if (r.backend == BackendKind::kFile) {
    r.data_path = fmt::format("{}-ns{}-g{}.img", create_prefix_, id, generation);
    r.metadata_path = fmt::format("{}-ns{}-g{}.meta", create_prefix_, id, generation);
    r.owned = true;
  }
  auto ns = OpenRecord(r);
  if (!ns.ok()) {
    spdlog::error("subsystem {}: create namespace {}: {}", nqn_, id, ns.error().message);
    return sc::kInternalError;
  }
  // Identifiers are never reused: the key includes a generation that only grows.
  DeriveIdentifiers(fmt::format("{}/{}/g{}", serial_, id, generation), **ns);
  r.nguid = (*ns)->nguid();
  r.eui64 = (*ns)->eui64();
  r.uuid = (*ns)->uuid();
  BindReservationPersistence(*state_, **ns, ReservationBinding::kNew);
  entries_[id - 1] = Entry{std::move(ns.value()), r};
  SaveTableLocked();
  *nsid = id;
  spdlog::info("subsystem {}: created namespace {} ({} blocks, LBAF {})", nqn_, id, nsze, lbaf);
  return Status::Success();
}

Status Subsystem::DeleteNamespace(uint32_t nsid) {
  // 5.21: deleting an attached namespace changes it for every controller it was attached to.
  std::vector<uint16_t> affected = AttachedControllers(nsid);
  std::unique_lock<std::mutex> lock(mu_);
  if (nsid == 0 || nsid > max_nsid_ || !entries_[nsid - 1].ns) {
    return sc::kInvalidNamespaceOrFormat;
  }
  Entry e = std::move(entries_[nsid - 1]);
  entries_[nsid - 1] = Entry{};
  std::vector<std::unique_ptr<Namespace>> retired;
  retired.push_back(std::move(e.ns));
  PublishLocked(std::move(retired));  // closes the backend once no I/O can reach it
  if (e.record.owned) {
    std::error_code ec;
    std::filesystem::remove(e.record.data_path, ec);
    std::filesystem::remove(e.record.metadata_path, ec);
  }
  ForgetReservations(*state_, nsid);
  SaveTableLocked();
  lock.unlock();
  NotifyChanged(nsid, affected);
  spdlog::info("subsystem {}: deleted namespace {}", nqn_, nsid);
  return Status::Success();
}

Status Subsystem::SetAttached(uint32_t nsid, bool attach, std::span<const uint16_t> ids) {
  constexpr Status kControllerListInvalid = Status::CommandSpecific(0x1c);
  std::unique_lock<std::mutex> lock(mu_);
  if (nsid == 0 || nsid > max_nsid_ || !entries_[nsid - 1].ns) {
    return sc::kInvalidNamespaceOrFormat;
  }
  std::vector<uint16_t> registered = ControllerIds();
  std::vector<uint16_t> list(ids.begin(), ids.end());
  std::sort(list.begin(), list.end());
  if (list.empty() || std::adjacent_find(list.begin(), list.end()) != list.end()) {
    return kControllerListInvalid;
  }
  for (uint16_t id : list) {
    if (std::find(registered.begin(), registered.end(), id) == registered.end()) {
      return kControllerListInvalid;
    }
  }
  NamespaceRecord& r = entries_[nsid - 1].record;
  for (uint16_t id : list) {
    bool is = AttachedLocked(r, id);
    if (attach && is) return sc::kNamespaceAlreadyAttached;
    if (!attach && !is) return sc::kNamespaceNotAttached;
  }
  if (r.attached) {
    // Detach from an all-controllers namespace: it stays attached to the other controllers that
    // exist now (an explicit set from here on).
    r.attached = false;
    r.controllers = registered;
  }
  std::sort(r.controllers.begin(), r.controllers.end());
  std::vector<uint16_t> next;
  if (attach) {
    std::set_union(r.controllers.begin(), r.controllers.end(), list.begin(), list.end(),
                   std::back_inserter(next));
  } else {
    std::set_difference(r.controllers.begin(), r.controllers.end(), list.begin(), list.end(),
                        std::back_inserter(next));
  }
  r.controllers = std::move(next);
  PublishLocked();
  SaveTableLocked();
  lock.unlock();
  NotifyChanged(nsid, list);
  spdlog::info("subsystem {}: namespace {} {} controller(s) {}", nqn_, nsid,
               attach ? "attached to" : "detached from", fmt::join(list, ","));
  return Status::Success();
}

Status Subsystem::Format(uint32_t nsid, uint8_t lbaf, const NamespaceFormat& format, uint8_t ses) {
  std::lock_guard<std::mutex> lock(mu_);
  if (nsid == 0 || nsid > max_nsid_ || !entries_[nsid - 1].ns) {
    return sc::kInvalidNamespaceOrFormat;
  }
  Entry& e = entries_[nsid - 1];
  // Take the namespace out of the table and wait until no I/O uses it.
  std::unique_ptr<Namespace> old = std::move(e.ns);
  PublishLocked();
  std::unique_ptr<Backend> backend = old->ReleaseBackend();
  // Format NVM changes the LBA format, not the reservations (registrants, holder, type, PTPL).
  const ReservationState reservations = old->reservations().Export();
  old.reset();
  NamespaceRecord r = e.record;
  r.lbaf = lbaf;
  r.extended = format.extended;
  r.pi_type = format.pi_type;
  r.pi_first = format.pi_first;
  r.nsze = backend->Size() >> kLbaFormats[lbaf].lbads;
  Status result = Status::Success();
  if (r.metadata_bytes() != backend->MetadataSize()) {
    // A new metadata size needs a new metadata image (and, in RAM, a new backend).
    backend.reset();
    if (r.backend == BackendKind::kFile) {
      std::error_code ec;
      std::filesystem::remove(r.metadata_path, ec);
    }
    auto fresh = OpenBackend(r);
    if (!fresh.ok()) {
      spdlog::error("subsystem {}: format of namespace {}: {}", nqn_, nsid, fresh.error().message);
      r = e.record;
      fresh = OpenBackend(r);
      if (!fresh.ok()) return sc::kInternalError;
      result = sc::kInternalError;
    }
    backend = std::move(fresh.value());
  } else if (IoStatus st = backend->DeallocateMetadata(0, backend->MetadataSize()); !st.ok()) {
    result = sc::kInternalError;  // metadata back to the fill pattern of the new PI settings
  }
  if (result.ok() && ses == 1) {
    if (IoStatus st = EraseUserData(*backend); !st.ok()) {
      spdlog::error("subsystem {}: erase of namespace {} failed: errno {}", nqn_, nsid, st.err);
      result = sc::kInternalError;
    }
  }
  e.record = r;
  e.ns = std::make_unique<Namespace>(nsid, r.lbaf, r.nsze, std::move(backend), FormatOf(r));
  e.ns->SetIdentifiers(r.nguid, r.eui64, r.uuid);
  e.ns->reservations().Import(reservations);
  BindReservationPersistence(*state_, *e.ns, ReservationBinding::kKeep);
  PublishLocked();
  SaveTableLocked();
  return result;
}

void Subsystem::AddController(uint16_t cntlid, ControllerHooks hooks) {
  std::lock_guard<std::mutex> lock(mu_);
  std::lock_guard<std::mutex> ctrl_lock(ctrl_mu_);
  delete hooks.table->exchange(BuildTableLocked(cntlid).release());
  controllers_[cntlid] = std::move(hooks);
}

void Subsystem::RemoveController(uint16_t cntlid) {
  std::lock_guard<std::mutex> lock(ctrl_mu_);
  controllers_.erase(cntlid);
}

std::vector<uint16_t> Subsystem::ControllerIds() const {
  std::lock_guard<std::mutex> lock(ctrl_mu_);
  std::vector<uint16_t> ids;
  for (const auto& [id, hooks] : controllers_) ids.push_back(id);
  return ids;
}

uint16_t Subsystem::AllocateCntlid() {
  std::lock_guard<std::mutex> lock(cntlid_mu_);
  for (int tries = 0; tries < 0xffef; ++tries) {
    uint16_t id = next_cntlid_;
    next_cntlid_ = next_cntlid_ >= 0xffef ? 1 : next_cntlid_ + 1;
    if (cntlids_.insert(id).second) return id;
  }
  return 0;
}

void Subsystem::ReleaseCntlid(uint16_t cntlid) {
  std::lock_guard<std::mutex> lock(cntlid_mu_);
  cntlids_.erase(cntlid);
}

}  // namespace nvemu
