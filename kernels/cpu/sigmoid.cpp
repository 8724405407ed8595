// Sigmoid reference (see sigmoid.h): computed in double, which is free here, and rounded once.
#include "kernels/cpu/sigmoid.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace kiln::cpu {
namespace {

void require_non_negative_count(const char* op, std::int64_t count) {
  if (count < 0) {
    throw std::invalid_argument(fmt::format("{}: count must not be negative, got {}", op, count));
  }
}

// 1 / (1 + exp(-x)) for x >= 0 and exp(x) / (1 + exp(x)) below: exp never sees a positive
// argument, so x = -1e4 gives 0 instead of overflowing exp(1e4) to inf.
float stable_sigmoid(float x) {
  const double value = x;
  if (value >= 0.0) {
    return static_cast<float>(1.0 / (1.0 + std::exp(-value)));
  }
  const double e = std::exp(value);  // NaN also lands here and propagates
  return static_cast<float>(e / (1.0 + e));
}

}  // namespace

void sigmoid_forward(std::int64_t count, const float* x, float* y) {
  require_non_negative_count("sigmoid_forward", count);
  for (std::int64_t i = 0; i < count; ++i) {
    y[i] = stable_sigmoid(x[i]);
  }
}

void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  require_non_negative_count("sigmoid_backward", count);
  for (std::int64_t i = 0; i < count; ++i) {
    dx[i] = dy[i] * (1.0f - y[i]) * y[i];
  }
}

}  // namespace kiln::cpu
