// ReLU forward and backward: element-wise and memory-bound. Forward moves 8 bytes per element
// (read x, write y), backward 12 (read y and dy, write dx); the arithmetic is negligible, so the
// goal is copy bandwidth, which map_elements' 16-byte accesses are for.
#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/relu.h"

namespace kiln::cuda {
namespace {

struct Relu {
  __device__ float operator()(float x) const { return x < 0.0f ? 0.0f : x; }
  __device__ float4 operator()(float4 x) const {
    return {(*this)(x.x), (*this)(x.y), (*this)(x.z), (*this)(x.w)};
  }
};

// From the output, as PyTorch's threshold_backward: the gradient passes where y > 0.
struct ReluGrad {
  __device__ float operator()(float y, float dy) const { return y <= 0.0f ? 0.0f : dy; }
  __device__ float4 operator()(float4 y, float4 dy) const {
    return {(*this)(y.x, dy.x), (*this)(y.y, dy.y), (*this)(y.z, dy.z), (*this)(y.w, dy.w)};
  }
};

template <bool kAligned>
__global__ void relu_forward_kernel(const float* x, float* y, std::int64_t count) {
  map_elements<kAligned>(count, Relu{}, y, x);
}

template <bool kAligned>
__global__ void relu_backward_kernel(const float* y, const float* dy, float* dx,
                                     std::int64_t count) {
  map_elements<kAligned>(count, ReluGrad{}, dx, y, dy);
}

}  // namespace

void relu_forward(std::int64_t count, const float* x, float* y, cudaStream_t stream) {
  if (!has_elements(count, "relu_forward")) return;
  const unsigned blocks = elementwise_blocks(count);
  if (aligned_for_float4(x, y)) {
    launch_kernel<relu_forward_kernel<true>>(blocks, kElementwiseThreads, 0, stream, x, y, count);
  } else {
    launch_kernel<relu_forward_kernel<false>>(blocks, kElementwiseThreads, 0, stream, x, y, count);
  }
  KILN_CUDA_CHECK_LAUNCH("relu_forward_kernel");
}

void relu_backward(std::int64_t count, const float* y, const float* dy, float* dx,
                   cudaStream_t stream) {
  if (!has_elements(count, "relu_backward")) return;
  const unsigned blocks = elementwise_blocks(count);
  if (aligned_for_float4(y, dy, dx)) {
    launch_kernel<relu_backward_kernel<true>>(blocks, kElementwiseThreads, 0, stream, y, dy, dx,
                                              count);
  } else {
    launch_kernel<relu_backward_kernel<false>>(blocks, kElementwiseThreads, 0, stream, y, dy, dx,
                                               count);
  }
  KILN_CUDA_CHECK_LAUNCH("relu_backward_kernel");
}

}  // namespace kiln::cuda
