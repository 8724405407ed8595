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

void CudnnBackend::conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                                  const float* bias, float* y, std::span<std::byte> workspace) {
  convolution(shape, workspace.size()).forward(handle_.get(), x, weight, bias, y, workspace);
}

void CudnnBackend::conv2d_backward_data(const Conv2dShape& shape, const float* dy,
                                        const float* weight, float* dx,
                                        std::span<std::byte> workspace) {
  convolution(shape, workspace.size()).backward_data(handle_.get(), dy, weight, dx, workspace);
}

void CudnnBackend::conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                                          float* dweight, std::span<std::byte> workspace) {
  convolution(shape, workspace.size()).backward_filter(handle_.get(), x, dy, dweight, workspace);
}

void CudnnBackend::conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias) {
  cudnn::conv2d_backward_bias(handle_.get(), shape, dy, dbias, bias_dy_, bias_);
}

void CudnnBackend::max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                                      std::int32_t* /*argmax*/) {
  max_pool_.forward(handle_.get(), shape, x, y);
}

void CudnnBackend::max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y,
                                       const float* dy, const std::int32_t* /*argmax*/, float* dx) {
  max_pool_.backward(handle_.get(), shape, x, y, dy, dx);
}

void CudnnBackend::relu_max_pool2d_forward(const Pool2dShape& /*shape*/, const float* /*x*/,
                                           float* /*y*/, std::int32_t* /*argmax*/) {
  throw_no_fusion();
}

void CudnnBackend::relu_max_pool2d_backward(const Pool2dShape& /*shape*/, const float* /*y*/,
                                            const float* /*dy*/, const std::int32_t* /*argmax*/,
                                            float* /*dx*/) {
  throw_no_fusion();
}

void CudnnBackend::relu_forward(std::int64_t count, const float* x, float* y) {
  relu_.forward(handle_.get(), count, x, y);
}

void CudnnBackend::relu_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  relu_.backward(handle_.get(), count, y, dy, dx);
}

void CudnnBackend::sigmoid_forward(std::int64_t count, const float* x, float* y) {
  sigmoid_.forward(handle_.get(), count, x, y);
}

void CudnnBackend::sigmoid_backward(std::int64_t count, const float* y, const float* dy,
                                    float* dx) {
  sigmoid_.backward(handle_.get(), count, y, dy, dx);
}

std::size_t CudnnBackend::dropout_reserve_bytes(std::int64_t count) const {
  return dropout_.reserve_bytes(count);
}

void CudnnBackend::dropout_forward(std::int64_t count, float p, std::uint32_t /*mask_stream*/,
                                   const StepCounters* /*counters*/, const float* x, float* y,
                                   std::span<std::byte> reserve) {
  dropout_.forward(handle_.get(), count, p, x, y, reserve);
}

void CudnnBackend::dropout_backward(std::int64_t count, float p, std::uint32_t /*mask_stream*/,
                                    const StepCounters* /*counters*/, const float* dy, float* dx,
                                    std::span<std::byte> reserve) {
  dropout_.backward(handle_.get(), count, p, dy, dx, reserve);
}

void CudnnBackend::softmax_cross_entropy(int batch, int classes, const float* logits,
                                         const std::int32_t* labels, float* loss, float* dlogits) {
  softmax_cross_entropy_(handle_.get(), stream_, batch, classes, logits, labels, loss, dlogits);
}

void CudnnBackend::linear_forward(const LinearShape& shape, const float* x, const float* weight,
                                  const float* bias, float* y) {
  custom_.linear_forward(shape, x, weight, bias, y);
}

void CudnnBackend::linear_backward_data(const LinearShape& shape, const float* dy,
                                        const float* weight, float* dx) {
  custom_.linear_backward_data(shape, dy, weight, dx);
}

void CudnnBackend::linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                                          float* dweight) {
  custom_.linear_backward_weight(shape, x, dy, dweight);
}

void CudnnBackend::linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias) {
  custom_.linear_backward_bias(shape, dy, dbias);
}

void CudnnBackend::sgd_step(std::span<const ParameterSlot> parameters, float learning_rate) {
  custom_.sgd_step(parameters, learning_rate);
}

void CudnnBackend::adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                             const StepCounters* counters) {
  custom_.adam_step(parameters, config, counters);
}

void CudnnBackend::advance_step(StepCounters* counters) { custom_.advance_step(counters); }

std::size_t CudnnBackend::shuffle_workspace_bytes(std::int64_t count) const {
  return custom_.shuffle_workspace_bytes(count);
}

void CudnnBackend::shuffle_indices(std::int64_t count, std::uint64_t seed,
                                   std::uint32_t random_stream, std::uint64_t step,
                                   const std::int32_t* source, std::int32_t* order,
                                   std::span<std::byte> workspace) {
  custom_.shuffle_indices(count, seed, random_stream, step, source, order, workspace);
}

void CudnnBackend::gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                                std::int64_t image_elements, const std::int32_t* indices, int batch,
                                float* x, std::int32_t* y) {
  custom_.gather_batch(images, labels, image_elements, indices, batch, x, y);
}

void CudnnBackend::count_correct(int batch, int classes, const float* logits,
                                 const std::int32_t* labels, std::int64_t* correct) {
  custom_.count_correct(batch, classes, logits, labels, correct);
}

}  // namespace kiln::cudnn
