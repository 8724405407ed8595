// Inverted dropout on the GPU: the same mask and arithmetic as kiln::cpu::dropout_forward and
// dropout_backward (kernels/dropout_mask.h), so its results are the CPU reference's bit for bit.
// The seed and step are read from the device's StepCounters when the kernel runs, so a captured
// CUDA graph draws a fresh mask at every replay.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/backend.h"

namespace kiln::cuda {

// y = keep ? x / (1 - p) : 0. p in [0, 1) and x, y non-null where count > 0 are Backend's checks
// (kernels/backend.cpp); this throws std::invalid_argument for a negative count or null counters
// (a device pointer the kernel reads). y may alias x.
void dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                     const StepCounters* counters, const float* x, float* y, cudaStream_t stream);

// The forward map applied to dy with the forward's mask (same p, stream and counters). dx may
// alias dy.
void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                      const StepCounters* counters, const float* dy, float* dx,
                      cudaStream_t stream);

}  // namespace kiln::cuda
