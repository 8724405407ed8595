// Convolution on cuDNN (legacy descriptor API): forward, backward-data and backward-filter by
// cudnnConvolution*, the bias by cudnnAddTensor and cudnnConvolutionBackwardBias. A Conv2dPlan
// holds one shape's descriptors and the algorithm chosen for each pass, so that choosing happens
// once per shape, before any step, and a step only launches.
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <span>

#include "kernels/cudnn/descriptors.h"
#include "kernels/shapes.h"

namespace kiln::cudnn {

struct ConvolutionSettings {
  // Only algorithms cuDNN reports as CUDNN_DETERMINISTIC: the same bits on every run.
  bool deterministic = true;
  // false: CUDNN_FMA_MATH, plain float32 products and sums. true: CUDNN_DEFAULT_MATH, which lets
  // cuDNN use TF32 tensor cores for float data (10-bit mantissas in the products), as PyTorch does
  // with allow_tf32; never CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION, which would round to half.
  bool allow_tf32 = false;
};

class Conv2dPlan {
 public:
  // Chooses each pass's algorithm from cuDNN's heuristics (cudnnGet*Algorithm_v7, which runs
  // nothing on the GPU, so the choice is the same on every run of a machine, unlike the timings
  // of cudnnFind*): the first one whose status is success, whose math type and determinism are
  // what `settings` asks, and whose workspace fits in workspace_limit bytes. Throws
  // kiln::cuda::Error naming the shape and the pass when none is left, std::invalid_argument for
  // an invalid shape.
  Conv2dPlan(cudnnHandle_t handle, const Conv2dShape& shape, const ConvolutionSettings& settings,
             std::size_t workspace_limit);

  // The most any of the three passes needs, and each pass's own need.
  std::size_t workspace_bytes() const;
  std::size_t forward_workspace_bytes() const { return forward_workspace_; }
  std::size_t backward_data_workspace_bytes() const { return backward_data_workspace_; }
  std::size_t backward_filter_workspace_bytes() const { return backward_filter_workspace_; }

  // As kernels/backend.h defines them; bias may be null. The workspace must hold the pass's own
  // need (std::invalid_argument otherwise, before anything is launched).
  void forward(cudnnHandle_t handle, const float* x, const float* weight, const float* bias,
               float* y, std::span<std::byte> workspace) const;
  void backward_data(cudnnHandle_t handle, const float* dy, const float* weight, float* dx,
                     std::span<std::byte> workspace) const;
  void backward_filter(cudnnHandle_t handle, const float* x, const float* dy, float* dweight,
                       std::span<std::byte> workspace) const;

 private:
  Conv2dShape shape_;
  TensorDescriptor x_;
  TensorDescriptor y_;
  TensorDescriptor bias_;
  FilterDescriptor weight_;
  // One per pass: each carries the math type its algorithm was chosen with.
  ConvolutionDescriptor forward_;
  ConvolutionDescriptor backward_data_;
  ConvolutionDescriptor backward_filter_;
  cudnnConvolutionFwdAlgo_t forward_algorithm_{};
  cudnnConvolutionBwdDataAlgo_t backward_data_algorithm_{};
  cudnnConvolutionBwdFilterAlgo_t backward_filter_algorithm_{};
  std::size_t forward_workspace_ = 0;
  std::size_t backward_data_workspace_ = 0;
  std::size_t backward_filter_workspace_ = 0;
};

// dbias[c] = the sum of dy over channel c (cudnnConvolutionBackwardBias): no algorithm, no plan.
// Sets the two descriptors it is given to the shape's dy and bias.
void conv2d_backward_bias(cudnnHandle_t handle, const Conv2dShape& shape, const float* dy,
                          float* dbias, const TensorDescriptor& dy_descriptor,
                          const TensorDescriptor& bias_descriptor);

}  // namespace kiln::cudnn
