// A mix of two engines, per op family, as Caffe chose an engine per layer: each family marked in
// the routing goes to `other` (cuDNN, say), every other op to `base` (kiln's CUDA kernels). A
// family is routed whole: pooling's forward and backward must meet the same engine (cuDNN's
// backward reads x and y where the custom one reads argmax), and dropout's reserve is sized by
// the engine that will use it. Neither backend is owned; both must work in the same memory space
// and, on a GPU, on the same stream.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "kernels/ops.h"
#include "kernels/routing_backend.h"

namespace kiln {

// Which families go to the other engine. Only those of kOpFamilies can (route() throws
// std::out_of_range for the others); linear, optimizer and data ops stay on the base.
class FamilyRouting {
 public:
  FamilyRouting& route(OpFamily family, bool to_other) {
    to_other_.at(index(family)) = to_other;
    return *this;
  }
  bool to_other(OpFamily family) const {
    return index(family) < to_other_.size() && to_other_[index(family)];
  }
  bool none() const;
  bool all() const;

 private:
  static std::size_t index(OpFamily family) { return static_cast<std::size_t>(family); }
  std::array<bool, kOpFamilies.size()> to_other_{};
};

class EngineMix final : public RoutingBackend {
 public:
  // std::invalid_argument when the two work in different memory spaces.
  EngineMix(Backend& base, Backend& other, FamilyRouting routing);

  // "<base> (<families>: <other>)", e.g. "cuda (conv, pool: cudnn)".
  std::string_view name() const override { return name_; }
  MemorySpace memory_space() const override { return base_.memory_space(); }

  // Only when both the activation and the pool families go to the base engine and it fuses; the
  // fused ops then run there (the pool family's engine), and throw std::logic_error otherwise.
  bool fuses_relu_max_pool() const override;

 private:
  // The engine of the op's family (the pool family's for the fused ops, once
  // fuses_relu_max_pool() holds; std::logic_error otherwise).
  Backend& engine_for(Op op) const override;

  Backend& base_;
  Backend& other_;
  FamilyRouting routing_;
  std::string name_;
};

}  // namespace kiln
