#include "runtime/graph/layers/max_pool2d.h"

#include <fmt/format.h>

#include "runtime/graph/layers/activation.h"

namespace kiln {

MaxPool2d::MaxPool2d(std::string name, int kernel, int stride, int padding)
    : Layer(std::move(name)), kernel_(kernel), stride_(stride), padding_(padding) {
  // PyTorch's own rule: a window must see at least one real element.
  if (kernel < 1 || stride < 1 || padding < 0 || padding > kernel / 2) {
    throw std::invalid_argument(fmt::format("{}: bad {} (padding may be at most half the kernel)",
                                            this->name(), describe()));
  }
}

std::string MaxPool2d::describe() const {
  return fmt::format("MaxPool2d(kernel_size={}, stride={}, padding={})", kernel_, stride_,
                     padding_);
}

Pool2dShape MaxPool2d::shape_for(const Shape& input) const {
  return Pool2dShape{static_cast<int>(input[0]),
                     static_cast<int>(input[1]),
                     static_cast<int>(input[2]),
                     static_cast<int>(input[3]),
                     kernel_,
                     kernel_,
                     stride_,
                     stride_,
                     padding_,
                     padding_};
}

Shape MaxPool2d::output_shape(const Shape& input) const {
  expect_image_batch(input, 0);
  const Pool2dShape shape = shape_for(input);
  if (shape.out_height() < 1 || shape.out_width() < 1) {
    fail_shape(fmt::format("a {}x{} window does not fit the input", kernel_, kernel_), input);
  }
  return Shape{input[0], input[1], shape.out_height(), shape.out_width()};
}

void MaxPool2d::plan(const Backend& /*backend*/, const Shape& input, MemoryPlan& plan) {
  argmax_reservation_ = plan.reserve(name() + ".argmax", MemoryCategory::activations, DType::i32,
                                     output_shape(input));
}

void MaxPool2d::bind(const Arena& arena) { argmax_ = arena.tensor(argmax_reservation_); }

bool MaxPool2d::fuse_predecessor(const Layer* predecessor, const Backend& backend) {
  relu_fused_ = dynamic_cast<const ReLU*>(predecessor) != nullptr && backend.fuses_relu_max_pool();
  return relu_fused_;
}

// Fused, x is the ReLU's input: relu(x) is never written, and the backward masks by y instead of
// reading the ReLU's output.
Tensor MaxPool2d::forward(const RunContext& context, const Tensor& x, const Tensor& y) {
  if (relu_fused_) {
    context.backend.relu_max_pool2d_forward(shape_for(x.shape), x.f32(), y.f32(), argmax_.i32());
  } else {
    context.backend.max_pool2d_forward(shape_for(x.shape), x.f32(), y.f32(), argmax_.i32());
  }
  return y;
}

Tensor MaxPool2d::backward(const RunContext& context, const Tensor& x, const Tensor& y,
                           const Tensor& dy, const Tensor& dx) {
  if (dx.empty()) return dx;
  if (relu_fused_) {
    context.backend.relu_max_pool2d_backward(shape_for(x.shape), y.f32(), dy.f32(), argmax_.i32(),
                                             dx.f32());
    return dx;
  }
  context.backend.max_pool2d_backward(shape_for(x.shape), x.f32(), y.f32(), dy.f32(), argmax_.i32(),
                                      dx.f32());
  return dx;
}

}  // namespace kiln
