// Sigmoid forward and backward: element-wise and memory-bound. Forward moves 8 bytes per element
// (read x, write y), backward 12 (read y and dy, write dx). The one sigmoid of the models is
// fashion-lenet's head, 20 x 10 = 200 elements per step (1.6 KB forward, 2.4 KB backward), so
// these kernels cost a launch and nothing more; they are written for any count all the same.
//
// Forward is the CPU reference's (and ATen's) float formula with explicitly rounded operations, so
// it saturates to 1 where PyTorch's does. exp(-x) is computed in double and rounded once to float,
// as the reference does: CUDA's expf is within 2 ulps, and where exp(-x) is just above 2^24 one
// ulp of it moves y by up to four. Backward is float arithmetic in the reference's order, also
// explicitly rounded so the compiler can neither reorder nor fuse it.
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/sigmoid.h"

namespace kiln::cuda {
namespace {

// 1 / (1 + exp(-x)) in float: an overflowing exp gives 0, NaN propagates. The double exp is
// within 1 ulp of double, so e is the correctly rounded float but where exp(-x) lies within that
// ulp of a midpoint between two floats.
struct Sigmoid {
  __device__ float operator()(float x) const {
    const float e = __double2float_rn(exp(-static_cast<double>(x)));
    return __fdiv_rn(1.0f, __fadd_rn(1.0f, e));
  }
  __device__ float4 operator()(float4 x) const {
    return {(*this)(x.x), (*this)(x.y), (*this)(x.z), (*this)(x.w)};
  }
};

// PyTorch's sigmoid_backward from the output: (dy * (1 - y)) * y.
struct SigmoidGrad {
  __device__ float operator()(float y, float dy) const {
    return __fmul_rn(__fmul_rn(dy, __fsub_rn(1.0f, y)), y);
  }
  __device__ float4 operator()(float4 y, float4 dy) const {
    return {(*this)(y.x, dy.x), (*this)(y.y, dy.y), (*this)(y.z, dy.z), (*this)(y.w, dy.w)};
  }
};

template <bool kAligned>
__global__ void sigmoid_forward_kernel(const float* x, float* y, std::int64_t count) {
  map_elements<kAligned>(count, Sigmoid{}, y, x);
}

template <bool kAligned>
__global__ void sigmoid_backward_kernel(const float* y, const float* dy, float* dx,
                                        std::int64_t count) {
  map_elements<kAligned>(count, SigmoidGrad{}, dx, y, dy);
}

}  // namespace

void sigmoid_forward(std::int64_t count, const float* x, float* y, cudaStream_t stream) {
  if (!has_elements(count, "sigmoid_forward")) return;
  const unsigned blocks = elementwise_blocks(count);
  if (aligned_for_float4(x, y)) {
    launch_kernel<sigmoid_forward_kernel<true>>(blocks, kElementwiseThreads, 0, stream, x, y,
                                                count);
  } else {
    launch_kernel<sigmoid_forward_kernel<false>>(blocks, kElementwiseThreads, 0, stream, x, y,
                                                 count);
  }
  KILN_CUDA_CHECK_LAUNCH("sigmoid_forward_kernel");
}

void sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx,
                      cudaStream_t stream) {
  if (!has_elements(count, "sigmoid_backward")) return;
  const unsigned blocks = elementwise_blocks(count);
  if (aligned_for_float4(y, dy, dx)) {
    launch_kernel<sigmoid_backward_kernel<true>>(blocks, kElementwiseThreads, 0, stream, y, dy, dx,
                                                 count);
  } else {
    launch_kernel<sigmoid_backward_kernel<false>>(blocks, kElementwiseThreads, 0, stream, y, dy, dx,
                                                  count);
  }
  KILN_CUDA_CHECK_LAUNCH("sigmoid_backward_kernel");
}

}  // namespace kiln::cuda
