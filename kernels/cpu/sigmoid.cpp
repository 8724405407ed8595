// Sigmoid reference (see sigmoid.h): PyTorch's float formula.
#include "kernels/cpu/sigmoid.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {
namespace {

void require_non_negative_count(const char* op, std::int64_t count) {
  if (count < 0) {
    throw std::invalid_argument(fmt::format("{}: count must not be negative, got {}", op, count));
  }
}

// ATen's sigmoid, 1 / (1 + exp(-x)) in float. Not the correctly rounded value: 1 + exp(-x) rounds
// to 1 from x = 16.64, so y saturates to exactly 1 where PyTorch's does, and fashion-lenet's argmax
// over its saturated sigmoid outputs breaks the same ties (by class index) as PyTorch's. For
// x < -88.7, exp(-x) overflows to inf and y is 0, as in PyTorch; NaN propagates.
float pytorch_sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

void sigmoid_forward(std::int64_t count, const float* x, float* y) {
  require_non_negative_count("sigmoid_forward", count);
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = pytorch_sigmoid(x[i]);
  });
}

void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  require_non_negative_count("sigmoid_backward", count);
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dx[i] = dy[i] * (1.0f - y[i]) * y[i];
  });
}

}  // namespace kiln::cpu
