#include "nvm/namespace.h"

#include <fmt/format.h>

namespace nvemu {

int FindLbaFormat(uint32_t lba_size, uint32_t metadata_size, bool guard64) {
  for (size_t i = 0; i < kLbaFormats.size(); ++i) {
    if ((1u << kLbaFormats[i].lbads) == lba_size && kLbaFormats[i].ms == metadata_size &&
        (kLbaFormats[i].pif == kPif64bGuard) == guard64) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

Namespace::Namespace(uint32_t nsid, uint8_t lbaf, uint64_t nsze, std::unique_ptr<Backend> backend,
                     const NamespaceFormat& format)
    : nsid_(nsid),
      lbaf_(lbaf),
      nsze_(nsze),
      lba_shift_(kLbaFormats[lbaf].lbads),
      format_(kLbaFormats[lbaf].ms == 0 ? NamespaceFormat{} : format),
      backend_(std::move(backend)),
      uncorrectable_(nsze) {}

MetadataFill MetadataFillFor(uint8_t lbaf, const NamespaceFormat& format) {
  MetadataFill fill;
  const LbaFormat& f = kLbaFormats[lbaf];
  if (f.ms == 0 || format.pi_type == 0) return fill;
  const unsigned pi = f.pif == kPif64bGuard ? 16 : 8;
  fill.period = static_cast<uint8_t>(f.ms);
  const unsigned start = format.pi_first ? 0 : f.ms - pi;
  for (unsigned i = start; i < start + pi; ++i) fill.bytes[i] = 0xff;
  return fill;
}

void Namespace::SetIdentifiers(const std::array<uint8_t, 16>& nguid,
                               const std::array<uint8_t, 8>& eui64,
                               const std::array<uint8_t, 16>& uuid) {
  nguid_ = nguid;
  eui64_ = eui64;
  uuid_ = uuid;
}

namespace {

// 64-bit FNV-1a: a stable, dependency-free hash for deriving identifiers.
uint64_t Fnv1a(const std::string& s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

Result<std::unique_ptr<Namespace>> MakeNamespace(uint32_t nsid, const NamespaceConfig& config,
                                                 const std::string& serial) {
  int lbaf = FindLbaFormat(config.lba_size, config.metadata_size, config.pi_64b_guard);
  if (lbaf < 0) {
    return Error{fmt::format("namespace {}: unsupported LBA format {}+{}", nsid, config.lba_size,
                             config.metadata_size)};
  }
  if (config.size_bytes == 0 || config.size_bytes % config.lba_size != 0) {
    return Error{fmt::format("namespace {}: size {} is not a non-zero multiple of the LBA size {}",
                             nsid, config.size_bytes, config.lba_size)};
  }
  uint64_t nsze = config.size_bytes / config.lba_size;
  uint64_t meta_bytes = nsze * config.metadata_size;
  NamespaceFormat format{config.extended_lba, config.pi_type, config.pi_first};
  const MetadataFill fill = MetadataFillFor(static_cast<uint8_t>(lbaf), format);
  std::unique_ptr<Backend> backend;
  switch (config.backend) {
    case BackendKind::kRam:
      backend = MakeRamBackend(config.size_bytes, meta_bytes, fill);
      break;
    case BackendKind::kNull:
      backend = MakeNullBackend(config.size_bytes, meta_bytes);
      break;
    case BackendKind::kFile: {
      FileBackendOptions opts;
      opts.data_path =
          config.data_path.empty() ? fmt::format("nvemu-n{}.img", nsid) : config.data_path;
      opts.metadata_path =
          config.metadata_path.empty() ? fmt::format("nvemu-n{}.meta", nsid) : config.metadata_path;
      opts.size = config.size_bytes;
      opts.metadata_size = meta_bytes;
      opts.metadata_fill = fill;
      opts.direct = config.direct_io;
      opts.io_uring = config.io_uring;
      auto file = OpenFileBackend(opts);
      if (!file.ok()) return Error{fmt::format("namespace {}: {}", nsid, file.error().message)};
      backend = std::move(file.value());
      break;
    }
  }
  if (!backend) return Error{fmt::format("namespace {}: cannot create backend", nsid)};
  auto ns = std::make_unique<Namespace>(nsid, static_cast<uint8_t>(lbaf), nsze, std::move(backend),
                                        format);
  DeriveIdentifiers(fmt::format("{}/{}", serial, nsid), *ns);
  return ns;
}

void DeriveIdentifiers(const std::string& key, Namespace& ns) {
  uint64_t a = Fnv1a(key, 1), b = Fnv1a(key, 2), c = Fnv1a(key, 3), d = Fnv1a(key, 4);
  std::array<uint8_t, 16> nguid{}, uuid{};
  std::array<uint8_t, 8> eui64{};
  for (int i = 0; i < 8; ++i) {
    nguid[i] = static_cast<uint8_t>(a >> (8 * i));
    nguid[8 + i] = static_cast<uint8_t>(b >> (8 * i));
    uuid[i] = static_cast<uint8_t>(c >> (8 * i));
    uuid[8 + i] = static_cast<uint8_t>(d >> (8 * i));
    eui64[i] = static_cast<uint8_t>((a ^ d) >> (8 * i));
  }
  uuid[6] = (uuid[6] & 0x0f) | 0x40;  // RFC 4122 version 4 layout
  uuid[8] = (uuid[8] & 0x3f) | 0x80;  // RFC 4122 variant
  ns.SetIdentifiers(nguid, eui64, uuid);
}

}  // namespace nvemu
