// ReLU forward and backward. Element-wise and memory-bound: forward moves 8 bytes per element
// (read x, write y) and does no arithmetic worth counting, backward moves 12, so the only goal is
// to run at copy bandwidth. Each thread handles float4s (16-byte loads and stores) when every
// pointer is 16-byte aligned, and single floats otherwise; a grid-stride loop covers any count.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/relu.h"

namespace kiln::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;
// Enough blocks to fill any current GPU several times over; the grid-stride loop does the rest.
constexpr std::int64_t kMaxBlocks = 4096;

__device__ __forceinline__ float relu(float x) { return x < 0.0f ? 0.0f : x; }
__device__ __forceinline__ float relu_grad(float y, float dy) { return y <= 0.0f ? 0.0f : dy; }

__device__ __forceinline__ float4 relu(float4 x) {
  return {relu(x.x), relu(x.y), relu(x.z), relu(x.w)};
}
__device__ __forceinline__ float4 relu_grad(float4 y, float4 dy) {
  return {relu_grad(y.x, dy.x), relu_grad(y.y, dy.y), relu_grad(y.z, dy.z), relu_grad(y.w, dy.w)};
}

// With kAligned every pointer is 16-byte aligned: the body moves float4s and the last count % 4
// elements move one by one. Otherwise every element moves on its own.
template <bool kAligned>
__global__ void relu_forward_kernel(const float* x, float* y, std::int64_t count) {
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  std::int64_t scalar_start = 0;
  if constexpr (kAligned) {
    const std::int64_t vectors = count / 4;
    const auto* x4 = reinterpret_cast<const float4*>(x);
    auto* y4 = reinterpret_cast<float4*>(y);
    for (std::int64_t i = first; i < vectors; i += stride) {
      y4[i] = relu(x4[i]);
    }
    scalar_start = vectors * 4;
  }
  for (std::int64_t i = scalar_start + first; i < count; i += stride) {
    y[i] = relu(x[i]);
  }
}

template <bool kAligned>
__global__ void relu_backward_kernel(const float* y, const float* dy, float* dx,
                                     std::int64_t count) {
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  std::int64_t scalar_start = 0;
  if constexpr (kAligned) {
    const std::int64_t vectors = count / 4;
    const auto* y4 = reinterpret_cast<const float4*>(y);
    const auto* dy4 = reinterpret_cast<const float4*>(dy);
    auto* dx4 = reinterpret_cast<float4*>(dx);
    for (std::int64_t i = first; i < vectors; i += stride) {
      dx4[i] = relu_grad(y4[i], dy4[i]);
    }
    scalar_start = vectors * 4;
  }
  for (std::int64_t i = scalar_start + first; i < count; i += stride) {
    dx[i] = relu_grad(y[i], dy[i]);
  }
}

// Each thread handles about four elements either way.
unsigned blocks_for(std::int64_t count) {
  const std::int64_t threads = (count + 3) / 4;
  const std::int64_t blocks = (threads + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, kMaxBlocks));
}

// Returns false when there is nothing to do.
bool check_count(std::int64_t count, const char* op) {
  if (count < 0) {
    throw std::invalid_argument(std::string(op) + ": negative element count");
  }
  return count > 0;
}

template <typename... Pointers>
bool aligned_for_float4(const Pointers*... pointers) {
  return (reinterpret_cast<std::uintptr_t>(pointers) | ...) % sizeof(float4) == 0;
}

}  // namespace

void relu_forward(const float* x, float* y, std::int64_t count, cudaStream_t stream) {
  if (!check_count(count, "relu_forward")) {
    return;
  }
  if (aligned_for_float4(x, y)) {
    relu_forward_kernel<true><<<blocks_for(count), kThreadsPerBlock, 0, stream>>>(x, y, count);
  } else {
    relu_forward_kernel<false><<<blocks_for(count), kThreadsPerBlock, 0, stream>>>(x, y, count);
  }
  KILN_CUDA_CHECK_LAUNCH("relu_forward_kernel");
}

void relu_backward(const float* y, const float* dy, float* dx, std::int64_t count,
                   cudaStream_t stream) {
  if (!check_count(count, "relu_backward")) {
    return;
  }
  if (aligned_for_float4(y, dy, dx)) {
    relu_backward_kernel<true>
        <<<blocks_for(count), kThreadsPerBlock, 0, stream>>>(y, dy, dx, count);
  } else {
    relu_backward_kernel<false>
        <<<blocks_for(count), kThreadsPerBlock, 0, stream>>>(y, dy, dx, count);
  }
  KILN_CUDA_CHECK_LAUNCH("relu_backward_kernel");
}

}  // namespace kiln::cuda
