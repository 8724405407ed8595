#include "kernels/cpu/backend.h"

#include "kernels/cpu/batch.h"
#include "kernels/cpu/conv2d.h"
#include "kernels/cpu/dropout.h"
#include "kernels/cpu/linear.h"
#include "kernels/cpu/max_pool2d.h"
#include "kernels/cpu/optimizers.h"
#include "kernels/cpu/relu.h"
#include "kernels/cpu/shuffle.h"
#include "kernels/cpu/sigmoid.h"
#include "kernels/cpu/softmax_cross_entropy.h"

namespace kiln::cpu {

std::size_t CpuBackend::conv2d_workspace_bytes(const Conv2dShape& shape) const {
  return cpu::conv2d_workspace_bytes(shape);
}

void CpuBackend::conv2d_forward_impl(const Conv2dShape& shape, const float* x, const float* weight,
                                     const float* bias, float* y, std::span<std::byte> workspace) {
  cpu::conv2d_forward(shape, x, weight, bias, y, workspace);
}

void CpuBackend::conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy,
                                           const float* weight, float* dx,
                                           std::span<std::byte> workspace) {
  cpu::conv2d_backward_data(shape, dy, weight, dx, workspace);
}

void CpuBackend::conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x,
                                             const float* dy, float* dweight,
                                             std::span<std::byte> workspace) {
  cpu::conv2d_backward_filter(shape, x, dy, dweight, workspace);
}

void CpuBackend::conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy,
                                           float* dbias) {
  cpu::conv2d_backward_bias(shape, dy, dbias);
}

void CpuBackend::max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                         std::int32_t* argmax) {
  cpu::max_pool2d_forward(shape, x, y, argmax);
}

void CpuBackend::max_pool2d_backward_impl(const Pool2dShape& shape, const float* x, const float* y,
                                          const float* dy, const std::int32_t* argmax, float* dx) {
  cpu::max_pool2d_backward(shape, x, y, dy, argmax, dx);
}

void CpuBackend::relu_max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                              std::int32_t* argmax) {
  cpu::relu_max_pool2d_forward(shape, x, y, argmax);
}

void CpuBackend::relu_max_pool2d_backward_impl(const Pool2dShape& shape, const float* y,
                                               const float* dy, const std::int32_t* argmax,
                                               float* dx) {
  cpu::relu_max_pool2d_backward(shape, y, dy, argmax, dx);
}

void CpuBackend::relu_forward_impl(std::int64_t count, const float* x, float* y) {
  cpu::relu_forward(count, x, y);
}

void CpuBackend::relu_backward_impl(std::int64_t count, const float* y, const float* dy,
                                    float* dx) {
  cpu::relu_backward(count, y, dy, dx);
}

void CpuBackend::sigmoid_forward_impl(std::int64_t count, const float* x, float* y) {
  cpu::sigmoid_forward(count, x, y);
}

void CpuBackend::sigmoid_backward_impl(std::int64_t count, const float* y, const float* dy,
                                       float* dx) {
  cpu::sigmoid_backward(count, y, dy, dx);
}

void CpuBackend::dropout_forward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                      const StepCounters* counters, const float* x, float* y,
                                      std::span<std::byte> /*reserve*/) {
  cpu::dropout_forward(count, p, mask_stream, counters, x, y);
}

void CpuBackend::dropout_backward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                       const StepCounters* counters, const float* dy, float* dx,
                                       std::span<std::byte> /*reserve*/) {
  cpu::dropout_backward(count, p, mask_stream, counters, dy, dx);
}

void CpuBackend::softmax_cross_entropy_impl(int batch, int classes, const float* logits,
                                            const std::int32_t* labels, float* loss,
                                            float* dlogits) {
  cpu::softmax_cross_entropy(batch, classes, logits, labels, loss, dlogits);
}

void CpuBackend::linear_forward_impl(const LinearShape& shape, const float* x, const float* weight,
                                     const float* bias, float* y) {
  cpu::linear_forward(shape, x, weight, bias, y);
}

void CpuBackend::linear_backward_data_impl(const LinearShape& shape, const float* dy,
                                           const float* weight, float* dx) {
  cpu::linear_backward_data(shape, dy, weight, dx);
}

void CpuBackend::linear_backward_weight_impl(const LinearShape& shape, const float* x,
                                             const float* dy, float* dweight) {
  cpu::linear_backward_weight(shape, x, dy, dweight);
}

void CpuBackend::linear_backward_bias_impl(const LinearShape& shape, const float* dy,
                                           float* dbias) {
  cpu::linear_backward_bias(shape, dy, dbias);
}

void CpuBackend::sgd_step_impl(std::span<const ParameterSlot> parameters, float learning_rate) {
  cpu::sgd_step(parameters, learning_rate);
}

void CpuBackend::adam_step_impl(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                                const StepCounters* counters) {
  cpu::adam_step(parameters, config, counters);
}

void CpuBackend::advance_step_impl(StepCounters* counters) { cpu::advance_step(counters); }

std::size_t CpuBackend::shuffle_workspace_bytes(std::int64_t /*count*/) const { return 0; }

void CpuBackend::shuffle_indices_impl(std::int64_t count, std::uint64_t seed,
                                      std::uint32_t random_stream, std::uint64_t step,
                                      const std::int32_t* source, std::int32_t* order,
                                      std::span<std::byte> /*workspace*/) {
  cpu::shuffle_indices(count, seed, random_stream, step, source, order);
}

void CpuBackend::gather_batch_impl(const std::uint8_t* images, const std::uint8_t* labels,
                                   std::int64_t image_elements, const std::int32_t* indices,
                                   int batch, float* x, std::int32_t* y) {
  cpu::gather_batch(images, labels, image_elements, indices, batch, x, y);
}

void CpuBackend::count_correct_impl(int batch, int classes, const float* logits,
                                    const std::int32_t* labels, std::int64_t* correct) {
  cpu::count_correct(batch, classes, logits, labels, correct);
}

}  // namespace kiln::cpu
