// Sigmoid, the CPU reference: y = 1 / (1 + exp(-x)), as torch.sigmoid, and its gradient from the
// output as PyTorch's sigmoid_backward computes it: dx = dy * (1 - y) * y, so the input need not
// be kept for the backward pass.
#pragma once

#include <cstdint>

namespace kiln::cpu {

// Stable for any |x|: exp is only taken of -|x|, so nothing overflows; NaN propagates. y may
// alias x.
void sigmoid_forward(std::int64_t count, const float* x, float* y);

// dx = dy * (1 - y) * y. dx may alias dy.
void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx);

}  // namespace kiln::cpu
