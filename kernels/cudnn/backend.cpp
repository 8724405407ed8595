#include "kernels/cudnn/backend.h"

#include <fmt/format.h>

#include <stdexcept>

namespace kiln::cudnn {
namespace {

// Plan-time bound on one convolution pass's scratch; the reference models' layers need far less.
constexpr std::size_t kPlanWorkspaceLimit = std::size_t{256} << 20;

Handle handle_on(cudaStream_t stream) {
  Handle handle;
  KILN_CUDNN_CHECK(cudnnSetStream(handle.get(), stream));
  return handle;
}

[[noreturn]] void throw_no_fusion() {
  throw std::logic_error(
      "the cudnn backend cannot fuse ReLU into max pooling (fuses_relu_max_pool() is false): "
      "plan the graph with fusion off, or route pool and activation to the custom engine");
}

}  // namespace

CudnnBackend::CudnnBackend(cudaStream_t stream, CudnnBackendOptions options)
    : stream_(stream),
      options_(options),
      custom_(stream, {.allow_tf32 = options.allow_tf32}),
      handle_(handle_on(stream)),
      convolution_settings_{.deterministic = options.deterministic,
                            .allow_tf32 = options.allow_tf32},
      relu_(CUDNN_ACTIVATION_RELU, "relu_forward", "relu_backward"),
      sigmoid_(CUDNN_ACTIVATION_SIGMOID, "sigmoid_forward", "sigmoid_backward"),
      dropout_(handle_.get(), options.dropout_seed) {}

std::string CudnnBackend::describe() const {
  // cuDNN 9 numbers its versions major * 10000 + minor * 100 + patch.
  const std::size_t version = cudnnGetVersion();
  return fmt::format("cuDNN {}.{}.{} ({} math, {} convolution algorithms)", version / 10000,
                     version / 100 % 100, version % 100,
                     options_.allow_tf32 ? "TF32 tensor-core" : "float32 FMA",
                     options_.deterministic ? "deterministic" : "any");
}

const Conv2dPlan& CudnnBackend::convolution(const Conv2dShape& shape,
                                            std::size_t workspace_limit) const {
  const ConvolutionKey key = {shape.batch,        shape.in_channels,   shape.in_height,
                              shape.in_width,     shape.out_channels,  shape.kernel_height,
                              shape.kernel_width, shape.stride_height, shape.stride_width,
                              shape.pad_height,   shape.pad_width};
  auto found = convolutions_.find(key);
  if (found == convolutions_.end()) {
    found =
        convolutions_
            .emplace(key, Conv2dPlan(handle_.get(), shape, convolution_settings_, workspace_limit))
            .first;
  }
  return found->second;
}

std::size_t CudnnBackend::conv2d_workspace_bytes(const Conv2dShape& shape) const {
  return convolution(shape, kPlanWorkspaceLimit).workspace_bytes();
}

void CudnnBackend::conv2d_forward_impl(const Conv2dShape& shape, const float* x,
                                       const float* weight, const float* bias, float* y,
                                       std::span<std::byte> workspace) {
  convolution(shape, workspace.size()).forward(handle_.get(), x, weight, bias, y, workspace);
}

void CudnnBackend::conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy,
                                             const float* weight, float* dx,
                                             std::span<std::byte> workspace) {
  convolution(shape, workspace.size()).backward_data(handle_.get(), dy, weight, dx, workspace);
}

void CudnnBackend::conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x,
                                               const float* dy, float* dweight,
                                               std::span<std::byte> workspace) {
  convolution(shape, workspace.size()).backward_filter(handle_.get(), x, dy, dweight, workspace);
}

void CudnnBackend::conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy,
                                             float* dbias) {
  cudnn::conv2d_backward_bias(handle_.get(), shape, dy, dbias, bias_dy_, bias_);
}

void CudnnBackend::max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                           std::int32_t* /*argmax*/) {
  max_pool_.forward(handle_.get(), shape, x, y);
}

void CudnnBackend::max_pool2d_backward_impl(const Pool2dShape& shape, const float* x,
                                            const float* y, const float* dy,
                                            const std::int32_t* /*argmax*/, float* dx) {
  max_pool_.backward(handle_.get(), shape, x, y, dy, dx);
}

void CudnnBackend::relu_max_pool2d_forward_impl(const Pool2dShape& /*shape*/, const float* /*x*/,
                                                float* /*y*/, std::int32_t* /*argmax*/) {
  throw_no_fusion();
}

void CudnnBackend::relu_max_pool2d_backward_impl(const Pool2dShape& /*shape*/, const float* /*y*/,
                                                 const float* /*dy*/,
                                                 const std::int32_t* /*argmax*/, float* /*dx*/) {
  throw_no_fusion();
}

void CudnnBackend::relu_forward_impl(std::int64_t count, const float* x, float* y) {
  relu_.forward(handle_.get(), count, x, y);
}

void CudnnBackend::relu_backward_impl(std::int64_t count, const float* y, const float* dy,
                                      float* dx) {
  relu_.backward(handle_.get(), count, y, dy, dx);
}

void CudnnBackend::sigmoid_forward_impl(std::int64_t count, const float* x, float* y) {
  sigmoid_.forward(handle_.get(), count, x, y);
}

void CudnnBackend::sigmoid_backward_impl(std::int64_t count, const float* y, const float* dy,
                                         float* dx) {
  sigmoid_.backward(handle_.get(), count, y, dy, dx);
}

std::size_t CudnnBackend::dropout_reserve_bytes(std::int64_t count) const {
  return dropout_.reserve_bytes(count);
}

void CudnnBackend::dropout_forward_impl(std::int64_t count, float p, std::uint32_t /*mask_stream*/,
                                        const StepCounters* /*counters*/, const float* x, float* y,
                                        std::span<std::byte> reserve) {
  dropout_.forward(handle_.get(), count, p, x, y, reserve);
}

void CudnnBackend::dropout_backward_impl(std::int64_t count, float p, std::uint32_t /*mask_stream*/,
                                         const StepCounters* /*counters*/, const float* dy,
                                         float* dx, std::span<std::byte> reserve) {
  dropout_.backward(handle_.get(), count, p, dy, dx, reserve);
}

void CudnnBackend::softmax_cross_entropy_impl(int batch, int classes, const float* logits,
                                              const std::int32_t* labels, float* loss,
                                              float* dlogits) {
  softmax_cross_entropy_(handle_.get(), stream_, batch, classes, logits, labels, loss, dlogits);
}

}  // namespace kiln::cudnn
