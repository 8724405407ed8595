// Max pooling forward and backward, alone or fused with the ReLU before it, bitwise equal to
// kiln::cpu's reference.
//
// Sizes we train (floats; argmax is one int32 per output):
//   mnist-cnn, batch 32:    32x32x28x28 -> 14x14 (k2 s2): 802,816 in, 200,704 out
//                           32x64x14x14 -> 7x7 (k2 s2):   401,408 in, 100,352 out
//                           32x128x7x7 -> 4x4 (k2 s2 p1): 200,704 in,  65,536 out
//   fashion-lenet, batch 20: 20x6x24x24 -> 12x12 (k2 s2):  69,120 in,  17,280 out
//                           20x10x8x8 -> 4x4 (k2 s2):      12,800 in,   3,200 out
// Forward: one comparison per window element (about one per input, 1.4 MFLOP-equivalent over the
// five layers) against 4 bytes read per input and 8 written per output (y and argmax): 5.8 MB for
// mnist-cnn's largest layer, about 2 us at copy bandwidth. Backward reads dy and argmax (8 bytes
// per output) and writes dx (4 per input). Both are memory-bound; the arithmetic is negligible.
//
// Design. Forward: one thread per output scans its window exactly as the reference does (the same
// loop, the same `value > best || isnan(value)` test), so ties, NaN and all -inf windows select
// what the reference selects. Backward is a gather, not a scatter: one thread per input element
// visits the windows that can contain it, in increasing output order, and adds the dy of those
// whose argmax names it. The reference adds dy into dx in increasing output order starting from
// zero, so for each input both add the same dy values in the same order: the same float result,
// with no atomics (a scatter with atomicAdd would be neither exact nor deterministic under
// overlapping windows). Indexing is 32-bit when the tensors allow it, since the per-thread index
// decomposition (three divisions) is the main cost beside memory.
//
// ReLU fused in (a template flag on both kernels): forward scans relu(x), so the ReLU's full-size
// output is never written nor read back (mnist-cnn's first block: 3.2 MB written and 3.2 MB read
// saved); backward masks by y in the same gather, one full-size write of dx where pool backward
// then ReLU backward wrote dx, read it and the ReLU output, and wrote dx again.
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/arguments.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/max_pool2d.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 1 << 16;

unsigned blocks_for(std::int64_t work) {
  return static_cast<unsigned>(
      std::clamp<std::int64_t>((work + kThreads - 1) / kThreads, 1, kMaxBlocks));
}

// The shape as plain ints the kernels can read (Pool2dShape's member functions are host code).
struct PoolGeometry {
  int in_height, in_width, out_height, out_width;
  int kernel_height, kernel_width, stride_height, stride_width, pad_height, pad_width;
};

PoolGeometry geometry_of(const Pool2dShape& shape) {
  return {shape.in_height,     shape.in_width,     shape.out_height(),  shape.out_width(),
          shape.kernel_height, shape.kernel_width, shape.stride_height, shape.stride_width,
          shape.pad_height,    shape.pad_width};
}

// ReLU as kiln::cpu::relu: NaN and -0 pass through unchanged.
__device__ __forceinline__ float relu(float x) { return x < 0.0f ? 0.0f : x; }

// Index is std::int32_t when every flat index of x and y fits, else std::int64_t. The loop
// counter stays 64-bit so the grid stride cannot overflow it. kFuseRelu scans relu(x) in place
// of x (relu_max_pool2d_forward): the same selection as the unfused pool over relu's output.
template <typename Index, bool kFuseRelu>
__global__ void max_pool2d_forward_kernel(PoolGeometry g, std::int64_t outputs, const float* x,
                                          float* y, std::int32_t* argmax) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t flat = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       flat < outputs; flat += stride) {
    const Index out = static_cast<Index>(flat);
    const int ow = static_cast<int>(out % g.out_width);
    const Index rows = out / g.out_width;
    const int oh = static_cast<int>(rows % g.out_height);
    const Index plane = rows / g.out_height;
    const float* x_plane = x + plane * (static_cast<Index>(g.in_height) * g.in_width);
    // The window clipped to the input: pads are -inf and could never be selected.
    const int h_origin = oh * g.stride_height - g.pad_height;
    const int h_begin = max(h_origin, 0);
    const int h_end = min(h_origin + g.kernel_height, g.in_height);
    const int w_origin = ow * g.stride_width - g.pad_width;
    const int w_begin = max(w_origin, 0);
    const int w_end = min(w_origin + g.kernel_width, g.in_width);
    // The reference's scan: the first of equal maxima wins, NaN beats any number, the last NaN
    // wins, and a window of nothing but -inf selects its first element.
    std::int32_t best_index = h_begin * g.in_width + w_begin;
    float best_value = -INFINITY;
    for (int h = h_begin; h < h_end; ++h) {
      for (int w = w_begin; w < w_end; ++w) {
        const std::int32_t index = h * g.in_width + w;
        const float value = kFuseRelu ? relu(x_plane[index]) : x_plane[index];
        if (value > best_value || isnan(value)) {
          best_value = value;
          best_index = index;
        }
      }
    }
    y[out] = best_value;
    if (argmax != nullptr) argmax[out] = best_index;
  }
}

// The first output row (or column) whose window covers input row h: the smallest o with
// o * stride - pad + kernel - 1 >= h. Written without dividing a negative number.
__device__ __forceinline__ int first_window(int h, int kernel, int stride, int pad) {
  const int reach = h + pad - kernel + 1;
  return reach <= 0 ? 0 : (reach + stride - 1) / stride;
}

// kFuseRelu skips the outputs whose y is <= 0, as relu_backward masks by the ReLU's output: every
// output selecting this input holds its relu (relu_max_pool2d_backward). y is read only then.
template <typename Index, bool kFuseRelu>
__global__ void max_pool2d_backward_kernel(PoolGeometry g, std::int64_t inputs, const float* y,
                                           const float* dy, const std::int32_t* argmax, float* dx) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  const Index out_plane = static_cast<Index>(g.out_height) * g.out_width;
  for (std::int64_t flat = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
       flat < inputs; flat += stride) {
    const Index in = static_cast<Index>(flat);
    const int w = static_cast<int>(in % g.in_width);
    const Index rows = in / g.in_width;
    const int h = static_cast<int>(rows % g.in_height);
    const Index plane = rows / g.in_height;
    // Windows covering (h, w): oh * stride - pad <= h <= oh * stride - pad + kernel - 1.
    const int oh_begin = first_window(h, g.kernel_height, g.stride_height, g.pad_height);
    const int oh_last = min((h + g.pad_height) / g.stride_height, g.out_height - 1);
    const int ow_begin = first_window(w, g.kernel_width, g.stride_width, g.pad_width);
    const int ow_last = min((w + g.pad_width) / g.stride_width, g.out_width - 1);
    const std::int32_t target = h * g.in_width + w;
    const std::int32_t* argmax_plane = argmax + plane * out_plane;
    const float* dy_plane = dy + plane * out_plane;
    const float* y_plane = kFuseRelu ? y + plane * out_plane : nullptr;
    // Increasing output order, from zero: the reference's additions for this input, in its order.
    float sum = 0.0f;
    for (int oh = oh_begin; oh <= oh_last; ++oh) {
      for (int ow = ow_begin; ow <= ow_last; ++ow) {
        const Index out = static_cast<Index>(oh) * g.out_width + ow;
        if (argmax_plane[out] != target) continue;
        if (kFuseRelu && y_plane[out] <= 0.0f) continue;
        sum = __fadd_rn(sum, dy_plane[out]);
      }
    }
    dx[in] = sum;
  }
}

// The shape and the pointers Backend needs were checked by Backend (kernels/backend.cpp), once
// for every engine. This engine's own limit: argmax is int32 (as the Backend interface says), so a
// channel plane must be indexable by it.
void check_plane(const Pool2dShape& shape, const char* op) {
  const std::int64_t plane = std::int64_t{shape.in_height} * shape.in_width;
  if (plane > std::numeric_limits<std::int32_t>::max()) {
    throw std::invalid_argument(std::string(op) + " " + shape.to_string() + ": an input plane of " +
                                std::to_string(plane) +
                                " elements cannot be indexed by an int32 argmax");
  }
}

bool fits_int32(const Pool2dShape& shape) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int32_t>::max();
  return shape.input_elements() <= kMax && shape.output_elements() <= kMax;
}

template <bool kFuseRelu>
void launch_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax,
                    cudaStream_t stream, const char* op) {
  check_plane(shape, op);
  const PoolGeometry g = geometry_of(shape);
  const std::int64_t outputs = shape.output_elements();
  const unsigned blocks = blocks_for(outputs);
  if (fits_int32(shape)) {
    launch_kernel<max_pool2d_forward_kernel<std::int32_t, kFuseRelu>>(blocks, kThreads, 0, stream,
                                                                      g, outputs, x, y, argmax);
  } else {
    launch_kernel<max_pool2d_forward_kernel<std::int64_t, kFuseRelu>>(blocks, kThreads, 0, stream,
                                                                      g, outputs, x, y, argmax);
  }
  KILN_CUDA_CHECK_LAUNCH("max_pool2d_forward_kernel");
}

template <bool kFuseRelu>
void launch_backward(const Pool2dShape& shape, const float* y, const float* dy,
                     const std::int32_t* argmax, float* dx, cudaStream_t stream, const char* op) {
  check_plane(shape, op);
  // Backend leaves argmax to the engine for the plain pooling (another engine may recompute the
  // window's maximum); this one reads it. The fused op's argmax Backend checks itself.
  if (!kFuseRelu) require_non_null(argmax, op, "argmax");
  const PoolGeometry g = geometry_of(shape);
  const std::int64_t inputs = shape.input_elements();
  const unsigned blocks = blocks_for(inputs);
  if (fits_int32(shape)) {
    launch_kernel<max_pool2d_backward_kernel<std::int32_t, kFuseRelu>>(
        blocks, kThreads, 0, stream, g, inputs, y, dy, argmax, dx);
  } else {
    launch_kernel<max_pool2d_backward_kernel<std::int64_t, kFuseRelu>>(
        blocks, kThreads, 0, stream, g, inputs, y, dy, argmax, dx);
  }
  KILN_CUDA_CHECK_LAUNCH("max_pool2d_backward_kernel");
}

}  // namespace

void max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y, std::int32_t* argmax,
                        cudaStream_t stream) {
  launch_forward<false>(shape, x, y, argmax, stream, "max_pool2d_forward");
}

void max_pool2d_backward(const Pool2dShape& shape, const float* /*x*/, const float* /*y*/,
                         const float* dy, const std::int32_t* argmax, float* dx,
                         cudaStream_t stream) {
  launch_backward<false>(shape, nullptr, dy, argmax, dx, stream, "max_pool2d_backward");
}

void relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                             std::int32_t* argmax, cudaStream_t stream) {
  launch_forward<true>(shape, x, y, argmax, stream, "relu_max_pool2d_forward");
}

void relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                              const std::int32_t* argmax, float* dx, cudaStream_t stream) {
  launch_backward<true>(shape, y, dy, argmax, dx, stream, "relu_max_pool2d_backward");
}

}  // namespace kiln::cuda
