// Sigmoid on the GPU: the same semantics as kiln::cpu::sigmoid_forward/sigmoid_backward, launched
// on a stream with no allocation and no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cuda {

// y = 1 / (1 + exp(-x)), computed in double as the reference does and rounded once to float; y may
// alias x. The reference's exp is glibc's and this one CUDA's, both within an ulp of the exact
// double value, so y agrees with the reference bit for bit except where the exact result lies
// within a few double ulps of a float rounding boundary (about one element in 10^8); there it
// differs by one float ulp.
void sigmoid_forward(std::int64_t count, const float* x, float* y, cudaStream_t stream);

// dx = dy * (1 - y) * y in float, in the reference's order: bitwise the reference. dx may alias dy.
void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx,
                      cudaStream_t stream);

}  // namespace kiln::cuda
