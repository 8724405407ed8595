#include "runtime/graph/layers/activation.h"

namespace kiln {

Tensor ReLU::forward(const RunContext& context, const Tensor& x, const Tensor& y) {
  context.backend.relu_forward(x.elements(), x.f32(), y.f32());
  return y;
}

Tensor ReLU::backward(const RunContext& context, const Tensor& /*x*/, const Tensor& y,
                      const Tensor& dy, const Tensor& dx) {
  if (dx.empty()) return dx;
  context.backend.relu_backward(y.elements(), y.f32(), dy.f32(), dx.f32());
  return dx;
}

Tensor Sigmoid::forward(const RunContext& context, const Tensor& x, const Tensor& y) {
  context.backend.sigmoid_forward(x.elements(), x.f32(), y.f32());
  return y;
}

Tensor Sigmoid::backward(const RunContext& context, const Tensor& /*x*/, const Tensor& y,
                         const Tensor& dy, const Tensor& dx) {
  if (dx.empty()) return dx;
  context.backend.sigmoid_backward(y.elements(), y.f32(), dy.f32(), dx.f32());
  return dx;
}

}  // namespace kiln
