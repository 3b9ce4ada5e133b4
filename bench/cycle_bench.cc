// A full submit -> complete cycle through the host library and a running device (poll mode, one
// I/O reactor thread, null backend): the host thread writes SQEs and the SQ doorbell, the reactor
// fetches, executes and posts, the host reaps by phase tag and rings the CQ head doorbell. Needs
// two idle cores (host thread + reactor thread); on a busy machine the numbers mean little.
#include <benchmark/benchmark.h>

#include <vector>

#include "nvemu/host/pcie_driver.h"

namespace nvemu::host {
namespace {

void BM_SubmitComplete(benchmark::State& state) {
  const uint32_t qd = static_cast<uint32_t>(state.range(0));
  const uint32_t block = static_cast<uint32_t>(state.range(1));
  DriverOptions o;
  o.controller.mode = ProcessingMode::kPoll;
  o.controller.namespaces[0].backend = BackendKind::kNull;
  o.controller.namespaces[0].lba_size = 4096;
  o.interrupts = InterruptMode::kNone;
  auto drv = PcieDriver::Create(o);
  if (!drv.ok() || !(*drv)->Enable().ok()) {
    state.SkipWithError("device setup failed");
    return;
  }
  auto q = (*drv)->CreateIoQueuePair(1, qd + 1);
  auto buf = (*drv)->dma().Alloc(size_t{qd} * block);
  if (!q.ok() || !buf.ok()) {
    state.SkipWithError("queue setup failed");
    return;
  }
  IoQueue& queue = **q;
  Sqe sqe{};
  sqe.opc = 0x02;
  sqe.nsid = 1;
  sqe.cdw12 = block / 4096 - 1;
  std::vector<uint16_t> slot_of_cid(qd + 1, 0);
  auto submit = [&](uint16_t slot) {
    sqe.cdw10 = slot;
    auto cid = queue.Submit(sqe, &*buf, block, size_t{slot} * block, /*ring=*/false);
    if (cid.ok()) slot_of_cid[*cid] = slot;
  };
  for (uint32_t s = 0; s < qd; ++s) submit(static_cast<uint16_t>(s));
  queue.Ring();
  uint64_t done = 0;
  std::vector<uint16_t> again;
  again.reserve(qd);
  for (auto _ : state) {
    size_t n = 0;
    while (n == 0) n = queue.Reap([&](const Cqe& c) { again.push_back(slot_of_cid[c.cid]); });
    for (uint16_t s : again) submit(s);
    again.clear();
    queue.Ring();
    done += n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(done));
  while (queue.outstanding() != 0) queue.Reap([](const Cqe&) {});
}

BENCHMARK(BM_SubmitComplete)->ArgsProduct({{1, 32}, {4096}})->ArgNames({"qd", "bs"})->UseRealTime();

}  // namespace
}  // namespace nvemu::host
