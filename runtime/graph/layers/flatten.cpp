#include "runtime/graph/layers/flatten.h"

namespace kiln {

Shape Flatten::output_shape(const Shape& input) const {
  if (input.rank() < 2) fail_shape("expects a batch [N, ...]", input);
  std::int64_t features = 1;
  for (int axis = 1; axis < input.rank(); ++axis) features *= input[axis];
  return Shape{input[0], features};
}

Tensor Flatten::forward(const RunContext& /*context*/, const Tensor& x, const Tensor& /*y*/) {
  return x.reshaped(output_shape(x.shape));
}

Tensor Flatten::backward(const RunContext& /*context*/, const Tensor& x, const Tensor& /*y*/,
                         const Tensor& dy, const Tensor& /*dx*/) {
  return dy.reshaped(x.shape);
}

}  // namespace kiln
