#include "kernels/shapes.h"

#include <fmt/format.h>

#include <stdexcept>
#include <string_view>

namespace kiln {
namespace {

// Ops validate their shape on every call, inside training steps that must not allocate, so a
// message is only built when a check fails.
template <typename Shape>
[[noreturn]] void fail(const Shape& shape, std::string_view op, std::string_view fault) {
  throw std::invalid_argument(fmt::format("{} {}: {}", op, shape.to_string(), fault));
}

template <typename Shape>
void require_positive(const Shape& shape, std::string_view op, std::string_view field, int value) {
  if (value <= 0) fail(shape, op, fmt::format("{} must be positive, got {}", field, value));
}

template <typename Shape>
void require_non_negative(const Shape& shape, std::string_view op, std::string_view field,
                          int value) {
  if (value < 0) fail(shape, op, fmt::format("{} must not be negative, got {}", field, value));
}

int output_extent(int input, int kernel, int stride, int pad) {
  return (input + 2 * pad - kernel) / stride + 1;
}

}  // namespace

int Conv2dShape::out_height() const {
  return output_extent(in_height, kernel_height, stride_height, pad_height);
}
int Conv2dShape::out_width() const {
  return output_extent(in_width, kernel_width, stride_width, pad_width);
}
std::int64_t Conv2dShape::input_elements() const {
  return std::int64_t{batch} * in_channels * in_height * in_width;
}
std::int64_t Conv2dShape::weight_elements() const {
  return std::int64_t{out_channels} * in_channels * kernel_height * kernel_width;
}
std::int64_t Conv2dShape::output_elements() const {
  return std::int64_t{batch} * out_channels * out_height() * out_width();
}

void Conv2dShape::validate() const {
  require_positive(*this, "conv2d", "batch", batch);
  require_positive(*this, "conv2d", "in_channels", in_channels);
  require_positive(*this, "conv2d", "in_height", in_height);
  require_positive(*this, "conv2d", "in_width", in_width);
  require_positive(*this, "conv2d", "out_channels", out_channels);
  require_positive(*this, "conv2d", "kernel_height", kernel_height);
  require_positive(*this, "conv2d", "kernel_width", kernel_width);
  require_positive(*this, "conv2d", "stride_height", stride_height);
  require_positive(*this, "conv2d", "stride_width", stride_width);
  require_non_negative(*this, "conv2d", "pad_height", pad_height);
  require_non_negative(*this, "conv2d", "pad_width", pad_width);
  if (in_height + 2 * pad_height < kernel_height || in_width + 2 * pad_width < kernel_width) {
    fail(*this, "conv2d", "the kernel is larger than the padded input");
  }
}

std::string Conv2dShape::to_string() const {
  return fmt::format("[{}x{}x{}x{}] -> {} channels, kernel {}x{}, stride {}x{}, padding {}x{}",
                     batch, in_channels, in_height, in_width, out_channels, kernel_height,
                     kernel_width, stride_height, stride_width, pad_height, pad_width);
}

int Pool2dShape::out_height() const {
  return output_extent(in_height, kernel_height, stride_height, pad_height);
}
int Pool2dShape::out_width() const {
  return output_extent(in_width, kernel_width, stride_width, pad_width);
}
std::int64_t Pool2dShape::input_elements() const {
  return std::int64_t{batch} * channels * in_height * in_width;
}
std::int64_t Pool2dShape::output_elements() const {
  return std::int64_t{batch} * channels * out_height() * out_width();
}

void Pool2dShape::validate() const {
  require_positive(*this, "max_pool2d", "batch", batch);
  require_positive(*this, "max_pool2d", "channels", channels);
  require_positive(*this, "max_pool2d", "in_height", in_height);
  require_positive(*this, "max_pool2d", "in_width", in_width);
  require_positive(*this, "max_pool2d", "kernel_height", kernel_height);
  require_positive(*this, "max_pool2d", "kernel_width", kernel_width);
  require_positive(*this, "max_pool2d", "stride_height", stride_height);
  require_positive(*this, "max_pool2d", "stride_width", stride_width);
  require_non_negative(*this, "max_pool2d", "pad_height", pad_height);
  require_non_negative(*this, "max_pool2d", "pad_width", pad_width);
  // PyTorch's rule: with more padding a window could hold nothing but pads.
  if (2 * pad_height > kernel_height || 2 * pad_width > kernel_width) {
    fail(*this, "max_pool2d", "padding must be at most half the kernel size");
  }
  if (in_height + 2 * pad_height < kernel_height || in_width + 2 * pad_width < kernel_width) {
    fail(*this, "max_pool2d", "the kernel is larger than the padded input");
  }
}

std::string Pool2dShape::to_string() const {
  return fmt::format("[{}x{}x{}x{}], kernel {}x{}, stride {}x{}, padding {}x{}", batch, channels,
                     in_height, in_width, kernel_height, kernel_width, stride_height, stride_width,
                     pad_height, pad_width);
}

void LinearShape::validate() const {
  require_positive(*this, "linear", "batch", batch);
  require_positive(*this, "linear", "in_features", in_features);
  require_positive(*this, "linear", "out_features", out_features);
}

std::string LinearShape::to_string() const {
  return fmt::format("[{}x{}] -> {} features", batch, in_features, out_features);
}

}  // namespace kiln
