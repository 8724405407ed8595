#include "kernels/cuda/backend.h"

#include "kernels/cuda/batch.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/conv2d.h"
#include "kernels/cuda/dropout.h"
#include "kernels/cuda/linear.h"
#include "kernels/cuda/max_pool2d.h"
#include "kernels/cuda/optimizers.h"
#include "kernels/cuda/relu.h"
#include "kernels/cuda/shuffle.h"
#include "kernels/cuda/sigmoid.h"
#include "kernels/cuda/softmax_cross_entropy.h"

namespace kiln::cuda {

CudaBackend::CudaBackend(cudaStream_t stream, CudaBackendOptions options)
    : stream_(stream), cublas_(stream, options.allow_tf32) {}

std::size_t CudaBackend::conv2d_workspace_bytes(const Conv2dShape& shape) const {
  return cuda::conv2d_workspace_bytes(shape);
}

void CudaBackend::conv2d_forward_impl(const Conv2dShape& shape, const float* x, const float* weight,
                                      const float* bias, float* y,
                                      std::span<std::byte> /*workspace*/) {
  cuda::conv2d_forward(shape, x, weight, bias, y, stream_);
}

void CudaBackend::conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy,
                                            const float* weight, float* dx,
                                            std::span<std::byte> /*workspace*/) {
  cuda::conv2d_backward_data(shape, dy, weight, dx, stream_);
}

void CudaBackend::conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x,
                                              const float* dy, float* dweight,
                                              std::span<std::byte> workspace) {
  cuda::conv2d_backward_filter(shape, x, dy, dweight, workspace, stream_);
}

void CudaBackend::conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy,
                                            float* dbias) {
  cuda::conv2d_backward_bias(shape, dy, dbias, stream_);
}

void CudaBackend::max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                          std::int32_t* argmax) {
  cuda::max_pool2d_forward(shape, x, y, argmax, stream_);
}

void CudaBackend::max_pool2d_backward_impl(const Pool2dShape& shape, const float* x, const float* y,
                                           const float* dy, const std::int32_t* argmax, float* dx) {
  cuda::max_pool2d_backward(shape, x, y, dy, argmax, dx, stream_);
}

void CudaBackend::relu_max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                               std::int32_t* argmax) {
  cuda::relu_max_pool2d_forward(shape, x, y, argmax, stream_);
}

void CudaBackend::relu_max_pool2d_backward_impl(const Pool2dShape& shape, const float* y,
                                                const float* dy, const std::int32_t* argmax,
                                                float* dx) {
  cuda::relu_max_pool2d_backward(shape, y, dy, argmax, dx, stream_);
}

void CudaBackend::relu_forward_impl(std::int64_t count, const float* x, float* y) {
  cuda::relu_forward(count, x, y, stream_);
}

void CudaBackend::relu_backward_impl(std::int64_t count, const float* y, const float* dy,
                                     float* dx) {
  cuda::relu_backward(count, y, dy, dx, stream_);
}

void CudaBackend::sigmoid_forward_impl(std::int64_t count, const float* x, float* y) {
  cuda::sigmoid_forward(count, x, y, stream_);
}

void CudaBackend::sigmoid_backward_impl(std::int64_t count, const float* y, const float* dy,
                                        float* dx) {
  cuda::sigmoid_backward(count, y, dy, dx, stream_);
}

void CudaBackend::dropout_forward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                       const StepCounters* counters, const float* x, float* y,
                                       std::span<std::byte> /*reserve*/) {
  cuda::dropout_forward(count, p, mask_stream, counters, x, y, stream_);
}

void CudaBackend::dropout_backward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                        const StepCounters* counters, const float* dy, float* dx,
                                        std::span<std::byte> /*reserve*/) {
  cuda::dropout_backward(count, p, mask_stream, counters, dy, dx, stream_);
}

void CudaBackend::softmax_cross_entropy_impl(int batch, int classes, const float* logits,
                                             const std::int32_t* labels, float* loss,
                                             float* dlogits) {
  cuda::softmax_cross_entropy(batch, classes, logits, labels, loss, dlogits, stream_);
}

void CudaBackend::linear_forward_impl(const LinearShape& shape, const float* x, const float* weight,
                                      const float* bias, float* y) {
  cuda::linear_forward(cublas_, shape, x, weight, bias, y);
}

void CudaBackend::linear_backward_data_impl(const LinearShape& shape, const float* dy,
                                            const float* weight, float* dx) {
  cuda::linear_backward_data(cublas_, shape, dy, weight, dx);
}

void CudaBackend::linear_backward_weight_impl(const LinearShape& shape, const float* x,
                                              const float* dy, float* dweight) {
  cuda::linear_backward_weight(cublas_, shape, x, dy, dweight);
}

void CudaBackend::linear_backward_bias_impl(const LinearShape& shape, const float* dy,
                                            float* dbias) {
  cuda::linear_backward_bias(shape, dy, dbias, stream_);
}

void CudaBackend::sgd_step_impl(std::span<const ParameterSlot> parameters, float learning_rate) {
  cuda::sgd_step(parameters, learning_rate, stream_);
}

void CudaBackend::adam_step_impl(std::span<const ParameterSlot> parameters,
                                 const AdamConfig& config, const StepCounters* counters) {
  cuda::adam_step(parameters, config, counters, stream_);
}

void CudaBackend::advance_step_impl(StepCounters* counters) {
  cuda::advance_step(counters, stream_);
}

std::size_t CudaBackend::shuffle_workspace_bytes(std::int64_t count) const {
  return cuda::shuffle_workspace_bytes(count);
}

void CudaBackend::shuffle_indices_impl(std::int64_t count, std::uint64_t seed,
                                       std::uint32_t random_stream, std::uint64_t step,
                                       const std::int32_t* source, std::int32_t* order,
                                       std::span<std::byte> workspace) {
  cuda::shuffle_indices(count, seed, random_stream, step, source, order, workspace.data(),
                        workspace.size(), stream_);
}

void CudaBackend::gather_batch_impl(const std::uint8_t* images, const std::uint8_t* labels,
                                    std::int64_t image_elements, const std::int32_t* indices,
                                    int batch, float* x, std::int32_t* y) {
  cuda::gather_batch(images, labels, image_elements, indices, batch, x, y, stream_);
}

void CudaBackend::count_correct_impl(int batch, int classes, const float* logits,
                                     const std::int32_t* labels, std::int64_t* correct) {
  cuda::count_correct(batch, classes, logits, labels, correct, stream_);
}

}  // namespace kiln::cuda
