// Sigmoid on the GPU: the same semantics as kiln::cpu::sigmoid_forward/sigmoid_backward, launched
// on a stream with no allocation and no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cuda {

// y = 1 / (1 + exp(-x)) in float, the reference's formula, with exp(-x) rounded once from double
// as the reference does; y may alias x. Bitwise the reference but where CUDA's double exp (within
// 1 ulp) rounds to the other float, about once in 2^28 inputs; it saturates to exactly 1 at the
// same x, as 1 + exp(-x) then rounds to 1 in both.
void sigmoid_forward(std::int64_t count, const float* x, float* y, cudaStream_t stream);

// dx = dy * (1 - y) * y in float, in the reference's order: bitwise the reference. dx may alias dy.
void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx,
                      cudaStream_t stream);

}  // namespace kiln::cuda
