#include "kernels/cpu/relu.h"

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {

void relu_forward(std::int64_t count, const float* x, float* y) {
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = relu(x[i]);
  });
}

void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  parallel_ranges(count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
  });
}

}  // namespace kiln::cpu
