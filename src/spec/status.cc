#include "nvemu/status.h"

#include <fmt/format.h>

namespace nvemu {
namespace {

const char* SctName(Sct sct) {
  switch (sct) {
    case Sct::kGeneric:
      return "Generic";
    case Sct::kCommandSpecific:
      return "CommandSpecific";
    case Sct::kMediaError:
      return "Media";
    case Sct::kPathRelated:
      return "Path";
    case Sct::kVendor:
      return "Vendor";
  }
  return "Reserved";
}

}  // namespace

std::string Status::ToString() const {
  if (ok()) return "Success";
  return fmt::format("{}/{:#04x}{}{}", SctName(sct()), sc(), dnr() ? " DNR" : "", more() ? " M" : "");
}

}  // namespace nvemu
