#include "core/state_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nvm/namespace.h"

namespace nvemu {
namespace {

using nlohmann::json;

constexpr int kFormatVersion = 1;

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = kDigits[p[i] >> 4];
    s[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return s;
}

bool Unhex(const std::string& s, uint8_t* out, size_t n) {
  if (s.size() != 2 * n) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < n; ++i) {
    int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

const char* BackendName(BackendKind k) {
  switch (k) {
    case BackendKind::kFile:
      return "file";
    case BackendKind::kNull:
      return "null";
    default:
      return "ram";
  }
}

BackendKind BackendFromName(const std::string& s) {
  if (s == "file") return BackendKind::kFile;
  if (s == "null") return BackendKind::kNull;
  return BackendKind::kRam;
}

json HostToJson(const HostRef& h) {
  return {{"cntlid", h.cntlid}, {"hostid", Hex(h.hostid.data(), h.hostid.size())}};
}

bool HostFromJson(const json& j, HostRef* h) {
  h->cntlid = j.value("cntlid", uint16_t{0});
  return Unhex(j.value("hostid", std::string{}), h->hostid.data(), h->hostid.size());
}

json ReservationsToJson(const std::map<uint32_t, ReservationState>& all) {
  json out = json::array();
  for (const auto& [nsid, r] : all) {
    json regs = json::array();
    for (const auto& g : r.registrants) {
      json e = HostToJson(g.host);
      e["key"] = g.key;
      regs.push_back(e);
    }
    out.push_back({{"nsid", nsid},
                   {"ptpl", r.ptpl},
                   {"saved_ptpl", r.saved_ptpl},
                   {"generation", r.generation},
                   {"rtype", r.rtype},
                   {"holder", HostToJson(r.holder)},
                   {"registrants", regs}});
  }
  return out;
}

bool ReservationsFromJson(const json& j, std::map<uint32_t, ReservationState>* all) {
  for (const json& e : j) {
    ReservationState r;
    const uint32_t nsid = e.at("nsid").get<uint32_t>();
    r.ptpl = e.value("ptpl", false);
    r.saved_ptpl = e.value("saved_ptpl", int8_t{-1});
    r.generation = e.value("generation", uint32_t{0});
    r.rtype = e.value("rtype", uint8_t{0});
    if (e.contains("holder") && !HostFromJson(e.at("holder"), &r.holder)) return false;
    for (const json& g : e.value("registrants", json::array())) {
      ReservationState::Registrant reg;
      if (!HostFromJson(g, &reg.host)) return false;
      reg.key = g.value("key", uint64_t{0});
      r.registrants.push_back(reg);
    }
    (*all)[nsid] = std::move(r);
  }
  return true;
}

json ToJson(const PersistentState& st) {
  json j;
  j["version"] = kFormatVersion;
  j["clean_shutdown"] = st.clean_shutdown;
  j["smart"] = {{"read_bytes", st.read_bytes},
                {"write_bytes", st.write_bytes},
                {"read_commands", st.read_commands},
                {"write_commands", st.write_commands},
                {"power_cycles", st.power_cycles},
                {"power_on_seconds", st.power_on_seconds},
                {"unsafe_shutdowns", st.unsafe_shutdowns},
                {"media_errors", st.media_errors},
                {"error_log_entries", st.error_log_entries},
                {"busy_ns", st.busy_ns},
                {"warning_temp_ns", st.warning_temp_ns},
                {"critical_temp_ns", st.critical_temp_ns}};
  j["saved_features"] = st.saved_features;
  json fw = json::array();
  for (const auto& slot : st.firmware) {
    fw.push_back(
        {{"revision", slot.revision}, {"image", Hex(slot.image.data(), slot.image.size())}});
  }
  j["firmware"] = {{"active", st.firmware_active}, {"next", st.firmware_next}, {"slots", fw}};
  if (st.has_namespaces) {
    json ns = json::array();
    for (const auto& r : st.namespaces) {
      ns.push_back({{"nsid", r.nsid},
                    {"lbaf", r.lbaf},
                    {"nsze", r.nsze},
                    {"backend", BackendName(r.backend)},
                    {"data_path", r.data_path},
                    {"metadata_path", r.metadata_path},
                    {"attached", r.attached},
                    {"controllers", r.controllers},
                    {"owned", r.owned},
                    {"extended", r.extended},
                    {"pi_type", r.pi_type},
                    {"pi_first", r.pi_first},
                    {"nguid", Hex(r.nguid.data(), r.nguid.size())},
                    {"eui64", Hex(r.eui64.data(), r.eui64.size())},
                    {"uuid", Hex(r.uuid.data(), r.uuid.size())}});
    }
    j["namespaces"] = {{"generation", st.namespace_generation}, {"table", ns}};
  }
  if (!st.reservations.empty()) j["reservations"] = ReservationsToJson(st.reservations);
  return j;
}

Result<PersistentState> FromJson(const json& j) {
  PersistentState st;
  st.loaded = true;
  if (j.value("version", 0) != kFormatVersion) return Error{"unsupported state file version"};
  st.clean_shutdown = j.value("clean_shutdown", true);
  const json& s = j.at("smart");
  st.read_bytes = s.value("read_bytes", uint64_t{0});
  st.write_bytes = s.value("write_bytes", uint64_t{0});
  st.read_commands = s.value("read_commands", uint64_t{0});
  st.write_commands = s.value("write_commands", uint64_t{0});
  st.power_cycles = s.value("power_cycles", uint64_t{0});
  st.power_on_seconds = s.value("power_on_seconds", uint64_t{0});
  st.unsafe_shutdowns = s.value("unsafe_shutdowns", uint64_t{0});
  st.media_errors = s.value("media_errors", uint64_t{0});
  st.error_log_entries = s.value("error_log_entries", uint64_t{0});
  st.busy_ns = s.value("busy_ns", uint64_t{0});
  st.warning_temp_ns = s.value("warning_temp_ns", uint64_t{0});
  st.critical_temp_ns = s.value("critical_temp_ns", uint64_t{0});
  st.saved_features = j.value("saved_features", std::map<std::string, uint32_t>{});
  if (j.contains("firmware")) {
    const json& fw = j.at("firmware");
    st.firmware_active = fw.value("active", uint8_t{1});
    st.firmware_next = fw.value("next", uint8_t{0});
    for (const json& slot : fw.at("slots")) {
      FirmwareSlotRecord r;
      r.revision = slot.value("revision", std::string{});
      std::string hex = slot.value("image", std::string{});
      r.image.resize(hex.size() / 2);
      if (!Unhex(hex, r.image.data(), r.image.size())) return Error{"bad firmware image encoding"};
      st.firmware.push_back(std::move(r));
    }
  }
  if (j.contains("namespaces")) {
    st.has_namespaces = true;
    const json& ns = j.at("namespaces");
    st.namespace_generation = ns.value("generation", uint64_t{0});
    for (const json& e : ns.at("table")) {
      NamespaceRecord r;
      r.nsid = e.at("nsid").get<uint32_t>();
      r.lbaf = e.at("lbaf").get<uint8_t>();
      r.nsze = e.at("nsze").get<uint64_t>();
      r.backend = BackendFromName(e.value("backend", std::string{"ram"}));
      r.data_path = e.value("data_path", std::string{});
      r.metadata_path = e.value("metadata_path", std::string{});
      r.attached = e.value("attached", true);
      r.controllers = e.value("controllers", std::vector<uint16_t>{});
      std::sort(r.controllers.begin(), r.controllers.end());
      r.owned = e.value("owned", false);
      r.extended = e.value("extended", false);
      r.pi_type = e.value("pi_type", uint8_t{0});
      r.pi_first = e.value("pi_first", false);
      if (!Unhex(e.value("nguid", std::string{}), r.nguid.data(), r.nguid.size()) ||
          !Unhex(e.value("eui64", std::string{}), r.eui64.data(), r.eui64.size()) ||
          !Unhex(e.value("uuid", std::string{}), r.uuid.data(), r.uuid.size())) {
        return Error{fmt::format("namespace {}: bad identifier encoding", r.nsid)};
      }
      st.namespaces.push_back(std::move(r));
    }
  }
  if (j.contains("reservations")) {
    if (!ReservationsFromJson(j.at("reservations"), &st.reservations)) {
      return Error{"bad reservation encoding"};
    }
  }
  return st;
}

Error Errno(const std::string& what, const std::string& path) {
  return Error{fmt::format("state file {}: {}: {}", path, what, std::strerror(errno))};
}

}  // namespace

uint64_t NamespaceRecord::bytes() const {
  return lbaf < kLbaFormats.size() ? nsze << kLbaFormats[lbaf].lbads : 0;
}

uint64_t NamespaceRecord::metadata_bytes() const {
  return lbaf < kLbaFormats.size() ? nsze * kLbaFormats[lbaf].ms : 0;
}

std::string StateFilePath(const ControllerConfig& config) {
  if (config.state_file == "none") return "";
  if (!config.state_file.empty()) return config.state_file;
  for (size_t i = 0; i < config.namespaces.size(); ++i) {
    const NamespaceConfig& ns = config.namespaces[i];
    if (ns.backend != BackendKind::kFile) continue;
    std::string data = ns.data_path.empty() ? fmt::format("nvemu-n{}.img", i + 1) : ns.data_path;
    return data + ".state.json";
  }
  return "";
}

Result<PersistentState> LoadStateFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return PersistentState{};
    return Errno("open", path);
  }
  std::stringstream buf;
  buf << in.rdbuf();
  json j = json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Error{fmt::format("state file {}: not JSON", path)};
  try {
    auto st = FromJson(j);
    if (!st.ok()) return Error{fmt::format("state file {}: {}", path, st.error().message)};
    return st;
  } catch (const json::exception& e) {
    return Error{fmt::format("state file {}: {}", path, e.what())};
  }
}

Result<void> SaveStateFile(const std::string& path, const PersistentState& state) {
  std::string text = ToJson(state).dump(1);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create", tmp);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Error e = Errno("write", tmp);
      ::close(fd);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Error e = Errno("fsync", tmp);
    ::close(fd);
    return e;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("rename", tmp);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("open directory", dir.string());
  int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return Errno("fsync directory", dir.string());
  return {};
}

Result<void> StateStore::Load() {
  if (!enabled()) return {};
  auto st = LoadStateFile(path_);
  if (!st.ok()) return st.error();
  std::lock_guard<std::mutex> lock(mu_);
  state_ = std::move(st.value());
  return {};
}

Result<void> StateStore::SaveLocked() {
  if (!enabled()) return {};
  auto r = SaveStateFile(path_, state_);
  if (!r.ok()) spdlog::error("{}", r.error().message);
  return r;
}

}  // namespace nvemu
