// Inverted dropout, the CPU reference: y = keep ? x * scale : 0 with scale = 1 / (1 - p), the
// expectation-preserving form of torch.nn.functional.dropout in training. The mask is not
// PyTorch's (whose generator is not reproducible across backends) but kiln's own, a pure function
// of (counters->seed, counters->step, mask_stream, element index) defined in
// kernels/dropout_mask.h: element i takes lane i % 4 of Philox4x32-10 group i / 4 and is kept when
// dropout_keeps(lane, p). Backward recomputes the same mask: dx = keep ? dy * scale : 0.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace kiln::cpu {

// The arguments are checked by Backend (kernels/backend.cpp: count >= 0, p in [0, 1)); counters
// must be non-null (std::invalid_argument otherwise). p = 0 gives y = x exactly. y may alias x.
void dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                     const StepCounters* counters, const float* x, float* y);

// The forward map applied to dy with the forward's mask (same p, stream and counters). dx may
// alias dy.
void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                      const StepCounters* counters, const float* dy, float* dx);

}  // namespace kiln::cpu
