// MaxPool2d as PyTorch defines it (square window, padding with -inf, floor mode). Keeps the
// argmax of each output from forward to backward. Takes over a ReLU just before it where the
// backend fuses the two (Backend::fuses_relu_max_pool): max_pool(relu(x)) in one pass over x.
#pragma once

#include "runtime/graph/layer.h"

namespace kiln {

class MaxPool2d final : public Layer {
 public:
  MaxPool2d(std::string name, int kernel, int stride, int padding = 0);

  std::string describe() const override;
  Shape output_shape(const Shape& input) const override;
  void plan(const Backend& backend, const Shape& input, MemoryPlan& plan) override;
  void bind(const Arena& arena) override;
  bool fuse_predecessor(const Layer* predecessor, const Backend& backend) override;
  Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) override;
  Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y, const Tensor& dy,
                  const Tensor& dx) override;

 private:
  Pool2dShape shape_for(const Shape& input) const;

  int kernel_;
  int stride_;
  int padding_;
  bool relu_fused_ = false;  // the ReLU before runs inside this layer's ops
  Reservation argmax_reservation_;
  Tensor argmax_;
};

}  // namespace kiln
