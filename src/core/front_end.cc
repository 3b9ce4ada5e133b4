#include "core/front_end.h"

#include <spdlog/spdlog.h>

namespace nvemu {

void FrontEnd::CompleteDeferred(uint16_t sqid, uint16_t cid, Status status, uint32_t) {
  spdlog::error("front end: no deferred completion path; sq {} cid {} ({}) dropped", sqid, cid,
                status.ToString());
}

Status FrontEnd::ConfigureShadowDoorbells(uint64_t, uint64_t) { return sc::kInvalidOpcode; }

bool FrontEnd::FindUnfetched(uint16_t, uint16_t, FunctionRef<void()>) { return false; }

}  // namespace nvemu
