// Element-wise activations. Their backward passes need only the output y.
#pragma once

#include "runtime/graph/layer.h"

namespace kiln {

class ReLU final : public Layer {
 public:
  using Layer::Layer;
  std::string describe() const override { return "ReLU()"; }
  Shape output_shape(const Shape& input) const override { return input; }
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;
};

class Sigmoid final : public Layer {
 public:
  using Layer::Layer;
  std::string describe() const override { return "Sigmoid()"; }
  Shape output_shape(const Shape& input) const override { return input; }
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;
};

}  // namespace kiln
