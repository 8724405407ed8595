// Linear layers: y = x W^T + b with x [batch, in], W [out, in], y [batch, out], all row-major.
//
// The matrix products go to cuBLAS: at our shapes (mnist-cnn fc1: 32 x 2048 x 625, 41 MFLOP
// forward, 5.1 MB of weights read once) SGEMM is bound by reading W, and a hand-written GEMM
// would only match it. cuBLAS is column-major; a row-major matrix is its column-major transpose,
// so each product is written for the transposes:
//   forward          y^T  [out x batch] = W   [out x in]    * x^T  [in x batch]
//   backward_data    dx^T [in x batch]  = W^T [in x out]    * dy^T [out x batch]
//   backward_weight  dW^T [in x out]    = x^T [in x batch]  * dy   [batch x out]
// The math mode is the handle's (plain FP32 unless the backend was told to allow TF32), and
// SGEMM's results are reproducible run to run on one GPU (cuBLAS's documented guarantee).
// The bias is broadcast into y before the forward product accumulates onto it (beta = 1), and
// its gradient is a column sum over the batch: one thread per output feature, reading rows in
// order, so consecutive threads read consecutive addresses.
#include <cstdint>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/linear.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;

// y[b, o] = bias[o] for every row b.
__global__ void broadcast_bias_kernel(const float* bias, float* y, int batch, int features) {
  const std::int64_t count = static_cast<std::int64_t>(batch) * features;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    y[i] = bias[i % features];
  }
}

__global__ void bias_gradient_kernel(const float* dy, float* dbias, int batch, int features) {
  const int o = blockIdx.x * blockDim.x + threadIdx.x;
  if (o >= features) return;
  double sum = 0.0;
  for (int b = 0; b < batch; ++b) sum += dy[static_cast<std::int64_t>(b) * features + o];
  dbias[o] = static_cast<float>(sum);
}

unsigned blocks_for(std::int64_t threads) {
  const std::int64_t blocks = (threads + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 4096 ? blocks : 4096);
}

}  // namespace

CublasHandle::CublasHandle(cudaStream_t stream, bool allow_tf32) : stream_(stream) {
  KILN_CUBLAS_CHECK(cublasCreate(&handle_));
  try {
    KILN_CUBLAS_CHECK(cublasSetStream(handle_, stream_));
    KILN_CUBLAS_CHECK(
        cublasSetMathMode(handle_, allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    // After the stream: binding a stream resets the workspace.
    KILN_CUDA_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
    KILN_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, kWorkspaceBytes));
  } catch (...) {
    cublasDestroy(handle_);
    cudaFree(workspace_);
    throw;
  }
}

CublasHandle::~CublasHandle() {
  cublasDestroy(handle_);
  cudaFree(workspace_);
}

void linear_forward(const CublasHandle& cublas, const LinearShape& shape, const float* x,
                    const float* weight, const float* bias, float* y) {
  const cudaStream_t stream = cublas.stream();
  float beta = 0.0f;
  if (bias != nullptr) {
    launch_kernel<broadcast_bias_kernel>(blocks_for(std::int64_t{shape.batch} * shape.out_features),
                                         kThreads, 0, stream, bias, y, shape.batch,
                                         shape.out_features);
    KILN_CUDA_CHECK_LAUNCH("broadcast_bias_kernel");
    beta = 1.0f;
  }
  const float alpha = 1.0f;
  KILN_CUBLAS_CHECK(cublasSgemm(cublas.get(), CUBLAS_OP_T, CUBLAS_OP_N, shape.out_features,
                                shape.batch, shape.in_features, &alpha, weight, shape.in_features,
                                x, shape.in_features, &beta, y, shape.out_features));
}

void linear_backward_data(const CublasHandle& cublas, const LinearShape& shape, const float* dy,
                          const float* weight, float* dx) {
  const float alpha = 1.0f;
  const float beta = 0.0f;
  KILN_CUBLAS_CHECK(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_N, shape.in_features,
                                shape.batch, shape.out_features, &alpha, weight, shape.in_features,
                                dy, shape.out_features, &beta, dx, shape.in_features));
}

void linear_backward_weight(const CublasHandle& cublas, const LinearShape& shape, const float* x,
                            const float* dy, float* dweight) {
  const float alpha = 1.0f;
  const float beta = 0.0f;
  KILN_CUBLAS_CHECK(cublasSgemm(cublas.get(), CUBLAS_OP_N, CUBLAS_OP_T, shape.in_features,
                                shape.out_features, shape.batch, &alpha, x, shape.in_features, dy,
                                shape.out_features, &beta, dweight, shape.in_features));
}

void linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias,
                          cudaStream_t stream) {
  launch_kernel<bias_gradient_kernel>(blocks_for(shape.out_features), kThreads, 0, stream, dy,
                                      dbias, shape.batch, shape.out_features);
  KILN_CUDA_CHECK_LAUNCH("bias_gradient_kernel");
}

}  // namespace kiln::cuda
