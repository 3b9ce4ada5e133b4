#include "app/config_schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <span>
#include <string>
#include <vector>

#include "app/enum_names.h"
#include "app/toml_fields.h"

namespace nvemu::app {
namespace {

// ---- Diagnostics: every problem with its position, reported together, sorted by position ----

class Diagnostics {
 public:
  explicit Diagnostics(std::string_view source) : source_(source) {}

  void Add(const toml::source_region& where, std::string_view key, std::string_view what) {
    const auto& at = where.begin;
    std::string text = at.line ? fmt::format("{}:{}:{}: ", source_, at.line, at.column)
                               : fmt::format("{}: ", source_);
    if (!key.empty()) text += fmt::format("{}: ", key);
    text += what;
    items_.push_back({at.line, at.column, std::move(text)});
  }
  bool empty() const { return items_.empty(); }
  Error ToError() {
    std::stable_sort(items_.begin(), items_.end(), [](const Item& a, const Item& b) {
      return a.line != b.line ? a.line < b.line : a.column < b.column;
    });
    std::string msg;
    for (const Item& item : items_) msg += (msg.empty() ? "" : "\n") + item.text;
    return Error{std::move(msg)};
  }

 private:
  struct Item {
    toml::source_index line;
    toml::source_index column;
    std::string text;
  };
  std::string_view source_;
  std::vector<Item> items_;
};

// ---- Field tables: key -> typed setter ----

template <typename Cfg>
struct Field {
  std::string_view key;
  Result<void> (*set)(const toml::node& value, Cfg& cfg);
};

template <typename T>
Result<void> SetInt(const toml::node& n, int64_t min, int64_t max, T& out) {
  auto v = ReadInt(n, min, max);
  if (!v.ok()) return v.error();
  out = static_cast<T>(*v);
  return {};
}

Result<void> SetAscii(const toml::node& n, size_t max_len, std::string& out) {
  auto v = ReadAsciiString(n, 1, max_len);
  if (!v.ok()) return v.error();
  out = std::move(*v);
  return {};
}

Result<void> SetBool(const toml::node& n, bool& out) {
  auto v = ReadBool(n);
  if (!v.ok()) return v.error();
  out = *v;
  return {};
}

Result<void> SetSize(const toml::node& n, uint64_t& out) {
  auto v = ReadSize(n);
  if (!v.ok()) return v.error();
  out = *v;
  return {};
}

Result<void> SetPath(const toml::node& n, std::string& out) {
  auto v = ReadPath(n);
  if (!v.ok()) return v.error();
  out = std::move(*v);
  return {};
}

// CAP.TO is in 500 ms units; timeout_ms rounds up.
Result<void> SetTimeoutMs(const toml::node& n, ControllerConfig& c) {
  auto v = ReadInt(n, 1, 255 * 500);
  if (!v.ok()) return v.error();
  c.timeout_500ms = static_cast<uint8_t>((*v + 499) / 500);
  return {};
}

using C = ControllerConfig;
using N = NamespaceConfig;
using Node = toml::node;

// Ranges follow the register and Identify field widths (NVMe Base 2.0, 3.1.4 CAP; 5.17.2.1).
constexpr Field<C> kControllerFields[] = {
    {"vendor_id", [](const Node& n, C& c) { return SetInt(n, 0, 0xffff, c.vendor_id); }},
    {"device_id", [](const Node& n, C& c) { return SetInt(n, 0, 0xffff, c.device_id); }},
    {"subsystem_vendor_id",
     [](const Node& n, C& c) { return SetInt(n, 0, 0xffff, c.subsystem_vendor_id); }},
    {"subsystem_id", [](const Node& n, C& c) { return SetInt(n, 0, 0xffff, c.subsystem_id); }},
    {"revision_id", [](const Node& n, C& c) { return SetInt(n, 0, 0xff, c.revision_id); }},
    {"serial", [](const Node& n, C& c) { return SetAscii(n, 20, c.serial); }},
    {"model", [](const Node& n, C& c) { return SetAscii(n, 40, c.model); }},
    {"firmware_revision", [](const Node& n, C& c) { return SetAscii(n, 8, c.firmware_revision); }},
    {"subnqn", [](const Node& n, C& c) { return SetAscii(n, 223, c.subnqn); }},
    {"max_io_queues", [](const Node& n, C& c) { return SetInt(n, 1, 65535, c.max_io_queues); }},
    {"mqes", [](const Node& n, C& c) { return SetInt(n, 1, 65535, c.mqes); }},
    {"cqr",
     [](const Node& n, C& c) -> Result<void> {
       auto v = ReadBool(n);
       if (!v.ok()) return v.error();
       c.cqr = *v;
       return {};
     }},
    {"dstrd", [](const Node& n, C& c) { return SetInt(n, 0, 15, c.dstrd); }},
    {"timeout_500ms", [](const Node& n, C& c) { return SetInt(n, 1, 255, c.timeout_500ms); }},
    {"timeout_ms", SetTimeoutMs},
    {"mdts", [](const Node& n, C& c) { return SetInt(n, 0, 15, c.mdts); }},
    {"mpsmin", [](const Node& n, C& c) { return SetInt(n, 0, 15, c.mpsmin); }},
    {"mpsmax", [](const Node& n, C& c) { return SetInt(n, 0, 15, c.mpsmax); }},
    {"msix_vectors", [](const Node& n, C& c) { return SetInt(n, 1, 2048, c.msix_vectors); }},
    // Admin command set and persistence (docs/admin.md).
    {"state_file", [](const Node& n, C& c) { return SetPath(n, c.state_file); }},
    {"max_namespaces", [](const Node& n, C& c) { return SetInt(n, 0, 1024, c.max_namespaces); }},
    {"nvm_capacity", [](const Node& n, C& c) { return SetSize(n, c.nvm_capacity); }},
    {"firmware_slots", [](const Node& n, C& c) { return SetInt(n, 1, 7, c.firmware_slots); }},
    {"firmware_slot1_read_only",
     [](const Node& n, C& c) { return SetBool(n, c.firmware_slot1_read_only); }},
    {"endurance_bytes", [](const Node& n, C& c) { return SetSize(n, c.endurance_bytes); }},
    {"composite_temperature",
     [](const Node& n, C& c) { return SetInt(n, 1, 65535, c.composite_temperature); }},
    {"available_spare", [](const Node& n, C& c) { return SetInt(n, 0, 100, c.available_spare); }},
};

constexpr Field<C> kEngineFields[] = {
    {"io_reactors", [](const Node& n, C& c) { return SetInt(n, 1, 256, c.io_reactors); }},
    {"mode",
     [](const Node& n, C& c) -> Result<void> {
       auto v = ReadChoice(n, kProcessingModeNames);
       if (!v.ok()) return v.error();
       c.mode = *ParseProcessingMode(*v);
       return {};
     }},
    {"timer_period_us",
     [](const Node& n, C& c) { return SetInt(n, 1, C::kMaxTimerPeriodUs, c.timer_period_us); }},
    {"entries_per_tick",
     [](const Node& n, C& c) { return SetInt(n, 1, C::kMaxEntriesPerTick, c.entries_per_tick); }},
};

constexpr Field<N> kNamespaceFields[] = {
    {"size",
     [](const Node& n, N& ns) -> Result<void> {
       auto v = ReadSize(n);
       if (!v.ok()) return v.error();
       if (*v == 0) return Error{"size must not be 0"};
       ns.size_bytes = *v;
       return {};
     }},
    {"lba_size", [](const Node& n, N& ns) { return SetInt(n, 1, 0xffffffff, ns.lba_size); }},
    {"metadata_size", [](const Node& n, N& ns) { return SetInt(n, 0, 0xffff, ns.metadata_size); }},
    {"backend",
     [](const Node& n, N& ns) -> Result<void> {
       auto v = ReadChoice(n, kBackendNames);
       if (!v.ok()) return v.error();
       ns.backend = *ParseBackend(*v);
       return {};
     }},
    {"data_path", [](const Node& n, N& ns) { return SetPath(n, ns.data_path); }},
    {"metadata_path", [](const Node& n, N& ns) { return SetPath(n, ns.metadata_path); }},
    // Metadata and end-to-end protection (NVM Command Set 1.0, 5.2).
    {"extended_lba", [](const Node& n, N& ns) { return SetBool(n, ns.extended_lba); }},
    {"pi_type", [](const Node& n, N& ns) { return SetInt(n, 0, 3, ns.pi_type); }},
    {"pi_first", [](const Node& n, N& ns) { return SetBool(n, ns.pi_first); }},
    {"pi_64b_guard", [](const Node& n, N& ns) { return SetBool(n, ns.pi_64b_guard); }},
    {"direct_io", [](const Node& n, N& ns) { return SetBool(n, ns.direct_io); }},
    {"io",
     [](const Node& n, N& ns) -> Result<void> {
       auto v = ReadChoice(n, kIoNames);
       if (!v.ok()) return v.error();
       ns.io_uring = *v == "uring";
       return {};
     }},
};

// Levenshtein distance, for "did you mean" hints on unknown keys.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

template <typename Cfg>
std::string UnknownKeyMessage(std::string_view key, std::span<const Field<Cfg>> fields) {
  std::string_view best;
  size_t best_distance = 3;  // suggest only close matches
  for (const auto& f : fields) {
    size_t d = EditDistance(key, f.key);
    if (d < best_distance) {
      best_distance = d;
      best = f.key;
    }
  }
  if (!best.empty()) return fmt::format("unknown key (did you mean '{}'?)", best);
  std::string list;
  for (const auto& f : fields) list += fmt::format("{}{}", list.empty() ? "" : ", ", f.key);
  return fmt::format("unknown key (known keys: {})", list);
}

std::string KeyPath(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : fmt::format("{}.{}", prefix, key);
}

template <typename Cfg>
void ApplyFields(const toml::table& table, std::string_view prefix,
                 std::span<const Field<Cfg>> fields, Cfg& cfg, Diagnostics& diag) {
  for (const auto& [key, value] : table) {
    // C++20 lets a lambda capture a structured binding, clang 14 does not: name it first.
    const auto name = key.str();
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const Field<Cfg>& f) { return f.key == name; });
    if (it == fields.end()) {
      diag.Add(key.source(), KeyPath(prefix, key.str()), UnknownKeyMessage(key.str(), fields));
      continue;
    }
    if (auto r = it->set(value, cfg); !r.ok()) {
      diag.Add(value.source(), KeyPath(prefix, key.str()), r.error().message);
    }
  }
}

const toml::table* TableOrReport(const toml::node& node, const toml::key& key, Diagnostics& diag) {
  const toml::table* t = node.as_table();
  if (t == nullptr) {
    diag.Add(node.source(), key.str(),
             fmt::format("expected a table ([{}]), got {}", key.str(), TomlTypeName(node.type())));
  }
  return t;
}

// The position of `key` in `table` when present, else the table's own position.
const toml::source_region& WhereIs(const toml::table& table, std::string_view key) {
  if (const toml::node* n = table.get(key)) return n->source();
  return table.source();
}

// The first word of a Validate() message ("mdts 99 outside 0..15" -> "mdts"): the field it is
// about, as its TOML key (the one field whose key differs from its name: size_bytes -> size).
std::string_view LeadingKey(std::string_view msg) {
  size_t n = 0;
  while (n < msg.size() && (std::isalnum(static_cast<unsigned char>(msg[n])) || msg[n] == '_')) ++n;
  std::string_view key = msg.substr(0, n);
  return key == "size_bytes" ? std::string_view("size") : key;
}

void ApplyController(const toml::table& t, ControllerConfig& cfg, Diagnostics& diag) {
  ApplyFields<C>(t, "controller", kControllerFields, cfg, diag);
  if (t.contains("timeout_ms") && t.contains("timeout_500ms")) {
    diag.Add(WhereIs(t, "timeout_ms"), "controller.timeout_ms",
             "give either timeout_ms or timeout_500ms, not both");
  }
}

void ApplyNamespace(const toml::table& t, size_t index, ControllerConfig& cfg, Diagnostics& diag) {
  std::string prefix = fmt::format("namespace[{}]", index + 1);
  NamespaceConfig ns;
  ApplyFields<N>(t, prefix, kNamespaceFields, ns, diag);
  if (ns.backend != BackendKind::kFile) {
    for (std::string_view path_key : {"data_path", "metadata_path"}) {
      if (t.contains(path_key)) {
        diag.Add(WhereIs(t, path_key), KeyPath(prefix, path_key),
                 "only used with backend = \"file\"");
      }
    }
  }
  // One namespace alone against ControllerConfig::Validate(): the core's rules, at this table.
  ControllerConfig alone;
  alone.namespaces = {ns};
  if (auto r = alone.Validate(); !r.ok()) {
    std::string_view msg = r.error().message;
    if (msg.starts_with("namespace 1: ")) msg.remove_prefix(13);
    std::string_view key = LeadingKey(msg);
    diag.Add(WhereIs(t, key), KeyPath(prefix, key), msg);
  }
  cfg.namespaces.push_back(std::move(ns));
}

void ApplyNamespaces(const toml::node& node, ControllerConfig& cfg, Diagnostics& diag) {
  const toml::array* list = node.as_array();
  if (list == nullptr) {
    diag.Add(node.source(), "namespace",
             fmt::format("expected an array of tables ([[namespace]]), got {}",
                         TomlTypeName(node.type())));
    return;
  }
  cfg.namespaces.clear();
  for (size_t i = 0; i < list->size(); ++i) {
    const toml::node& element = (*list)[i];
    if (const toml::table* t = element.as_table()) {
      ApplyNamespace(*t, i, cfg, diag);
    } else {
      diag.Add(element.source(), fmt::format("namespace[{}]", i + 1),
               fmt::format("expected a table, got {}", TomlTypeName(element.type())));
    }
  }
}

// Whole-config rules (cross-field ones such as mpsmin <= mpsmax), placed at the key they name.
void ValidateWhole(const toml::table& root, const ControllerConfig& cfg, Diagnostics& diag) {
  auto r = cfg.Validate();
  if (r.ok()) return;
  std::string_view msg = r.error().message;
  std::string_view key = LeadingKey(msg);
  for (std::string_view table_name : {"controller", "engine"}) {
    const toml::table* t = root[table_name].as_table();
    if (t != nullptr && !key.empty() && t->contains(key)) {
      diag.Add(WhereIs(*t, key), KeyPath(table_name, key), msg);
      return;
    }
  }
  diag.Add(toml::source_region{}, "", msg);
}

}  // namespace

Result<ControllerConfig> ApplySchema(const toml::table& root, std::string_view source_name) {
  ControllerConfig cfg;
  Diagnostics diag(source_name);
  for (const auto& [key, node] : root) {
    if (key == "controller") {
      if (const toml::table* t = TableOrReport(node, key, diag)) ApplyController(*t, cfg, diag);
    } else if (key == "engine") {
      if (const toml::table* t = TableOrReport(node, key, diag)) {
        ApplyFields<C>(*t, "engine", kEngineFields, cfg, diag);
      }
    } else if (key == "namespace") {
      ApplyNamespaces(node, cfg, diag);
    } else {
      diag.Add(key.source(), key.str(),
               "unknown table or key (known: [controller], [engine], [[namespace]])");
    }
  }
  if (diag.empty()) ValidateWhole(root, cfg, diag);
  if (!diag.empty()) return diag.ToError();
  return cfg;
}

}  // namespace nvemu::app
