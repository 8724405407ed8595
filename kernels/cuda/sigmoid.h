// Sigmoid on the GPU: the same semantics as kiln::cpu::sigmoid_forward/sigmoid_backward, launched
// on a stream with no allocation and no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cuda {

// y = 1 / (1 + exp(-x)) in float, the reference's formula; y may alias x. The reference's expf is
// glibc's (correctly rounded in practice) and this one CUDA's (within 2 ulps), so y may differ from
// the reference by an ulp or two where exp(-x) is not absorbed by the 1 it is added to; it
// saturates to exactly 1 at the same x, as 1 + exp(-x) then rounds to 1 in both.
void sigmoid_forward(std::int64_t count, const float* x, float* y, cudaStream_t stream);

// dx = dy * (1 - y) * y in float, in the reference's order: bitwise the reference. dx may alias dy.
void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx,
                      cudaStream_t stream);

}  // namespace kiln::cuda
