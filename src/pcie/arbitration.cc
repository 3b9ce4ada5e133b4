#include "pcie/arbitration.h"

#include <algorithm>

#include "pcie/queues.h"

namespace nvemu::pcie {
namespace {

void RemoveFrom(std::vector<PcieSq*>& v, PcieSq* sq) {
  v.erase(std::remove(v.begin(), v.end(), sq), v.end());
}

}  // namespace

// NVMe Base 2.0, 5.27.1.1 Arbitration: AB[2:0], LPW[15:8], MPW[23:16], HPW[31:24].
ArbitrationParams DecodeArbitration(uint32_t dw11) {
  ArbitrationParams p;
  const uint32_t ab = dw11 & 0x7;
  p.burst = ab == 0x7 ? kNoBurstLimit : 1u << ab;
  p.weight[0] = ((dw11 >> 24) & 0xff) + 1;  // HPW
  p.weight[1] = ((dw11 >> 16) & 0xff) + 1;  // MPW
  p.weight[2] = ((dw11 >> 8) & 0xff) + 1;   // LPW
  return p;
}

void Arbiter::Add(PcieSq* sq) {
  all_.sqs.push_back(sq);
  prio_[sq->qprio & 0x3].sqs.push_back(sq);
}

void Arbiter::Remove(PcieSq* sq) {
  RemoveFrom(all_.sqs, sq);
  all_.next = 0;
  for (Ring& r : prio_) {
    RemoveFrom(r.sqs, sq);
    r.next = 0;
  }
}

void Arbiter::Clear() {
  all_ = Ring{};
  for (Ring& r : prio_) r = Ring{};
  credits_ = {0, 0, 0};
  class_ = 0;
}

uint32_t Arbiter::ServeRing(Ring& ring, uint32_t burst, uint32_t budget, Serve& serve) {
  const size_t n = ring.sqs.size();
  if (n == 0 || budget == 0) return 0;
  // One SQ: the burst only matters between queues.
  if (n == 1) return serve(*ring.sqs[0], budget);
  uint32_t done = 0;
  size_t idle = 0;  // consecutive SQs without work
  while (done < budget && idle < n) {
    PcieSq& sq = *ring.sqs[ring.next];
    if (++ring.next == n) ring.next = 0;
    const uint32_t k = serve(sq, std::min(burst, budget - done));
    if (k == 0) {
      ++idle;
    } else {
      idle = 0;
      done += k;
    }
  }
  return done;
}

uint32_t Arbiter::Grant(Ring& ring, uint32_t max, Serve& serve) {
  const size_t n = ring.sqs.size();
  for (size_t i = 0; i < n; ++i) {
    PcieSq& sq = *ring.sqs[ring.next];
    if (++ring.next == n) ring.next = 0;
    if (uint32_t k = serve(sq, max)) return k;
  }
  return 0;
}

// NVMe Base 2.0, 3.4.4.1 Round Robin Arbitration.
uint32_t Arbiter::RoundRobin(const ArbitrationParams& params, uint32_t budget, Serve serve) {
  return ServeRing(all_, params.burst, budget, serve);
}

// NVMe Base 2.0, 3.4.4.2 Weighted Round Robin with Urgent Priority Class Arbitration.
uint32_t Arbiter::WeightedRoundRobin(const ArbitrationParams& params, uint32_t budget,
                                     Serve serve) {
  // Urgent: strict priority over the weighted classes.
  uint32_t done = ServeRing(prio_[0], params.burst, budget, serve);
  bool idle[3] = {prio_[1].sqs.empty(), prio_[2].sqs.empty(), prio_[3].sqs.empty()};
  while (done < budget && !(idle[0] && idle[1] && idle[2])) {
    if (credits_[class_] == 0 || idle[class_]) {
      if (++class_ == 3) {  // the round is over: every class gets its weight again
        class_ = 0;
        credits_ = params.weight;
      }
      continue;
    }
    const uint32_t k = Grant(prio_[class_ + 1], std::min(params.burst, budget - done), serve);
    if (k == 0) {
      idle[class_] = true;
      continue;
    }
    --credits_[class_];
    done += k;
  }
  return done;
}

}  // namespace nvemu::pcie
