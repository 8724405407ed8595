#include "kernels/engine_mix.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace kiln {

bool FamilyRouting::none() const {
  return std::none_of(to_other_.begin(), to_other_.end(), [](bool b) { return b; });
}

bool FamilyRouting::all() const {
  return std::all_of(to_other_.begin(), to_other_.end(), [](bool b) { return b; });
}

EngineMix::EngineMix(Backend& base, Backend& other, FamilyRouting routing)
    : base_(base), other_(other), routing_(routing) {
  if (base.memory_space() != other.memory_space()) {
    throw std::invalid_argument(fmt::format("an engine mix of {} and {}: different memory spaces",
                                            base.name(), other.name()));
  }
  std::string families;
  for (const OpFamily family : kOpFamilies) {
    if (!routing.to_other(family)) continue;
    families += fmt::format("{}{}", families.empty() ? "" : ", ", op_family_name(family));
  }
  name_ = families.empty() ? std::string(base.name())
                           : fmt::format("{} ({}: {})", base.name(), families, other.name());
}

bool EngineMix::fuses_relu_max_pool() const {
  return !routing_.to_other(OpFamily::pool) && !routing_.to_other(OpFamily::activation) &&
         base_.fuses_relu_max_pool();
}

Backend& EngineMix::engine_for(Op op) const {
  if ((op == Op::relu_max_pool2d_forward || op == Op::relu_max_pool2d_backward) &&
      !fuses_relu_max_pool()) {
    throw std::logic_error(fmt::format(
        "{} cannot fuse ReLU into max pooling: pool and activation must both run on {}, which "
        "must fuse them",
        name_, base_.name()));
  }
  return routing_.to_other(op_family(op)) ? other_ : base_;
}

}  // namespace kiln
