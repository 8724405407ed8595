// Sigmoid, the CPU reference: y = 1 / (1 + exp(-x)), as torch.sigmoid, and its gradient from the
// output as PyTorch's sigmoid_backward computes it: dx = dy * (1 - y) * y, so the input need not
// be kept for the backward pass.
#pragma once

#include <cstdint>

namespace kiln::cpu {

// In float, as ATen computes it (not correctly rounded: saturates to 1 from x = 16.64, like
// PyTorch), with exp(-x) rounded once to float from double so the GPU can match it; gives 0 for x <
// -88.7, where exp(-x) overflows; NaN propagates. y may alias x.
void sigmoid_forward(std::int64_t count, const float* x, float* y);

// dx = dy * (1 - y) * y. dx may alias dy.
void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx);

}  // namespace kiln::cpu
