#include "kernels/cudnn/conv2d.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace kiln::cudnn {
namespace {

cudnnMathType_t requested_math(const ConvolutionSettings& settings) {
  return settings.allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
}

template <typename Performance>
bool acceptable(const Performance& candidate, const ConvolutionSettings& settings) {
  if (candidate.status != CUDNN_STATUS_SUCCESS) return false;
  if (settings.deterministic && candidate.determinism != CUDNN_DETERMINISTIC) return false;
  if (candidate.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION) return false;
  return settings.allow_tf32 || candidate.mathType == CUDNN_FMA_MATH;
}

// The first acceptable candidate of cuDNN's ranking whose workspace fits. workspace_of(algorithm,
// &bytes) asks cuDNN with the candidate's math type set on `convolution`, which keeps it.
template <typename Algorithm, typename Performance, std::size_t Count, typename WorkspaceOf>
Algorithm choose(const char* pass, const Conv2dShape& shape, const ConvolutionSettings& settings,
                 std::size_t workspace_limit, const std::array<Performance, Count>& ranking,
                 int returned, const ConvolutionDescriptor& convolution, WorkspaceOf workspace_of,
                 std::size_t& workspace) {
  for (int i = 0; i < returned; ++i) {
    const Performance& candidate = ranking[static_cast<std::size_t>(i)];
    if (!acceptable(candidate, settings)) continue;
    KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(convolution.get(), candidate.mathType));
    std::size_t bytes = 0;
    // Not supported for this shape after all: take the next candidate.
    if (workspace_of(candidate.algo, &bytes) != CUDNN_STATUS_SUCCESS) continue;
    if (bytes > workspace_limit) continue;
    workspace = bytes;
    return candidate.algo;
  }
  throw cuda::Error(
      fmt::format("conv2d {} {}: cuDNN offers no {}{} algorithm within {} bytes of workspace", pass,
                  shape.to_string(), settings.deterministic ? "deterministic " : "",
                  settings.allow_tf32 ? "float32 or TF32" : "float32 (FMA)", workspace_limit));
}

void* checked_workspace(std::span<std::byte> workspace, std::size_t needed, const char* op) {
  if (workspace.size() < needed) {
    throw std::invalid_argument(
        fmt::format("{}: the workspace holds {} bytes, cuDNN's algorithm needs {}", op,
                    workspace.size(), needed));
  }
  return needed == 0 ? nullptr : workspace.data();
}

}  // namespace

Conv2dPlan::Conv2dPlan(cudnnHandle_t handle, const Conv2dShape& shape,
                       const ConvolutionSettings& settings, std::size_t workspace_limit)
    : shape_(shape) {
  shape.validate();
  set_nchw(x_, shape.batch, shape.in_channels, shape.in_height, shape.in_width);
  set_nchw(y_, shape.batch, shape.out_channels, shape.out_height(), shape.out_width());
  set_nchw(bias_, 1, shape.out_channels, 1, 1);
  KILN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(weight_.get(), CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                              shape.out_channels, shape.in_channels,
                                              shape.kernel_height, shape.kernel_width));
  for (const ConvolutionDescriptor* convolution : {&forward_, &backward_data_, &backward_filter_}) {
    // Cross-correlation, as PyTorch's conv2d; no dilation.
    KILN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
        convolution->get(), shape.pad_height, shape.pad_width, shape.stride_height,
        shape.stride_width, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(convolution->get(), requested_math(settings)));
  }
  std::array<int, 4> out{};
  KILN_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(forward_.get(), x_.get(), weight_.get(),
                                                         &out[0], &out[1], &out[2], &out[3]));
  if (out[2] != shape.out_height() || out[3] != shape.out_width()) {
    throw std::logic_error(
        fmt::format("conv2d {}: cuDNN's output is {}x{}", shape.to_string(), out[2], out[3]));
  }

  int returned = 0;
  std::array<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT> forward_ranking{};
  KILN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(
      handle, x_.get(), weight_.get(), forward_.get(), y_.get(),
      static_cast<int>(forward_ranking.size()), &returned, forward_ranking.data()));
  forward_algorithm_ = choose<cudnnConvolutionFwdAlgo_t>(
      "forward", shape, settings, workspace_limit, forward_ranking, returned, forward_,
      [&](cudnnConvolutionFwdAlgo_t algorithm, std::size_t* bytes) {
        return cudnnGetConvolutionForwardWorkspaceSize(handle, x_.get(), weight_.get(),
                                                       forward_.get(), y_.get(), algorithm, bytes);
      },
      forward_workspace_);

  std::array<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT>
      data_ranking{};
  KILN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(
      handle, weight_.get(), y_.get(), backward_data_.get(), x_.get(),
      static_cast<int>(data_ranking.size()), &returned, data_ranking.data()));
  backward_data_algorithm_ = choose<cudnnConvolutionBwdDataAlgo_t>(
      "backward_data", shape, settings, workspace_limit, data_ranking, returned, backward_data_,
      [&](cudnnConvolutionBwdDataAlgo_t algorithm, std::size_t* bytes) {
        return cudnnGetConvolutionBackwardDataWorkspaceSize(
            handle, weight_.get(), y_.get(), backward_data_.get(), x_.get(), algorithm, bytes);
      },
      backward_data_workspace_);

  std::array<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>
      filter_ranking{};
  KILN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
      handle, x_.get(), y_.get(), backward_filter_.get(), weight_.get(),
      static_cast<int>(filter_ranking.size()), &returned, filter_ranking.data()));
  backward_filter_algorithm_ = choose<cudnnConvolutionBwdFilterAlgo_t>(
      "backward_filter", shape, settings, workspace_limit, filter_ranking, returned,
      backward_filter_,
      [&](cudnnConvolutionBwdFilterAlgo_t algorithm, std::size_t* bytes) {
        return cudnnGetConvolutionBackwardFilterWorkspaceSize(
            handle, x_.get(), y_.get(), backward_filter_.get(), weight_.get(), algorithm, bytes);
      },
      backward_filter_workspace_);
}

std::size_t Conv2dPlan::workspace_bytes() const {
  return std::max({forward_workspace_, backward_data_workspace_, backward_filter_workspace_});
}

void Conv2dPlan::forward(cudnnHandle_t handle, const float* x, const float* weight,
                         const float* bias, float* y, std::span<std::byte> workspace) const {
  void* scratch = checked_workspace(workspace, forward_workspace_, "conv2d_forward");
  KILN_CUDNN_CHECK(cudnnConvolutionForward(handle, &kOne, x_.get(), x, weight_.get(), weight,
                                           forward_.get(), forward_algorithm_, scratch,
                                           forward_workspace_, &kZero, y_.get(), y));
  if (bias != nullptr) {
    KILN_CUDNN_CHECK(cudnnAddTensor(handle, &kOne, bias_.get(), bias, &kOne, y_.get(), y));
  }
}

void Conv2dPlan::backward_data(cudnnHandle_t handle, const float* dy, const float* weight,
                               float* dx, std::span<std::byte> workspace) const {
  void* scratch = checked_workspace(workspace, backward_data_workspace_, "conv2d_backward_data");
  KILN_CUDNN_CHECK(cudnnConvolutionBackwardData(
      handle, &kOne, weight_.get(), weight, y_.get(), dy, backward_data_.get(),
      backward_data_algorithm_, scratch, backward_data_workspace_, &kZero, x_.get(), dx));
}

void Conv2dPlan::backward_filter(cudnnHandle_t handle, const float* x, const float* dy,
                                 float* dweight, std::span<std::byte> workspace) const {
  void* scratch =
      checked_workspace(workspace, backward_filter_workspace_, "conv2d_backward_filter");
  KILN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(
      handle, &kOne, x_.get(), x, y_.get(), dy, backward_filter_.get(), backward_filter_algorithm_,
      scratch, backward_filter_workspace_, &kZero, weight_.get(), dweight));
}

void conv2d_backward_bias(cudnnHandle_t handle, const Conv2dShape& shape, const float* dy,
                          float* dbias, const TensorDescriptor& dy_descriptor,
                          const TensorDescriptor& bias_descriptor) {
  set_nchw(dy_descriptor, shape.batch, shape.out_channels, shape.out_height(), shape.out_width());
  set_nchw(bias_descriptor, 1, shape.out_channels, 1, 1);
  KILN_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, &kOne, dy_descriptor.get(), dy, &kZero,
                                                bias_descriptor.get(), dbias));
}

}  // namespace kiln::cudnn
