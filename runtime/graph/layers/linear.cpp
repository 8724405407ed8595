#include "runtime/graph/layers/linear.h"

#include <fmt/format.h>

#include "runtime/graph/init.h"

namespace kiln {

Linear::Linear(std::string name, int in_features, int out_features)
    : Layer(std::move(name)), in_features_(in_features), out_features_(out_features) {
  if (in_features < 1 || out_features < 1) {
    throw std::invalid_argument(fmt::format("{}: bad {}", this->name(), describe()));
  }
  add_parameter("weight", Shape{out_features, in_features}, default_bound(in_features));
  add_parameter("bias", Shape{out_features}, default_bound(in_features));
}

std::string Linear::describe() const {
  return fmt::format("Linear(in_features={}, out_features={})", in_features_, out_features_);
}

Shape Linear::output_shape(const Shape& input) const {
  if (input.rank() != 2 || input[1] != in_features_) {
    fail_shape(fmt::format("expects [N, {}] (flatten images first)", in_features_), input);
  }
  return Shape{input[0], out_features_};
}

Tensor Linear::forward(const RunContext& context, const Tensor& x, const Tensor& y) {
  context.backend.linear_forward(shape_for(x.shape), x.f32(), weight().value.f32(),
                                 bias().value.f32(), y.f32());
  return y;
}

Tensor Linear::backward(const RunContext& context, const Tensor& x, const Tensor& /*y*/,
                        const Tensor& dy, const Tensor& dx) {
  const LinearShape shape = shape_for(x.shape);
  context.backend.linear_backward_weight(shape, x.f32(), dy.f32(), weight().grad.f32());
  context.backend.linear_backward_bias(shape, dy.f32(), bias().grad.f32());
  if (dx.empty()) return dx;
  context.backend.linear_backward_data(shape, dy.f32(), weight().value.f32(), dx.f32());
  return dx;
}

}  // namespace kiln
