// Sigmoid reference (see sigmoid.h): PyTorch's float formula.
#include "kernels/cpu/sigmoid.h"

#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {
namespace {

// exp(v) rounded once to float from glibc's double exp (correctly rounded in practice). glibc's
// expf is not: over x in [-110, 20] it rounds one float in 14,000 the other way, and
// where exp(v) is just above 2^24 one ulp of it moves the sigmoid by four. Rounding once makes
// the reference a function the GPU can reproduce bit for bit. Above FLT_MAX it is inf: no float v
// has exp(v) between FLT_MAX and the point where rounding reaches inf.
float exp_rounded_once(float v) {
  const double e = std::exp(static_cast<double>(v));
  return e > std::numeric_limits<float>::max() ? std::numeric_limits<float>::infinity()
                                               : static_cast<float>(e);
}

// ATen's sigmoid, 1 / (1 + exp(-x)) in float. Not the correctly rounded value: 1 + exp(-x) rounds
// to 1 from x = 16.64, so y saturates to exactly 1 where PyTorch's does, and fashion-lenet's argmax
// over its saturated sigmoid outputs breaks the same ties (by class index) as PyTorch's. For
// x < -88.7, exp(-x) overflows to inf and y is 0, as in PyTorch; NaN propagates.
float pytorch_sigmoid(float x) { return 1.0f / (1.0f + exp_rounded_once(-x)); }

}  // namespace

void sigmoid_forward(std::int64_t count, const float* x, float* y) {
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = pytorch_sigmoid(x[i]);
  });
}

void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dx[i] = dy[i] * (1.0f - y[i]) * y[i];
  });
}

}  // namespace kiln::cpu
