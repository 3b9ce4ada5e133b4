// Fused Compare and Write is atomic against writes still in flight on an io_uring (NVMe Base 2.0,
// 3.4.2; nvm/range_lock.h): a Write that passed the gate and was submitted asynchronously keeps
// its range excluded until its data has landed, so a pair on another queue / reactor waits for it
// instead of comparing the old data and then overwriting the write's.
//
// Deterministic, no timing: the namespace's backend holds every asynchronous write in the kernel
// (an io_uring read of an eventfd) until the test releases it, and only then copies its data into
// the RAM image. The test releases it only once the pair has either completed its Compare (the
// bug: it compared data about to change) or is seen waiting for in-flight writes (the fix).
#include <gtest/gtest.h>
#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "engine/io_ring.h"
#include "nvm/async_slot.h"
#include "nvm_fixture.h"
#include "storage/async_io.h"

namespace nvemu::test {
namespace {

constexpr uint8_t kWrite = 0x01, kCompare = 0x05;
constexpr uint32_t kLba = 512;
constexpr uint64_t kBlocks = 1024;

// The calling thread plays a reactor with its own ring.
class TestRingHost final : public engine::IoRingHost {
 public:
  TestRingHost() { engine::IoRingHost::SetForThread(this); }
  ~TestRingHost() override {
    ring_.reset();
    engine::IoRingHost::SetForThread(nullptr);
  }
  engine::IoRing* EnsureIoRing() override {
    if (!ring_ && !failed_) {
      int err = 0;
      ring_ = engine::IoRing::Create(64, -1, &err);
      failed_ = !ring_;
    }
    return ring_.get();
  }

 private:
  std::unique_ptr<engine::IoRing> ring_;
  bool failed_ = false;
};

// A RAM namespace whose asynchronous writes are held in the kernel until Release(): each one is an
// io_uring read of a semaphore eventfd; when it completes, the data is copied into the image and
// the write's `done` runs (on the submitting thread, from its ring's reap, as the file backend).
class HeldWriteBackend final : public Backend, public AsyncBackend {
 public:
  explicit HeldWriteBackend(uint64_t size)
      : ram_(MakeRamBackend(size, 0)), efd_(eventfd(0, EFD_SEMAPHORE)) {
    instance_ = this;
  }
  ~HeldWriteBackend() override {
    instance_ = nullptr;
    close(efd_);
  }
  void Release() {
    const uint64_t one = 1;
    EXPECT_EQ(write(efd_, &one, sizeof(one)), static_cast<ssize_t>(sizeof(one)));
  }
  uint32_t started() const { return started_.load(); }

  uint64_t Size() const override { return ram_->Size(); }
  uint64_t MetadataSize() const override { return 0; }
  IoStatus Read(uint64_t off, void* dst, size_t len) override { return ram_->Read(off, dst, len); }
  IoStatus Write(uint64_t off, const void* src, size_t len) override {
    return ram_->Write(off, src, len);
  }
  IoStatus ReadMetadata(uint64_t, void*, size_t) override { return IoStatus{EINVAL}; }
  IoStatus WriteMetadata(uint64_t, const void*, size_t) override { return IoStatus{EINVAL}; }
  IoStatus Flush() override { return IoStatus{}; }
  uint64_t AllocatedBytes() const override { return ram_->AllocatedBytes(); }
  const char* Kind() const override { return "held"; }
  AsyncBackend* Async() override { return this; }

  bool StartRead(AsyncIo*, uint64_t, const iovec*, int) override { return false; }
  bool StartFlush(AsyncIo*) override { return false; }
  bool StartWrite(AsyncIo* io, uint64_t off, const iovec* iov, int iovcnt, bool) override {
    io->ring = engine::IoRing::ForThread();
    if (io->ring == nullptr || iovcnt > kMaxAsyncIov) return false;
    io_uring_sqe* sqe = io->ring->GetSqe();
    if (sqe == nullptr) return false;
    std::memcpy(io->iov, iov, sizeof(iovec) * static_cast<size_t>(iovcnt));
    io->iovcnt = iovcnt;
    io->off = off;
    io->fd = efd_;
    io->ops[0].io = io;
    io->ops[0].done = &OnReleased;
    io_uring_prep_read(sqe, efd_, &io->remaining, sizeof(io->remaining), 0);
    io->ring->SetOp(sqe, &io->ops[0]);
    io->ring->Submit();
    started_.fetch_add(1);
    return true;
  }

 private:
  static void OnReleased(engine::IoRing::Op* op, int32_t res) {
    AsyncIo* io = static_cast<AsyncIo::OpRef*>(op)->io;
    HeldWriteBackend* self = instance_;
    IoStatus st{res < 0 ? -res : 0};
    uint64_t off = io->off;
    for (int i = 0; st.ok() && i < io->iovcnt; ++i) {
      st = self->ram_->Write(off, io->iov[i].iov_base, io->iov[i].iov_len);
      off += io->iov[i].iov_len;
    }
    io->done(io, st);
  }

  static inline HeldWriteBackend* instance_ = nullptr;  // one per test
  std::unique_ptr<Backend> ram_;
  const int efd_;
  std::atomic<uint32_t> started_{0};
};

// A data channel whose buffer can be handed to the backend directly (as PCIe host memory).
class DirectChannel final : public DataChannel {
 public:
  explicit DirectChannel(std::vector<uint8_t> b) : buf(std::move(b)) {}
  Status Prepare(uint64_t length) override {
    if (length > buf.size()) return sc::kDataTransferError;
    length_ = length;
    return Status::Success();
  }
  uint64_t Length() const override { return length_; }
  Status Transfer(Direction, uint64_t offset, uint64_t len, Chunk chunk) override {
    if (offset > length_ || len > length_ - offset) return sc::kInvalidField;
    return len == 0 ? Status::Success() : chunk(buf.data() + offset, offset, len);
  }
  int DirectIov(uint64_t len, iovec* iov, int max) override {
    if (max < 1 || len > length_) return 0;
    iov[0] = iovec{buf.data(), static_cast<size_t>(len)};
    return 1;
  }
  std::vector<uint8_t> buf;

 private:
  uint64_t length_ = 0;
};

// One namespace over HeldWriteBackend and two controllers' I/O contexts on it.
class Harness {
 public:
  Harness() : a_(1, 8), b_(2, 8) {
    auto backend = std::make_unique<HeldWriteBackend>(kBlocks * kLba);
    backend_ = backend.get();
    ns_ = std::make_unique<Namespace>(1, static_cast<uint8_t>(FindLbaFormat(kLba, 0)), kBlocks,
                                      std::move(backend));
    table_.push_back(ns_.get());
    ptr_.store(&table_);
    for (auto [ctx, state] : {std::pair{&ctx_a_, &a_}, std::pair{&ctx_b_, &b_}}) {
      ctx->namespaces = &ptr_;
      ctx->max_transfer_bytes = 1 << 20;
      ctx->controller = state;
    }
  }
  HeldWriteBackend& backend() { return *backend_; }
  Namespace& ns() { return *ns_; }
  const IoContext& a() { return ctx_a_; }
  const IoContext& b() { return ctx_b_; }

 private:
  IoControllerState a_, b_;
  IoContext ctx_a_, ctx_b_;
  HeldWriteBackend* backend_ = nullptr;
  std::unique_ptr<Namespace> ns_;
  NamespaceTable table_;
  std::atomic<const NamespaceTable*> ptr_{nullptr};
};

Sqe Fused(Sqe s, uint8_t fuse) {
  s.flags = static_cast<uint8_t>((s.flags & ~3) | fuse);
  return s;
}

std::vector<uint8_t> Fill(uint32_t nlb, uint8_t v) { return std::vector<uint8_t>(nlb * kLba, v); }

// Runs a command synchronously (no async slot offered).
Status RunSync(const IoContext& ctx, Sqe sqe, std::vector<uint8_t> data, uint16_t sqid) {
  DirectChannel ch(std::move(data));
  Request req;
  req.sqe = sqe;
  req.sqid = sqid;
  req.data = &ch;
  return ExecuteIoCommand(ctx, req);
}

std::vector<uint8_t> ReadBack(Harness& h, uint64_t slba, uint32_t nlb) {
  std::vector<uint8_t> v(nlb * kLba);
  EXPECT_TRUE(h.ns().backend().Read(slba * kLba, v.data(), v.size()).ok());
  return v;
}

// An asynchronous Write: its slot, data and completion.
struct AsyncWrite {
  explicit AsyncWrite(std::vector<uint8_t> data) : ch(std::move(data)) {
    slot.complete = [](AsyncSlot* s, Status st) {
      auto* self = static_cast<AsyncWrite*>(s->user);
      self->status = st;
      self->done.store(true, std::memory_order_release);
    };
    slot.user = this;
  }
  // Submits; true when it went in flight.
  bool Submit(const IoContext& ctx, uint64_t slba, uint32_t nlb, uint16_t sqid) {
    Request req;
    req.sqe = Rw(kWrite, slba, nlb);
    req.sqid = sqid;
    req.data = &ch;
    req.async = &slot;
    Status st = ExecuteIoCommand(ctx, req);
    EXPECT_EQ(st, sc::kSuccess);
    return req.in_flight;
  }
  DirectChannel ch;
  AsyncSlot slot;
  Status status;
  std::atomic<bool> done{false};
};

// Spins (yielding) until `cond` holds; no deadline: a hang is the failure ctest's timeout reports.
template <typename F>
void SpinUntil(F cond) {
  while (!cond()) std::this_thread::yield();
}

// The scenario of the bug: controller B's Write of the range is in flight on B's reactor when
// controller A's fused pair arrives. The pair must not compare the old data and then overwrite
// the write's: it waits until the write has landed, and then its Compare sees the new data.
TEST(FusedUring, PairWaitsForAWriteInFlightOnAnotherReactor) {
  Harness h;
  constexpr uint64_t kSlba = 40;
  constexpr uint32_t kNlb = 8;
  ASSERT_EQ(RunSync(h.a(), Rw(kWrite, kSlba, kNlb), Fill(kNlb, 0xA0), 1), sc::kSuccess);
  ASSERT_EQ(ReadBack(h, kSlba, kNlb), Fill(kNlb, 0xA0));

  std::atomic<bool> submitted{false}, in_flight{false};
  AsyncWrite w(Fill(kNlb, 0xB1));
  std::thread reactor_b([&] {
    TestRingHost host;
    if (engine::IoRing::ForThread() == nullptr) {
      submitted.store(true);
      return;  // no io_uring here: reported below
    }
    in_flight.store(w.Submit(h.b(), kSlba, kNlb, 1));
    submitted.store(true, std::memory_order_release);
    while (!w.done.load(std::memory_order_acquire)) {
      engine::IoRing::ForThread()->Poll(UINT32_MAX);
      std::this_thread::yield();
    }
  });
  SpinUntil([&] { return submitted.load(std::memory_order_acquire); });
  if (!in_flight.load()) {
    reactor_b.join();
    GTEST_SKIP() << "io_uring unavailable";
  }
  ASSERT_EQ(h.backend().started(), 1u);

  // Controller A's pair on its own reactor: Compare (expects the old data), then Write.
  std::atomic<bool> compare_returned{false}, write_may_go{false};
  Status compare, second;
  std::thread reactor_a([&] {
    compare = RunSync(h.a(), Fused(Rw(kCompare, kSlba, kNlb), 1), Fill(kNlb, 0xA0), 2);
    compare_returned.store(true, std::memory_order_release);
    SpinUntil([&] { return write_may_go.load(std::memory_order_acquire); });
    second = RunSync(h.a(), Fused(Rw(kWrite, kSlba, kNlb), 2), Fill(kNlb, 0xC2), 2);
  });
  // Either the Compare already ran against the old data (the write is still held, so it did run
  // before the write landed), or the pair is waiting for the write. Only then let the write land.
  SpinUntil([&] {
    return compare_returned.load(std::memory_order_acquire) ||
           RangeLock::GracePeriodsWaitingForTesting() != 0;
  });
  const bool compared_before_landing = compare_returned.load(std::memory_order_acquire);
  h.backend().Release();
  reactor_b.join();
  EXPECT_EQ(w.status, sc::kSuccess);
  write_may_go.store(true, std::memory_order_release);
  reactor_a.join();

  EXPECT_FALSE(compared_before_landing)
      << "the fused Compare completed while a Write of its range was still in flight";
  // Serialized: the in-flight write first, then the pair, whose Compare sees 0xB1 and fails.
  EXPECT_EQ(compare, nvm_sc::kCompareFailure);
  EXPECT_EQ(second, sc::kAbortFailedFused);
  EXPECT_EQ(ReadBack(h, kSlba, kNlb), Fill(kNlb, 0xB1));
  EXPECT_EQ(h.ns().fused_lock().active(), 0u);
}

// The pair's own reactor has a Write of the range in flight (another SQ of the same reactor): the
// pair's wait reaps the reactor's own ring, so the write lands and the pair goes on (no
// deadlock); the pair then compares the landed data and succeeds.
TEST(FusedUring, PairWaitsForAWriteInFlightOnItsOwnReactor) {
  Harness h;
  constexpr uint64_t kSlba = 100;
  constexpr uint32_t kNlb = 4;
  ASSERT_EQ(RunSync(h.a(), Rw(kWrite, kSlba, kNlb), Fill(kNlb, 0x11), 1), sc::kSuccess);
  std::atomic<int> stage{0};  // 1: write in flight, -1: no io_uring, 2: pair finished
  AsyncWrite w(Fill(kNlb, 0x22));
  Status compare, second;
  std::thread reactor([&] {
    TestRingHost host;
    if (engine::IoRing::ForThread() == nullptr || !w.Submit(h.a(), kSlba, kNlb, 1)) {
      stage.store(-1);
      return;
    }
    stage.store(1, std::memory_order_release);
    compare = RunSync(h.a(), Fused(Rw(kCompare, kSlba, kNlb), 1), Fill(kNlb, 0x22), 2);
    second = RunSync(h.a(), Fused(Rw(kWrite, kSlba, kNlb), 2), Fill(kNlb, 0x33), 2);
    stage.store(2, std::memory_order_release);
  });
  SpinUntil([&] { return stage.load(std::memory_order_acquire) != 0; });
  if (stage.load() < 0) {
    reactor.join();
    GTEST_SKIP() << "io_uring unavailable";
  }
  SpinUntil([&] {
    return stage.load(std::memory_order_acquire) == 2 ||
           RangeLock::GracePeriodsWaitingForTesting() != 0;
  });
  const bool compared_before_landing = stage.load(std::memory_order_acquire) == 2;
  h.backend().Release();
  reactor.join();
  EXPECT_FALSE(compared_before_landing);
  EXPECT_TRUE(w.done.load());
  EXPECT_EQ(w.status, sc::kSuccess);
  EXPECT_EQ(compare, sc::kSuccess);
  EXPECT_EQ(second, sc::kSuccess);
  EXPECT_EQ(ReadBack(h, kSlba, kNlb), Fill(kNlb, 0x33));
}

// Writes that go in flight while a pair holds an overlapping range are held off by the gate
// (Command Interrupted from the pair's own reactor), and a non-overlapping one goes in flight and
// does not hold up the pair's Write.
TEST(FusedUring, HeldRangeStopsNewAsyncWritesOfIt) {
  Harness h;
  ASSERT_EQ(RunSync(h.a(), Rw(kWrite, 0, 8), Fill(8, 0x01), 1), sc::kSuccess);
  std::atomic<int> stage{0};
  Status overlapping, compare, second;
  bool other_in_flight = false;
  AsyncWrite over(Fill(2, 0x55)), other(Fill(2, 0x66));
  std::thread reactor([&] {
    TestRingHost host;
    if (engine::IoRing::ForThread() == nullptr) {
      stage.store(-1);
      return;
    }
    compare = RunSync(h.a(), Fused(Rw(kCompare, 0, 8), 1), Fill(8, 0x01), 2);
    Request req;
    req.sqe = Rw(kWrite, 4, 2);
    req.sqid = 1;
    req.data = &over.ch;
    req.async = &over.slot;
    overlapping = ExecuteIoCommand(h.a(), req);
    EXPECT_FALSE(req.in_flight);
    other_in_flight = other.Submit(h.a(), 64, 2, 3);
    second = RunSync(h.a(), Fused(Rw(kWrite, 0, 8), 2), Fill(8, 0x02), 2);
    stage.store(1, std::memory_order_release);
    SpinUntil([&] {
      engine::IoRing::ForThread()->Poll(UINT32_MAX);
      return other.done.load(std::memory_order_acquire);
    });
  });
  SpinUntil([&] { return stage.load(std::memory_order_acquire) != 0; });
  if (stage.load() < 0) {
    reactor.join();
    GTEST_SKIP() << "io_uring unavailable";
  }
  h.backend().Release();  // the non-overlapping write
  reactor.join();
  EXPECT_EQ(compare, sc::kSuccess);
  EXPECT_EQ(overlapping, nvm_sc::kCommandInterrupted);
  EXPECT_TRUE(other_in_flight);
  EXPECT_EQ(second, sc::kSuccess);
  EXPECT_EQ(other.status, sc::kSuccess);
  EXPECT_EQ(ReadBack(h, 0, 8), Fill(8, 0x02));
  EXPECT_EQ(ReadBack(h, 64, 2), Fill(2, 0x66));
}

}  // namespace
}  // namespace nvemu::test
