// Flatten (PyTorch's nn.Flatten / x.view(N, -1)): [N, C, H, W] -> [N, C*H*W] in C, H, W order.
// A view: no memory and no work.
#pragma once

#include "runtime/graph/layer.h"

namespace kiln {

class Flatten final : public Layer {
 public:
  using Layer::Layer;
  std::string describe() const override { return "Flatten()"; }
  Shape output_shape(const Shape& input) const override;
  bool output_is_view() const override { return true; }
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;
};

}  // namespace kiln
