// Zero heap allocations per I/O in steady state: this binary replaces the global operator new and
// delete with counting versions, runs I/O through the host library and a running device (host
// thread + reactor thread), and checks that after warm-up N more commands allocate nothing, in any
// processing mode, with polled completions or MSI-X interrupts, RAM or null backend.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "engine_fixture.h"

// The replacements pair malloc with free on purpose; GCC's inliner cannot tell.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace nvemu::perf_engine {
namespace {

struct AllocCase {
  ProcessingMode mode;
  host::InterruptMode irq;
  BackendKind backend;
};

class ZeroAllocTest : public ::testing::TestWithParam<AllocCase> {};

// Keeps reads and writes of 4 KiB in flight (one per free slot) over the first 4 MiB; returns
// the commands done (0 if any failed).
uint64_t RunIo(host::IoQueue& q, const host::DmaBuffer& buf, uint64_t commands,
               std::vector<uint16_t>& slot_of_cid, std::vector<uint16_t>& free_slots) {
  uint64_t submitted = 0, done = 0, errors = 0;
  uint32_t lba = 0;
  while (done < commands) {
    done += q.Reap([&](const Cqe& c) {
      if (c.status_field() != 0) ++errors;
      free_slots.push_back(slot_of_cid[c.cid]);
    });
    bool rang = false;
    while (submitted < commands && !free_slots.empty()) {
      const uint16_t slot = free_slots.back();
      Sqe sqe{};
      sqe.opc = (submitted & 1) ? kOpRead : kOpWrite;
      sqe.nsid = 1;
      sqe.cdw10 = lba;
      lba = (lba + 7) % 1024;
      auto cid = q.Submit(sqe, &buf, 4096, size_t{slot} * 4096, /*ring=*/false);
      if (!cid.ok()) break;
      free_slots.pop_back();
      slot_of_cid[*cid] = slot;
      ++submitted;
      rang = true;
    }
    if (rang) q.Ring();
  }
  return errors == 0 ? done : 0;
}

TEST_P(ZeroAllocTest, SteadyStateIoAllocatesNothing) {
  host::DriverOptions o = Options(GetParam().mode, GetParam().irq);
  o.controller.namespaces[0].backend = GetParam().backend;
  Device d = Device::Start(o);
  constexpr uint32_t kQd = 16;
  auto q = d.driver->CreateIoQueuePair(1, kQd + 1);
  ASSERT_TRUE(q.ok());
  auto buf = d.driver->dma().Alloc(kQd * 4096);
  ASSERT_TRUE(buf.ok());
  std::vector<uint16_t> slot_of_cid(kQd + 1, 0), free_slots;
  free_slots.reserve(kQd);
  for (uint16_t s = 0; s < kQd; ++s) free_slots.push_back(s);
  // Warm-up: allocates the RAM chunks of the range, every lazily built structure.
  ASSERT_EQ(RunIo(**q, *buf, 4000, slot_of_cid, free_slots), 4000u);
  const uint64_t before = g_allocations.load();
  const uint64_t done = RunIo(**q, *buf, 20000, slot_of_cid, free_slots);
  const uint64_t after = g_allocations.load();
  EXPECT_EQ(done, 20000u);
  EXPECT_EQ(after - before, 0u) << "heap allocations during 20000 steady-state commands";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ZeroAllocTest,
    ::testing::Values(
        AllocCase{ProcessingMode::kPoll, host::InterruptMode::kNone, BackendKind::kRam},
        AllocCase{ProcessingMode::kNotify, host::InterruptMode::kMsix, BackendKind::kRam},
        AllocCase{ProcessingMode::kTimer, host::InterruptMode::kNone, BackendKind::kRam},
        AllocCase{ProcessingMode::kNotify, host::InterruptMode::kNone, BackendKind::kNull}));

}  // namespace
}  // namespace nvemu::perf_engine
