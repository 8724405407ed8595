#include "runtime/graph/layers/conv2d.h"

#include <fmt/format.h>

#include "runtime/graph/init.h"

namespace kiln {

Conv2d::Conv2d(std::string name, int in_channels, int out_channels, int kernel, int stride,
               int padding)
    : Layer(std::move(name)),
      in_channels_(in_channels),
      out_channels_(out_channels),
      kernel_(kernel),
      stride_(stride),
      padding_(padding) {
  if (in_channels < 1 || out_channels < 1 || kernel < 1 || stride < 1 || padding < 0) {
    throw std::invalid_argument(
        fmt::format("{}: bad Conv2d arguments {}", this->name(), describe()));
  }
  const std::int64_t fan_in = std::int64_t{in_channels} * kernel * kernel;
  add_parameter("weight", Shape{out_channels, in_channels, kernel, kernel}, default_bound(fan_in));
  add_parameter("bias", Shape{out_channels}, default_bound(fan_in));
}

std::string Conv2d::describe() const {
  return fmt::format("Conv2d({}, {}, kernel_size={}, stride={}, padding={})", in_channels_,
                     out_channels_, kernel_, stride_, padding_);
}

Conv2dShape Conv2d::shape_for(const Shape& input) const {
  return Conv2dShape{static_cast<int>(input[0]),
                     in_channels_,
                     static_cast<int>(input[2]),
                     static_cast<int>(input[3]),
                     out_channels_,
                     kernel_,
                     kernel_,
                     stride_,
                     stride_,
                     padding_,
                     padding_};
}

Shape Conv2d::output_shape(const Shape& input) const {
  expect_image_batch(input, in_channels_);
  const Conv2dShape shape = shape_for(input);
  if (shape.out_height() < 1 || shape.out_width() < 1) {
    fail_shape(fmt::format("a {}x{} kernel with padding {} does not fit the input", kernel_,
                           kernel_, padding_),
               input);
  }
  return Shape{input[0], out_channels_, shape.out_height(), shape.out_width()};
}

std::size_t Conv2d::workspace_bytes(const Backend& backend, const Shape& input) const {
  return backend.conv2d_workspace_bytes(shape_for(input));
}

Tensor Conv2d::forward(const RunContext& context, const Tensor& x, const Tensor& y) {
  context.backend.conv2d_forward(shape_for(x.shape), x.f32(), weight().value.f32(),
                                 bias().value.f32(), y.f32(), context.workspace);
  return y;
}

Tensor Conv2d::backward(const RunContext& context, const Tensor& x, const Tensor& /*y*/,
                        const Tensor& dy, const Tensor& dx) {
  const Conv2dShape shape = shape_for(x.shape);
  context.backend.conv2d_backward_filter(shape, x.f32(), dy.f32(), weight().grad.f32(),
                                         context.workspace);
  context.backend.conv2d_backward_bias(shape, dy.f32(), bias().grad.f32());
  if (dx.empty()) return dx;
  context.backend.conv2d_backward_data(shape, dy.f32(), weight().value.f32(), dx.f32(),
                                       context.workspace);
  return dx;
}

}  // namespace kiln
