// Max pooling on the GPU, alone or with the ReLU before it fused in: the same semantics as
// kiln::cpu::max_pool2d_forward/backward (the first maximum of a window in row-major order, NaN
// beating any number and the last NaN winning, -inf padding that is never selected), launched on
// a stream with no allocation and no synchronisation. Results are bitwise the CPU reference's.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/shapes.h"

namespace kiln::cuda {

// argmax (null when no backward follows) receives, per output, the index h * in_width + w of the
// selected input within its channel plane. Throws std::invalid_argument for a plane too large for
// an int32 argmax; the shape and x, y are Backend's checks (kernels/backend.cpp).
void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax,
                        cudaStream_t stream);

// dx is overwritten: each input receives the sum of dy over the outputs whose argmax selected it,
// added in increasing output order, so the result is the CPU reference's bit for bit with no
// atomics. The selection comes from argmax alone (x and y are not read and may be null); argmax
// must come from max_pool2d_forward on the same shape and non-null (std::invalid_argument). Unlike
// the CPU reference, which throws for an argmax outside the input plane, a kernel cannot report
// one: an argmax that does not point into its own window (only a corrupted one can) is ignored,
// never followed out of bounds.
void max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y, const float* dy,
                         const std::int32_t* argmax, float* dx, cudaStream_t stream);

// ReLU fused into the pooling, as kiln::cpu::relu_max_pool2d_forward/backward (see there for why
// the scan compares relu(x)): one read of x, y and argmax written, bitwise the reference's.
// Forward needs x and y; backward needs y, dy, argmax and dx (y masks the gradient).
void relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                             std::int32_t* argmax, cudaStream_t stream);
void relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                              const std::int32_t* argmax, float* dx, cudaStream_t stream);

}  // namespace kiln::cuda
