// Grid-stride element-wise maps shared by the memory-bound kernels (ReLU, Sigmoid, ...).
// Such a kernel can only hope to run at copy bandwidth, so it moves float4s (16-byte loads and
// stores) when every pointer is 16-byte aligned, and single floats otherwise.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace kiln::cuda {

inline constexpr int kElementwiseThreads = 256;

// out[i] = op(in[i]...) for i < count. With kAligned the body moves float4s and the last count % 4
// elements move one by one, so Op must accept both float and float4 arguments.
template <bool kAligned, typename Op, typename... Inputs>
__device__ __forceinline__ void map_elements(std::int64_t count, Op op, float* out,
                                             const Inputs*... in) {
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  std::int64_t scalar_start = 0;
  if constexpr (kAligned) {
    const std::int64_t vectors = count / 4;
    auto* out4 = reinterpret_cast<float4*>(out);
    for (std::int64_t i = first; i < vectors; i += stride) {
      out4[i] = op(reinterpret_cast<const float4*>(in)[i]...);
    }
    scalar_start = vectors * 4;
  }
  for (std::int64_t i = scalar_start + first; i < count; i += stride) {
    out[i] = op(in[i]...);
  }
}

// About four elements per thread, capped at enough blocks to fill any current GPU several times
// over; the grid-stride loop does the rest.
inline unsigned elementwise_blocks(std::int64_t count) {
  constexpr std::int64_t kMaxBlocks = 4096;
  const std::int64_t threads = (count + 3) / 4;
  const std::int64_t blocks = (threads + kElementwiseThreads - 1) / kElementwiseThreads;
  return static_cast<unsigned>(std::clamp<std::int64_t>(blocks, 1, kMaxBlocks));
}

template <typename... Pointers>
bool aligned_for_float4(const Pointers*... pointers) {
  return (reinterpret_cast<std::uintptr_t>(pointers) | ...) % sizeof(float4) == 0;
}

// Returns false when there is nothing to launch; a negative count is a caller's mistake.
inline bool has_elements(std::int64_t count, const char* op) {
  if (count < 0) {
    throw std::invalid_argument(std::string(op) + ": negative element count");
  }
  return count > 0;
}

}  // namespace kiln::cuda
