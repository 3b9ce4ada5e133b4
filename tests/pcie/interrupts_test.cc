// Tests for nvemu::pcie::Interrupts: MSI-X table/PBA, masking and pending replay, INTx with INTMS
// and INTx Disable, reset, and lock-free concurrent signalling.
#include "pcie/interrupts.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "nvemu/interrupt_sink.h"
#include "pcie/config_space.h"

namespace nvemu::pcie {
namespace {

using CS = ConfigSpace;

// Records every MSI message and every INTx level report; thread-safe.
class RecordingSink : public InterruptSink {
 public:
  struct Message {
    uint64_t addr;
    uint32_t data;
    friend bool operator==(const Message&, const Message&) = default;
  };

  void Msi(uint64_t addr, uint32_t data) override {
    msi_count_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    if (record_) messages_.push_back({addr, data});
  }
  void Intx(bool asserted) override {
    std::lock_guard lock(mu_);
    intx_.push_back(asserted);
  }

  std::vector<Message> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<bool> intx() {
    std::lock_guard lock(mu_);
    return intx_;
  }
  uint64_t msi_count() const { return msi_count_.load(); }
  void set_record(bool record) { record_ = record; }

 private:
  std::atomic<uint64_t> msi_count_{0};
  std::mutex mu_;
  bool record_ = true;
  std::vector<Message> messages_;
  std::vector<bool> intx_;
};

constexpr uint16_t kVectors = 65;  // two PBA qwords

ConfigSpaceParams Params() {
  ConfigSpaceParams p;
  p.bar0_size = 64 * 1024;
  p.msix_vectors = kVectors;
  p.msix_table_offset = 0x2000;
  p.msix_pba_offset = 0x3000;
  return p;
}

class InterruptsTest : public ::testing::Test {
 protected:
  InterruptsTest() {
    cs_.SetCallbacks({.msix_control_changed = [this] { irq_.OnMsixControlChanged(); },
                      .intx_disable_changed = [this] { irq_.OnIntxDisableChanged(); },
                      .flr = [this] { irq_.Reset(); }});
  }

  void SetMsixControl(bool enable, bool function_mask) {
    cs_.Write(CS::kMsixControl, 2,
              (enable ? CS::kMsixCtlEnable : 0) | (function_mask ? CS::kMsixCtlFunctionMask : 0));
  }
  void Program(uint16_t v, uint64_t addr, uint32_t data) {
    irq_.WriteTable(v * 16 + 0, 4, static_cast<uint32_t>(addr));
    irq_.WriteTable(v * 16 + 4, 4, static_cast<uint32_t>(addr >> 32));
    irq_.WriteTable(v * 16 + 8, 4, data);
  }
  void SetMasked(uint16_t v, bool masked) { irq_.WriteTable(v * 16 + 12, 4, masked ? 1 : 0); }
  bool PbaBit(uint16_t v) { return (irq_.ReadPba(v / 64 * 8, 8) >> (v % 64)) & 1; }
  bool InterruptStatus() { return cs_.Read(CS::kStatus, 2) & CS::kStsInterruptStatus; }

  RecordingSink sink_;
  ConfigSpace cs_{Params()};
  Interrupts irq_{kVectors, sink_, cs_};
};

TEST_F(InterruptsTest, ResetStateAllVectorsMasked) {
  EXPECT_EQ(irq_.TableBytes(), kVectors * 16u);
  EXPECT_EQ(irq_.PbaBytes(), 16u);
  for (uint16_t v = 0; v < kVectors; ++v) {
    EXPECT_EQ(irq_.ReadTable(v * 16 + 12, 4), 1u) << "vector " << v;
    EXPECT_EQ(irq_.ReadTable(v * 16, 8), 0u);
    EXPECT_EQ(irq_.ReadTable(v * 16 + 8, 4), 0u);
  }
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);
  EXPECT_EQ(irq_.ReadPba(8, 8), 0u);
  EXPECT_FALSE(irq_.IntxAsserted());
}

TEST_F(InterruptsTest, DeliversMessageWithProgrammedAddressAndData) {
  SetMsixControl(true, false);
  Program(3, 0x00000001'fee01000ull, 0x4023);
  SetMasked(3, false);
  irq_.Signal(3);
  ASSERT_EQ(sink_.messages().size(), 1u);
  EXPECT_EQ(sink_.messages()[0], (RecordingSink::Message{0x00000001'fee01000ull, 0x4023}));
  irq_.Signal(3);
  EXPECT_EQ(sink_.messages().size(), 2u);
  EXPECT_TRUE(sink_.intx().empty());
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);
}

TEST_F(InterruptsTest, QwordTableAccesses) {
  irq_.WriteTable(5 * 16, 8, 0x00000002'fee00000ull);
  irq_.WriteTable(5 * 16 + 8, 8, (uint64_t{0xfffffffe} << 32) | 0x55);  // data 55h, unmasked
  EXPECT_EQ(irq_.ReadTable(5 * 16, 8), 0x00000002'fee00000ull);
  EXPECT_EQ(irq_.ReadTable(5 * 16 + 4, 4), 0x2u);
  EXPECT_EQ(irq_.ReadTable(5 * 16 + 8, 8), 0x55u) << "reserved Vector Control bits read 0";
  EXPECT_EQ(irq_.ReadTable(5 * 16 + 12, 4), 0u);
  SetMsixControl(true, false);
  irq_.Signal(5);
  ASSERT_EQ(sink_.messages().size(), 1u);
  EXPECT_EQ(sink_.messages()[0], (RecordingSink::Message{0x00000002'fee00000ull, 0x55}));
}

TEST_F(InterruptsTest, InvalidTableAndPbaAccessesAreIgnored) {
  irq_.WriteTable(0, 2, 0xffff);             // width
  irq_.WriteTable(2, 4, 0xffffffff);         // misaligned dword
  irq_.WriteTable(4, 8, ~0ull);              // misaligned qword
  irq_.WriteTable(kVectors * 16, 4, 0);      // past the table (would unmask nothing)
  irq_.WriteTable(kVectors * 16 - 4, 8, 0);  // straddles the end
  irq_.WriteTable(12, 1, 0);                 // byte write of the Mask Bit
  EXPECT_EQ(irq_.ReadTable(0, 8), 0u);
  EXPECT_EQ(irq_.ReadTable(12, 4), 1u);
  EXPECT_EQ(irq_.ReadTable(kVectors * 16 - 4, 4), 1u);
  EXPECT_EQ(irq_.ReadTable(12, 2), 0u);
  EXPECT_EQ(irq_.ReadTable(13, 4), 0u);
  EXPECT_EQ(irq_.ReadTable(kVectors * 16, 4), 0u);
  EXPECT_EQ(irq_.ReadTable(0xffffffff, 4), 0u);
  EXPECT_EQ(irq_.ReadPba(16, 8), 0u);
  EXPECT_EQ(irq_.ReadPba(2, 4), 0u);
}

TEST_F(InterruptsTest, MaskedVectorPendsAndIsDeliveredOnceOnUnmask) {
  SetMsixControl(true, false);
  Program(64, 0xfee02000, 0x64);  // second PBA qword
  irq_.Signal(64);
  irq_.Signal(64);
  irq_.Signal(64);
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_TRUE(PbaBit(64));
  EXPECT_EQ(irq_.ReadPba(8, 4), 1u);
  EXPECT_EQ(irq_.ReadPba(12, 4), 0u);
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);

  irq_.WritePba(8, 8, 0);  // read-only
  EXPECT_TRUE(PbaBit(64));

  SetMasked(64, false);
  ASSERT_EQ(sink_.messages().size(), 1u);
  EXPECT_EQ(sink_.messages()[0], (RecordingSink::Message{0xfee02000, 0x64}));
  EXPECT_FALSE(PbaBit(64));
  SetMasked(64, false);  // unmasking again replays nothing
  SetMasked(64, true);
  SetMasked(64, false);
  EXPECT_EQ(sink_.messages().size(), 1u);
}

TEST_F(InterruptsTest, FunctionMaskPendsAndReplaysOnControlChange) {
  SetMsixControl(true, true);
  Program(1, 0xfee00000, 1);
  Program(2, 0xfee00000, 2);
  SetMasked(1, false);  // vector 2 stays masked
  irq_.Signal(1);
  irq_.Signal(2);
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_EQ(irq_.ReadPba(0, 8), 0b110u);

  SetMsixControl(true, false);  // config space callback -> OnMsixControlChanged
  ASSERT_EQ(sink_.messages().size(), 1u);
  EXPECT_EQ(sink_.messages()[0].data, 1u);
  EXPECT_EQ(irq_.ReadPba(0, 8), 0b100u) << "vector 2 is still masked per vector";

  SetMasked(2, false);
  ASSERT_EQ(sink_.messages().size(), 2u);
  EXPECT_EQ(sink_.messages()[1].data, 2u);
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);
}

TEST_F(InterruptsTest, UnmaskWhileMsixDisabledDoesNotDeliver) {
  SetMsixControl(true, true);
  SetMasked(0, false);
  irq_.Signal(0);
  EXPECT_TRUE(PbaBit(0));
  SetMsixControl(false, false);  // disabling keeps the pending bit
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_TRUE(PbaBit(0));
  SetMsixControl(true, false);
  EXPECT_EQ(sink_.messages().size(), 1u);
  EXPECT_FALSE(PbaBit(0));
}

TEST_F(InterruptsTest, IntxAssertAndDeassertFollowSources) {
  EXPECT_FALSE(InterruptStatus());
  irq_.Signal(0);  // MSI-X disabled: INTx mode
  EXPECT_TRUE(irq_.IntxAsserted());
  EXPECT_TRUE(InterruptStatus());
  irq_.Signal(0);
  irq_.SetIntxSource(0, true);
  EXPECT_EQ(sink_.intx(), std::vector<bool>{true}) << "only level changes are reported";
  irq_.SetIntxSource(0, false);
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_FALSE(InterruptStatus());
  irq_.SetIntxSource(0, false);
  EXPECT_EQ(sink_.intx(), (std::vector<bool>{true, false}));
  EXPECT_TRUE(sink_.messages().empty());
}

TEST_F(InterruptsTest, IntxMultipleSourcesKeepThePinAsserted) {
  irq_.SetIntxSource(0, true);
  irq_.SetIntxSource(40, true);
  irq_.SetIntxSource(64, true);
  irq_.SetIntxSource(0, false);
  irq_.SetIntxSource(40, false);
  EXPECT_TRUE(irq_.IntxAsserted());
  irq_.SetIntxSource(64, false);
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_EQ(sink_.intx(), (std::vector<bool>{true, false}));
}

TEST_F(InterruptsTest, IntmsMasksIntx) {
  irq_.SetIntxSource(0, true);
  EXPECT_TRUE(irq_.IntxAsserted());
  irq_.SetIntMask(0x1);  // INTMS: mask vector 0
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_FALSE(InterruptStatus());
  irq_.SetIntMask(0x2);  // another vector masked: vector 0 pending again
  EXPECT_TRUE(irq_.IntxAsserted());
  irq_.SetIntMask(0x1);
  irq_.SetIntxSource(0, false);
  irq_.SetIntMask(0x0);  // nothing pending any more
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_EQ(sink_.intx(), (std::vector<bool>{true, false, true, false}));

  irq_.SetIntMask(0x2);
  irq_.SetIntxSource(1, true);  // masked vector 1 pending
  EXPECT_FALSE(irq_.IntxAsserted());
  irq_.SetIntxSource(33, true);  // INTMS has no bit for vector 33
  EXPECT_TRUE(irq_.IntxAsserted());
}

TEST_F(InterruptsTest, IntxDisableGatesThePinButNotInterruptStatus) {
  cs_.Write(CS::kCommand, 2, CS::kCmdIntxDisable);
  irq_.Signal(0);
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_TRUE(InterruptStatus());
  EXPECT_TRUE(sink_.intx().empty());
  cs_.Write(CS::kCommand, 2, 0);  // callback -> OnIntxDisableChanged
  EXPECT_TRUE(irq_.IntxAsserted());
  cs_.Write(CS::kCommand, 2, CS::kCmdIntxDisable);
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_TRUE(InterruptStatus());
  EXPECT_EQ(sink_.intx(), (std::vector<bool>{true, false}));
}

TEST_F(InterruptsTest, EnablingMsixDeassertsIntx) {
  irq_.SetIntxSource(0, true);
  EXPECT_TRUE(irq_.IntxAsserted());
  SetMsixControl(true, false);
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_FALSE(InterruptStatus());
  SetMsixControl(false, false);
  EXPECT_TRUE(irq_.IntxAsserted());
  EXPECT_EQ(sink_.intx(), (std::vector<bool>{true, false, true}));
}

TEST_F(InterruptsTest, OutOfRangeVectorsAreIgnored) {
  SetMsixControl(true, false);
  irq_.Signal(kVectors);
  irq_.Signal(0xffff);
  SetMsixControl(false, false);
  irq_.Signal(kVectors);
  irq_.SetIntxSource(kVectors, true);
  EXPECT_TRUE(sink_.messages().empty());
  EXPECT_TRUE(sink_.intx().empty());
  EXPECT_EQ(irq_.ReadPba(0, 8) | irq_.ReadPba(8, 8), 0u);
}

TEST_F(InterruptsTest, ResetMasksTableClearsPbaAndDeassertsIntx) {
  SetMsixControl(true, false);
  Program(7, 0xfee00000, 7);
  SetMasked(8, false);
  irq_.Signal(7);  // masked: pending
  SetMsixControl(false, false);
  irq_.SetIntMask(0x4);
  irq_.SetIntxSource(0, true);
  ASSERT_TRUE(irq_.IntxAsserted());

  irq_.Reset();
  EXPECT_FALSE(irq_.IntxAsserted());
  EXPECT_FALSE(InterruptStatus());
  EXPECT_EQ(sink_.intx(), (std::vector<bool>{true, false}));
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);
  EXPECT_EQ(irq_.ReadTable(7 * 16, 8), 0u);
  EXPECT_EQ(irq_.ReadTable(7 * 16 + 8, 4), 0u);
  EXPECT_EQ(irq_.ReadTable(8 * 16 + 12, 4), 1u);
  irq_.SetIntxSource(2, true);  // INTMS was cleared by Reset
  EXPECT_TRUE(irq_.IntxAsserted());
}

TEST_F(InterruptsTest, FunctionLevelResetThroughConfigSpace) {
  SetMsixControl(true, false);
  SetMasked(0, false);
  cs_.Write(CS::kDeviceControl, 2, CS::kDevCtlInitiateFlr);
  EXPECT_FALSE(cs_.MsixEnabled());
  EXPECT_EQ(irq_.ReadTable(12, 4), 1u);
}

TEST_F(InterruptsTest, ConcurrentSignalsDeliverExactCount) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  SetMsixControl(true, false);
  for (uint16_t v = 0; v < kThreads; ++v) {
    Program(v, 0xfee00000, v);
    SetMasked(v, false);
  }
  sink_.set_record(false);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kPerThread; ++i) {
        irq_.Signal(static_cast<uint16_t>(i % 2 ? t : 0));  // half on a shared vector
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sink_.msi_count(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);
}

// A Signal racing with an unmask of its vector: whichever way the race goes, exactly one message
// is sent and nothing stays pending (the pending bit is re-checked after it is published). The
// window is a few instructions wide, so both threads spin briefly before yielding.
TEST_F(InterruptsTest, SignalRacingWithUnmaskIsDeliveredExactlyOnce) {
  constexpr int kRounds = 50000;
  auto wait_for = [](const std::atomic<int>& counter, int value) {
    for (int spins = 0; counter.load() < value; ++spins) {
      if (spins > 2000) std::this_thread::yield();
    }
  };
  SetMsixControl(true, false);
  Program(0, 0xfee00000, 0);
  sink_.set_record(false);
  std::atomic<int> go{0};
  std::atomic<int> finished{0};
  std::thread signaller([&] {
    for (int r = 1; r <= kRounds; ++r) {
      wait_for(go, r);
      irq_.Signal(0);
      finished.store(r);
    }
  });
  int failed_round = 0;
  uint64_t count_at_failure = 0;
  for (int r = 1; r <= kRounds && failed_round == 0; ++r) {
    SetMasked(0, true);
    go.store(r);
    SetMasked(0, false);
    wait_for(finished, r);
    if (sink_.msi_count() != static_cast<uint64_t>(r) || irq_.ReadPba(0, 8) != 0) {
      failed_round = r;
      count_at_failure = sink_.msi_count();
    }
  }
  go.store(kRounds);
  signaller.join();
  EXPECT_EQ(failed_round, 0) << "round " << failed_round << ": " << count_at_failure << " messages";
}

// Signals racing with mask toggles: masked signals coalesce into the pending bit, so fewer
// messages than signals may be sent, but none may be lost: once everything is unmasked and the
// signalling threads are done, nothing is left pending.
TEST_F(InterruptsTest, ConcurrentSignalsAndMaskTogglesLoseNothing) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  SetMsixControl(true, false);
  Program(0, 0xfee00000, 0);
  sink_.set_record(false);
  std::atomic<bool> done{false};
  std::thread toggler([&] {
    bool masked = true;
    bool function_masked = false;
    for (unsigned i = 0; !done.load(); ++i) {
      if (i % 8 == 0) {
        function_masked = !function_masked;
        SetMsixControl(true, function_masked);
      } else {
        masked = !masked;
        SetMasked(0, masked);
      }
    }
    SetMsixControl(true, false);
    SetMasked(0, false);
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < kPerThread; ++i) irq_.Signal(0);
    });
  }
  for (auto& th : threads) th.join();
  done.store(true);
  toggler.join();
  EXPECT_EQ(irq_.ReadPba(0, 8), 0u);
  EXPECT_GE(sink_.msi_count(), 1u);
  EXPECT_LE(sink_.msi_count(), uint64_t{kThreads} * kPerThread);
}

}  // namespace
}  // namespace nvemu::pcie
