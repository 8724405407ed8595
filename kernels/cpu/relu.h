// ReLU, the CPU reference: y = max(x, 0) with PyTorch's semantics (NaN propagates), and its
// gradient taken from the output, as PyTorch's threshold_backward does, so the input need not be
// kept alive for the backward pass.
#pragma once

#include <cstdint>

namespace kiln::cpu {

// One element: x < 0 is false for NaN and -0, so both pass through unchanged, as in PyTorch.
inline float relu(float x) { return x < 0.0f ? 0.0f : x; }

// y may alias x (in place).
void relu_forward(std::int64_t count, const float* x, float* y);

// dx = dy where y > 0, else 0. dx may alias dy.
void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx);

}  // namespace kiln::cpu
