// crash_writer: the process that tests/crash/crash_test.cc kills with SIGKILL.
//
// Usage: crash_writer <data image> <metadata image> <first tag> <seed>
// Drives an in-process controller (file backend, 512-byte LBAs, kBlocks blocks) through the host
// driver: random writes of 1..8 blocks, a quarter of them with FUA, and a Flush every 16 writes.
// Every block written carries a self-describing pattern (lba, tag) so the checker can tell which
// write it came from and that it is not a mix of two. After a write completes, one record goes to
// stdout: "W <lba> <nlb> <tag> <durable>" (durable = FUA); after a Flush completes, "F" (every
// earlier completed write is durable). Records are written with write(2) to a pipe, so they reach
// the parent even if the process is killed right after.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "crash_pattern.h"
#include "nvemu/host/pcie_driver.h"

using namespace nvemu;

int main(int argc, char** argv) {
  // argv: data image, metadata image, first tag, seed[, "uring" (io_uring file backend)].
  if (argc != 5 && argc != 6) return 2;
  host::DriverOptions opts;
  opts.dma_bytes = 8 << 20;
  NamespaceConfig ns;
  ns.backend = BackendKind::kFile;
  ns.data_path = argv[1];
  ns.metadata_path = argv[2];
  ns.io_uring = argc == 6 && std::string(argv[5]) == "uring";
  ns.size_bytes = crash::kBlocks * 512;
  opts.controller.namespaces = {ns};
  uint64_t tag = std::strtoull(argv[3], nullptr, 0);
  std::mt19937_64 rng(std::strtoull(argv[4], nullptr, 0));
  auto drv = host::PcieDriver::Create(opts);
  if (!drv.ok() || !(*drv)->Enable().ok()) return 3;
  auto q = (*drv)->CreateIoQueuePair(1, 64);
  if (!q.ok()) return 4;
  auto buf = (*drv)->dma().Alloc(8 * 512);
  if (!buf.ok()) return 5;
  auto emit = [](const std::string& line) {
    if (::write(1, line.data(), line.size()) < 0) std::_Exit(6);
  };
  for (uint64_t i = 0;; ++i) {
    const uint32_t nlb = 1 + rng() % 8;
    const uint64_t lba = rng() % (crash::kBlocks - nlb + 1);
    const bool fua = rng() % 4 == 0;
    ++tag;
    for (uint32_t b = 0; b < nlb; ++b) crash::Fill(buf->ptr + b * 512, lba + b, tag);
    Sqe w{};
    w.opc = 0x01;
    w.nsid = 1;
    w.cdw10 = static_cast<uint32_t>(lba);
    w.cdw12 = (nlb - 1) | (fua ? 1u << 30 : 0);
    auto c = (*q)->Execute(w, std::chrono::seconds(10), &*buf, nlb * 512);
    if (!c.ok() || (c->status >> 1) != 0) return 7;
    emit("W " + std::to_string(lba) + " " + std::to_string(nlb) + " " + std::to_string(tag) + " " +
         (fua ? "1" : "0") + "\n");
    if (i % 16 == 15) {
      Sqe f{};
      f.opc = 0x00;
      f.nsid = 1;
      c = (*q)->Execute(f, std::chrono::seconds(10));
      if (!c.ok() || (c->status >> 1) != 0) return 8;
      emit("F\n");
    }
  }
}
