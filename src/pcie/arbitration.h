// Command arbitration between the submission queues of one QueueGroup (NVMe Base 2.0, 3.4.4).
//
// Round robin (CC.AMS = 000b, 3.4.4.1): the SQs take turns; each turn launches at most the
// Arbitration Burst (feature 01h AB: 2^AB commands, 111b = no limit).
//
// Weighted round robin with urgent priority class (CC.AMS = 001b, 3.4.4.2): the SQ's QPRIO (Create
// I/O SQ CDW11[2:1]) selects its class. Urgent SQs (00b) are served first, strictly, round robin
// among themselves. Then one round gives the high, medium and low classes HPW+1, MPW+1 and LPW+1
// grants (feature 01h weights are 0's based); a grant launches up to the burst from the next SQ of
// that class (round robin within the class). A class with nothing to do forfeits the rest of its
// grants for the round (work conserving). The admin SQ is not arbitrated here: it has its own
// QueueGroup on its own reactor, so it is never behind an I/O queue (its strict priority).
//
// Scope: arbitration is per QueueGroup, i.e. per reactor. With several I/O reactors each one
// arbitrates between its own SQs (SQs follow their CQ; CQ y goes to reactor (y-1) mod N), so the
// weights hold within a reactor, not across reactors.
//
// Threading: an Arbiter belongs to its QueueGroup's reactor thread. No allocation while serving.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "spec/function_ref.h"

namespace nvemu::pcie {

struct PcieSq;

inline constexpr uint32_t kNoBurstLimit = UINT32_MAX;

// Feature 01h Arbitration (NVMe Base 2.0, 5.27.1.1), decoded from CDW11.
struct ArbitrationParams {
  uint32_t burst = kNoBurstLimit;  // commands per grant: 2^AB, or kNoBurstLimit for AB = 111b
  std::array<uint32_t, 3> weight{1, 1, 1};  // grants per round: high, medium, low (xPW + 1)
};
ArbitrationParams DecodeArbitration(uint32_t dw11);

// Create I/O SQ QPRIO values (NVMe Base 2.0, Figure 153).
enum class QueuePriority : uint8_t { kUrgent = 0, kHigh = 1, kMedium = 2, kLow = 3 };

class Arbiter {
 public:
  // Launches up to `max` (>= 1) commands from `sq`; returns how many (0: empty or its CQ is full).
  using Serve = FunctionRef<uint32_t(PcieSq& sq, uint32_t max)>;

  void Add(PcieSq* sq);
  void Remove(PcieSq* sq);
  void Clear();
  bool Empty() const { return all_.sqs.empty(); }

  // CC.AMS = 000b. Returns the commands launched (at most `budget`).
  uint32_t RoundRobin(const ArbitrationParams& params, uint32_t budget, Serve serve);
  // CC.AMS = 001b. Returns the commands launched (at most `budget`). The round's state carries
  // over to the next call, so a budget that cuts a round short does not reset the weights.
  uint32_t WeightedRoundRobin(const ArbitrationParams& params, uint32_t budget, Serve serve);

 private:
  struct Ring {
    std::vector<PcieSq*> sqs;
    size_t next = 0;
  };
  // Round robin over `ring` until `budget` is used or no SQ has work.
  static uint32_t ServeRing(Ring& ring, uint32_t burst, uint32_t budget, Serve& serve);
  // One grant: up to `max` commands from the next SQ of `ring` that has work (0 if none has).
  static uint32_t Grant(Ring& ring, uint32_t max, Serve& serve);

  Ring all_;                                  // every SQ (round robin)
  std::array<Ring, 4> prio_;                  // by QPRIO: urgent, high, medium, low
  std::array<uint32_t, 3> credits_{0, 0, 0};  // grants left in this round: high, medium, low
  uint32_t class_ = 0;                        // weighted class being served (0 = high)
};

}  // namespace nvemu::pcie
