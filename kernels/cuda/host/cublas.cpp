// cuBLAS in the host build: the calls kiln makes (handle, stream, math mode, workspace, SGEMM).
// cuBLAS's own kernels cannot run here, so SGEMM is a plain column-major CPU GEMM queued on the
// handle's stream (its dot products are the CPU reference's, kernels/cpu/inner_loops.h): it checks
// kiln's arguments (transposes, leading dimensions, pointers) and the data flow, not cuBLAS. TF32
// math mode is accepted and ignored: the host GEMM is FP32.
#include <cublas_v2.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/cpu/inner_loops.h"
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
  return status == CUBLAS_STATUS_SUCCESS ? "CUBLAS_STATUS_SUCCESS" : "CUBLAS_STATUS_INVALID_VALUE";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  return status == CUBLAS_STATUS_SUCCESS ? "success" : "an invalid value was used as an argument";
}

// C = alpha * op(A) * op(B) + beta * C, column-major, as cuBLAS defines it; C is not read when
// beta is 0 (so a poisoned output stays harmless, as with cuBLAS).
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
  const float alpha_value = *alpha;  // host pointer mode: read at the call
  const float beta_value = *beta;
  kiln::cuda::host::enqueue(handle->stream, [=] {
    const auto at = [](const float* matrix, int ld, bool transposed, int row, int col) {
      return transposed ? matrix[std::int64_t{row} * ld + col]
                        : matrix[std::int64_t{col} * ld + row];
    };
    // The rows of op(A) and the columns of op(B), each contiguous, for the CPU reference's dot.
    std::vector<float> a_rows(std::size_t(m) * std::size_t(k));
    std::vector<float> b_columns(std::size_t(n) * std::size_t(k));
    for (int i = 0; i < m; ++i) {
      for (int p = 0; p < k; ++p) a_rows[std::size_t(i) * k + p] = at(a, lda, a_transposed, i, p);
    }
    for (int j = 0; j < n; ++j) {
      for (int p = 0; p < k; ++p) {
        b_columns[std::size_t(j) * k + p] = at(b, ldb, b_transposed, p, j);
      }
    }
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i < m; ++i) {
        const float sum =
            kiln::cpu::dot(k, &a_rows[std::size_t(i) * k], &b_columns[std::size_t(j) * k]);
        float& out = c[std::int64_t{j} * ldc + i];
        out = beta_value == 0.0f ? alpha_value * sum : alpha_value * sum + beta_value * out;
      }
    }
  });
  return CUBLAS_STATUS_SUCCESS;
}
