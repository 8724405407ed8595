// ReLU on the GPU: the same semantics as kiln::cpu::relu_forward/relu_backward, launched on a
// stream with no allocation and no synchronisation.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace kiln::cuda {

// y may alias x (in place).
void relu_forward(std::int64_t count, const float* x, float* y, cudaStream_t stream);

// dx = dy where y > 0, else 0. dx may alias dy.
void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx,
                   cudaStream_t stream);

}  // namespace kiln::cuda
