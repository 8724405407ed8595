// cuBLAS in the host build: the calls kiln makes (handle, stream, math mode, workspace, SGEMM).
// cuBLAS's own kernels cannot run here, so SGEMM is the CPU reference's matrix product
// (kernels/cpu/blas.h) queued on the handle's stream: it checks kiln's arguments (transposes,
// leading dimensions, pointers) and the data flow, not cuBLAS. TF32 math mode is accepted and
// ignored: the host product is FP32.
#include <cublas_v2.h>

#include <algorithm>

#include "kernels/cpu/blas.h"
#include "kernels/cuda/host/runtime.h"

struct cublasContext {
  cudaStream_t stream = nullptr;
};

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t /*mode*/) {
  return handle == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void* /*workspace*/,
                                     std::size_t /*bytes*/) {
  return handle == nullptr ? CUBLAS_STATUS_NOT_INITIALIZED : CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    default:
      return "CUBLAS_STATUS_INVALID_VALUE";
  }
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "the library was not initialized";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "the functionality requested is not supported (by the host build)";
    default:
      return "an invalid value was used as an argument";
  }
}

// C = alpha * op(A) * op(B) + beta * C, column-major, as cuBLAS defines it, by the CPU
// reference's row-major product: a column-major matrix is its row-major transpose, so
// C^T = op(B)^T op(A)^T. C is not read when beta is 0. kiln only multiplies with alpha = 1, the one
// value the reference's product takes.
cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float* alpha,
                              const float* a, int lda, const float* b, int ldb, const float* beta,
                              float* c, int ldc) {
  if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool a_transposed = transa != CUBLAS_OP_N;
  const bool b_transposed = transb != CUBLAS_OP_N;
  if (m < 0 || n < 0 || k < 0 || ldc < std::max(1, m) || lda < std::max(1, a_transposed ? k : m) ||
      ldb < std::max(1, b_transposed ? n : k)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (*alpha != 1.0f) return CUBLAS_STATUS_NOT_SUPPORTED;
  const float beta_value = *beta;  // host pointer mode: read at the call
  const auto transpose = [](bool transposed) {
    return transposed ? kiln::cpu::Transpose::yes : kiln::cpu::Transpose::no;
  };
  kiln::cuda::host::enqueue(handle->stream, [=] {
    if (m == 0 || n == 0) return;
    kiln::cpu::matrix_product(transpose(b_transposed), transpose(a_transposed), n, m, k, b, ldb, a,
                              lda, beta_value, c, ldc);
  });
  return CUBLAS_STATUS_SUCCESS;
}
