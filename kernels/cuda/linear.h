// Linear layers on the GPU: the three matrix products on cuBLAS (SGEMM), the bias on two small
// kernels of our own. Same semantics as kiln::cpu::linear_* (y = x W^T + b, row-major), on a
// stream, with no allocation and no synchronisation.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "kernels/shapes.h"

namespace kiln::cuda {

// bias may be null. `cublas` is bound to `stream` for the call.
void linear_forward(cublasHandle_t cublas, const LinearShape& shape, const float* x,
                    const float* weight, const float* bias, float* y, cudaStream_t stream);
void linear_backward_data(cublasHandle_t cublas, const LinearShape& shape, const float* dy,
                          const float* weight, float* dx, cudaStream_t stream);
void linear_backward_weight(cublasHandle_t cublas, const LinearShape& shape, const float* x,
                            const float* dy, float* dweight, cudaStream_t stream);
// dbias[o] = sum over the batch of dy[b, o], accumulated in double in batch order, as the CPU
// reference does: deterministic, no atomics.
void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias,
                          cudaStream_t stream);

}  // namespace kiln::cuda
