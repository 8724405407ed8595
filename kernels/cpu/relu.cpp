#include "kernels/cpu/relu.h"

namespace kiln::cpu {

void relu_forward(std::int64_t count, const float* x, float* y) {
  for (std::int64_t i = 0; i < count; ++i) {
    y[i] = relu(x[i]);
  }
}

void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  for (std::int64_t i = 0; i < count; ++i) {
    dx[i] = y[i] <= 0.0f ? 0.0f : dy[i];
  }
}

}  // namespace kiln::cpu
