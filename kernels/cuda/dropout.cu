// Inverted dropout forward and backward, bitwise equal to kiln::cpu's reference.
//
// Sizes we train: mnist-cnn (batch 32) drops 200,704 + 100,352 + 65,536 + 20,000 = 386,592
// elements per step forward and as many backward (fashion-lenet has no dropout). Each element
// moves 8 bytes (read, write) and costs a quarter of a Philox4x32-10 call (10 rounds of two 32-bit
// multiply-high/low pairs, about 25 integer operations per element): 3.1 MB per pass for
// mnist-cnn, about 1 us at copy bandwidth, with the integer work well under the memory time.
//
// Design: one thread per group of four elements, which is exactly one Philox call (the mask's
// layout, kernels/dropout_mask.h: element i is lane i % 4 of group i / 4), so no random bits are
// drawn twice or shared between threads. With 16-byte aligned pointers a full group moves as one
// float4; the last partial group and misaligned tensors move element by element. The seed and the
// step are read from the device's StepCounters by the kernel, never passed by value, so a captured
// graph replays with the current step. The scale 1 / (1 - p) is the reference's own expression,
// evaluated once on the host, and the product is rounded as the reference rounds it.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/dropout_mask.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 1 << 16;

__device__ __forceinline__ float apply_mask(float value, std::uint32_t bits, float p, float scale) {
  return dropout_keeps(bits, p) ? __fmul_rn(value, scale) : 0.0f;
}

// out = keep ? in * scale : 0; forward maps x to y, backward dy to dx. in and out may alias: each
// element is read before it is written, by the one thread that owns its group.
template <bool kAligned>
__global__ void dropout_kernel(std::int64_t count, float p, float scale, std::uint32_t mask_stream,
                               const StepCounters* counters, const float* in, float* out) {
  const std::uint64_t seed = counters->seed;
  const std::uint64_t step = counters->step;
  const std::int64_t groups = (count + 3) / 4;
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t group = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       group < groups; group += stride) {
    const auto lanes = philox_bits(seed, step, mask_stream, static_cast<std::uint64_t>(group));
    const std::int64_t first = group * 4;
    if constexpr (kAligned) {
      if (first + 4 <= count) {
        const float4 v = reinterpret_cast<const float4*>(in)[group];
        reinterpret_cast<float4*>(out)[group] =
            make_float4(apply_mask(v.x, lanes[0], p, scale), apply_mask(v.y, lanes[1], p, scale),
                        apply_mask(v.z, lanes[2], p, scale), apply_mask(v.w, lanes[3], p, scale));
        continue;
      }
    }
#pragma unroll
    for (int lane = 0; lane < 4; ++lane) {
      if (first + lane < count) {
        out[first + lane] = apply_mask(in[first + lane], lanes[lane], p, scale);
      }
    }
  }
}

void launch(const char* op, std::int64_t count, float p, std::uint32_t mask_stream,
            const StepCounters* counters, const float* in, float* out, cudaStream_t stream) {
  // p and the pointers were checked by Backend (kernels/backend.cpp), once for every engine. The
  // grid needs a count that is not negative, and the kernel reads the counters on the device.
  const bool any = has_elements(count, op);
  if (counters == nullptr) {
    throw std::invalid_argument(std::string(op) + ": counters must not be null");
  }
  if (!any) return;
  const float scale = dropout_scale(p);
  const std::int64_t groups = (count + 3) / 4;
  const auto blocks = static_cast<unsigned>(
      std::clamp<std::int64_t>((groups + kThreads - 1) / kThreads, 1, kMaxBlocks));
  if (aligned_for_float4(in, out)) {
    launch_kernel<dropout_kernel<true>>(blocks, kThreads, 0, stream, count, p, scale, mask_stream,
                                        counters, in, out);
  } else {
    launch_kernel<dropout_kernel<false>>(blocks, kThreads, 0, stream, count, p, scale, mask_stream,
                                         counters, in, out);
  }
  KILN_CUDA_CHECK_LAUNCH("dropout_kernel");
}

}  // namespace

void dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                     const StepCounters* counters, const float* x, float* y, cudaStream_t stream) {
  launch("dropout_forward", count, p, mask_stream, counters, x, y, stream);
}

void dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                      const StepCounters* counters, const float* dy, float* dx,
                      cudaStream_t stream) {
  launch("dropout_backward", count, p, mask_stream, counters, dy, dx, stream);
}

}  // namespace kiln::cuda
