// Linear layers on the GPU: the three matrix products on cuBLAS (SGEMM), the bias on two small
// kernels of our own. Same semantics as kiln::cpu::linear_* (y = x W^T + b, row-major), on a
// stream, with no allocation and no synchronisation.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <cstddef>

#include "kernels/shapes.h"

namespace kiln::cuda {

// A cuBLAS handle bound once, when made, to a stream, a math mode and a workspace of its own, so
// that no GEMM allocates and a step can be captured as a CUDA graph. Never rebound per call:
// cublasSetStream resets the workspace to cuBLAS's default pool, from which a GEMM may then
// allocate (inside a capture too), and captured and direct steps could choose different
// algorithms. Throws kiln::cuda::Error without a GPU.
class CublasHandle {
 public:
  // allow_tf32: TF32 tensor-core math (10-bit mantissas in the products); else plain float32.
  CublasHandle(cudaStream_t stream, bool allow_tf32);
  ~CublasHandle();
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;

  cublasHandle_t get() const { return handle_; }
  cudaStream_t stream() const { return stream_; }

  // What NVIDIA's cuBLAS guide recommends for Hopper; more than any earlier GPU needs.
  static constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;

 private:
  cudaStream_t stream_;
  cublasHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
};

// bias may be null. Everything runs on cublas.stream().
void linear_forward(const CublasHandle& cublas, const LinearShape& shape, const float* x,
                    const float* weight, const float* bias, float* y);
void linear_backward_data(const CublasHandle& cublas, const LinearShape& shape, const float* dy,
                          const float* weight, float* dx);
void linear_backward_weight(const CublasHandle& cublas, const LinearShape& shape, const float* x,
                            const float* dy, float* dweight);
// dbias[o] = sum over the batch of dy[b, o], accumulated in double in batch order, as the CPU
// reference does: deterministic, no atomics.
void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias,
                          cudaStream_t stream);

}  // namespace kiln::cuda
