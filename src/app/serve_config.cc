#include "app/serve_config.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "app/config_schema.h"
#include "app/toml_fields.h"

namespace nvemu::app {
namespace {

struct Problem {
  toml::source_index line = 0;
  toml::source_index column = 0;
  std::string text;
};

class Problems {
 public:
  explicit Problems(std::string_view source) : source_(source) {}
  void Add(const toml::node& where, std::string_view key, std::string_view what) {
    const auto& at = where.source().begin;
    std::string text = at.line ? fmt::format("{}:{}:{}: ", source_, at.line, at.column)
                               : fmt::format("{}: ", source_);
    if (!key.empty()) text += fmt::format("{}: ", key);
    text += what;
    items_.push_back({at.line, at.column, std::move(text)});
  }
  // Messages already in "file:line:column: ..." form (from ApplySchema), one per line.
  void AddLines(const std::string& lines) {
    std::istringstream in(lines);
    for (std::string l; std::getline(in, l);) {
      Problem p;
      p.text = l;
      // file:LINE:COLUMN: -> sort keys
      const size_t a = l.find(':', source_.size());
      if (l.starts_with(source_) && a == source_.size()) {
        p.line = static_cast<toml::source_index>(std::atoi(l.c_str() + a + 1));
        const size_t b = l.find(':', a + 1);
        if (b != std::string::npos) {
          p.column = static_cast<toml::source_index>(std::atoi(l.c_str() + b + 1));
        }
      }
      items_.push_back(std::move(p));
    }
  }
  bool empty() const { return items_.empty(); }
  Error ToError() {
    std::stable_sort(items_.begin(), items_.end(), [](const Problem& a, const Problem& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    std::string msg;
    for (const Problem& p : items_) msg += (msg.empty() ? "" : "\n") + p.text;
    return Error{std::move(msg)};
  }
  std::string_view source() const { return source_; }

 private:
  std::string source_;
  std::vector<Problem> items_;
};

bool IsIpLiteral(const std::string& s) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, s.c_str(), &a4) == 1 || inet_pton(AF_INET6, s.c_str(), &a6) == 1;
}

// ---- [target] ----

struct TargetField {
  std::string_view key;
  Result<void> (*set)(const toml::node& n, TargetConfig& t);
};

template <typename T>
Result<void> SetInt(const toml::node& n, int64_t min, int64_t max, T& out) {
  auto v = ReadInt(n, min, max);
  if (!v.ok()) return v.error();
  out = static_cast<T>(*v);
  return {};
}

constexpr TargetField kTargetFields[] = {
    {"address",
     [](const toml::node& n, TargetConfig& t) -> Result<void> {
       auto v = ReadAsciiString(n, 1, 64);
       if (!v.ok()) return v.error();
       if (!IsIpLiteral(*v)) return Error{fmt::format("'{}' is not an IPv4 or IPv6 address", *v)};
       t.address = *v;
       return {};
     }},
    {"port", [](const toml::node& n, TargetConfig& t) { return SetInt(n, 0, 65535, t.port); }},
    {"discovery_port",
     [](const toml::node& n, TargetConfig& t) { return SetInt(n, -1, 65535, t.discovery_port); }},
    {"in_capsule_data",
     [](const toml::node& n, TargetConfig& t) {
       return SetInt(n, 0, 1024 * 1024, t.in_capsule_data);
     }},
    {"maxh2cdata",
     [](const toml::node& n, TargetConfig& t) -> Result<void> {
       if (auto r = SetInt(n, 4096, 16 * 1024 * 1024, t.maxh2cdata); !r.ok()) return r;
       if (t.maxh2cdata % 4 != 0) return Error{"must be a multiple of 4"};
       return {};
     }},
    {"max_r2t_bytes",
     [](const toml::node& n, TargetConfig& t) -> Result<void> {
       if (auto r = SetInt(n, 0, 0xffffffffll, t.max_r2t_bytes); !r.ok()) return r;
       if (t.max_r2t_bytes % 4 != 0) return Error{"must be a multiple of 4"};
       return {};
     }},
    {"kas_100ms",
     [](const toml::node& n, TargetConfig& t) { return SetInt(n, 1, 65535, t.kas_100ms); }},
};

std::string KnownKeys(std::span<const std::string_view> keys) {
  std::string s;
  for (auto k : keys) s += (s.empty() ? "" : ", ") + std::string(k);
  return s;
}

void ApplyTarget(const toml::node& node, TargetConfig& t, Problems& p) {
  const toml::table* tbl = node.as_table();
  if (tbl == nullptr) {
    p.Add(node, "target",
          fmt::format("expected a table ([target]), got {}", TomlTypeName(node.type())));
    return;
  }
  for (const auto& [key, value] : *tbl) {
    const auto* f = std::find_if(std::begin(kTargetFields), std::end(kTargetFields),
                                 [&](const TargetField& f) { return f.key == key.str(); });
    if (f == std::end(kTargetFields)) {
      std::vector<std::string_view> names;
      for (const auto& tf : kTargetFields) names.push_back(tf.key);
      p.Add(value, fmt::format("target.{}", key.str()),
            fmt::format("unknown key (known keys: {})", KnownKeys(names)));
      continue;
    }
    if (auto r = f->set(value, t); !r.ok()) {
      p.Add(value, fmt::format("target.{}", key.str()), r.error().message);
    }
  }
}

// ---- [[subsystem]] ----

void ApplySubsystem(toml::table& tbl, size_t index, const ConfigOverrides& overrides,
                    SubsystemConfig& s, Problems& p) {
  const std::string prefix = fmt::format("subsystem[{}]", index + 1);
  bool have_nqn = false;
  for (auto& [key, value] : tbl) {
    const std::string name = fmt::format("{}.{}", prefix, key.str());
    if (key == "nqn") {
      have_nqn = true;  // present; an invalid value is reported as such
      auto v = ReadAsciiString(value, 1, 223);
      if (!v.ok()) {
        p.Add(value, name, v.error().message);
      } else {
        s.nqn = *v;
      }
    } else if (key == "serial") {
      auto v = ReadAsciiString(value, 1, 20);
      if (!v.ok()) {
        p.Add(value, name, v.error().message);
      } else {
        s.serial = *v;
      }
    } else if (key == "allowed_hosts") {
      const toml::array* a = value.as_array();
      if (a == nullptr) {
        p.Add(value, name,
              fmt::format("expected an array of host NQN strings, got {}",
                          TomlTypeName(value.type())));
        continue;
      }
      s.allowed_hosts.clear();
      for (const toml::node& h : *a) {
        auto v = ReadAsciiString(h, 1, 223);
        if (!v.ok()) {
          p.Add(h, name, v.error().message);
        } else {
          s.allowed_hosts.push_back(*v);
        }
      }
    } else if (key == "namespace") {
      // The [[namespace]] schema, checked by ApplySchema on a table holding only these tables
      // (moved, so that their source positions stay).
      toml::table only;
      only.insert("namespace", std::move(value));
      auto cfg = ApplySchema(only, p.source());
      if (!cfg.ok()) {
        p.AddLines(cfg.error().message);
        continue;
      }
      s.namespaces = cfg->namespaces;
    } else {
      p.Add(value, name,
            "unknown key (known keys: nqn, serial, allowed_hosts, [[subsystem.namespace]])");
    }
  }
  if (!have_nqn) p.Add(tbl, prefix, "missing key 'nqn'");
  // Namespace options (--ns-size, --backend, ...) apply to every subsystem's namespaces: all the
  // overrides on a scratch ControllerConfig holding them (its controller fields are discarded).
  ControllerConfig c;
  c.namespaces = s.namespaces;
  ConfigOverrides all = overrides;
  all.config_file.reset();
  if (auto r = ApplyOverrides(all, c); !r.ok()) {
    p.Add(tbl, prefix, r.error().message);
  } else {
    s.namespaces = c.namespaces;
  }
}

TargetConfig FromController(const ControllerConfig& c) {
  TargetConfig t;
  t.reactors = c.io_reactors;
  t.mode = c.mode;
  t.controller = c;
  SubsystemConfig s;
  s.nqn = c.subnqn;
  s.serial = c.serial;
  s.namespaces = c.namespaces;
  t.subsystems = {s};
  return t;
}

}  // namespace

Result<TargetConfig> ParseServeConfig(std::string_view text, std::string_view source_name,
                                      const ConfigOverrides& overrides) {
  auto parsed = ParseTomlText(text, source_name);
  if (!parsed.ok()) return parsed.error();
  toml::table root = std::move(*parsed);
  Problems p(source_name);
  // Take the serve-only tables out (by move: source positions stay); the rest is the shared schema.
  toml::table target_holder;
  if (auto it = root.find("target"); it != root.end()) {
    target_holder.insert("target", std::move(it->second));
    root.erase(it);
  }
  toml::table subsystem_holder;
  if (auto it = root.find("subsystem"); it != root.end()) {
    subsystem_holder.insert("subsystem", std::move(it->second));
    root.erase(it);
  }
  auto base = ApplySchema(root, source_name);
  if (!base.ok()) {
    p.AddLines(base.error().message);
  } else if (auto r = ApplyOverrides(overrides, *base); !r.ok()) {
    p.Add(root, "", r.error().message);
  }
  TargetConfig cfg = FromController(base.ok() ? *base : ControllerConfig{});
  if (const toml::node* t = target_holder.get("target")) ApplyTarget(*t, cfg, p);
  if (toml::node* sn = subsystem_holder.get("subsystem")) {
    toml::array* arr = sn->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
      p.Add(*sn, "subsystem",
            fmt::format("expected an array of tables ([[subsystem]]), got {}",
                        TomlTypeName(sn->type())));
    } else {
      if (root.contains("namespace")) {
        p.Add(*root.get("namespace"), "namespace",
              "top-level [[namespace]] tables cannot be combined with [[subsystem]] tables: use "
              "[[subsystem.namespace]]");
      }
      cfg.subsystems.clear();
      for (size_t i = 0; i < arr->size(); ++i) {
        SubsystemConfig s;
        s.serial = fmt::format("NVEMU{:04}", i + 1);
        ApplySubsystem(*arr->get(i)->as_table(), i, overrides, s, p);
        cfg.subsystems.push_back(std::move(s));
      }
    }
  }
  if (!p.empty()) return p.ToError();
  if (auto r = cfg.Validate(); !r.ok()) {
    return Error{fmt::format("{}: {}", source_name, r.error().message)};
  }
  return cfg;
}

Result<TargetConfig> BuildServeConfig(const ConfigOverrides& o) {
  if (!o.config_file) {
    auto c = BuildConfig(o);
    if (!c.ok()) return c.error();
    return FromController(*c);
  }
  auto text = ReadConfigFileText(*o.config_file);
  if (!text.ok()) return text.error();
  return ParseServeConfig(*text, *o.config_file, o);
}

}  // namespace nvemu::app
