#include "kernels/routing_backend.h"

namespace kiln {

std::size_t RoutingBackend::conv2d_workspace_bytes(const Conv2dShape& shape) const {
  return engine_for(Op::conv2d_forward).conv2d_workspace_bytes(shape);
}

std::size_t RoutingBackend::dropout_reserve_bytes(std::int64_t count) const {
  return engine_for(Op::dropout_forward).dropout_reserve_bytes(count);
}

std::size_t RoutingBackend::shuffle_workspace_bytes(std::int64_t count) const {
  return engine_for(Op::shuffle_indices).shuffle_workspace_bytes(count);
}

void RoutingBackend::conv2d_forward_impl(const Conv2dShape& shape, const float* x,
                                         const float* weight, const float* bias, float* y,
                                         std::span<std::byte> workspace) {
  engine_for(Op::conv2d_forward).conv2d_forward_impl(shape, x, weight, bias, y, workspace);
}

void RoutingBackend::conv2d_backward_data_impl(const Conv2dShape& shape, const float* dy,
                                               const float* weight, float* dx,
                                               std::span<std::byte> workspace) {
  engine_for(Op::conv2d_backward_data).conv2d_backward_data_impl(shape, dy, weight, dx, workspace);
}

void RoutingBackend::conv2d_backward_filter_impl(const Conv2dShape& shape, const float* x,
                                                 const float* dy, float* dweight,
                                                 std::span<std::byte> workspace) {
  engine_for(Op::conv2d_backward_filter)
      .conv2d_backward_filter_impl(shape, x, dy, dweight, workspace);
}

void RoutingBackend::conv2d_backward_bias_impl(const Conv2dShape& shape, const float* dy,
                                               float* dbias) {
  engine_for(Op::conv2d_backward_bias).conv2d_backward_bias_impl(shape, dy, dbias);
}

void RoutingBackend::max_pool2d_forward_impl(const Pool2dShape& shape, const float* x, float* y,
                                             std::int32_t* argmax) {
  engine_for(Op::max_pool2d_forward).max_pool2d_forward_impl(shape, x, y, argmax);
}

void RoutingBackend::max_pool2d_backward_impl(const Pool2dShape& shape, const float* x,
                                              const float* y, const float* dy,
                                              const std::int32_t* argmax, float* dx) {
  engine_for(Op::max_pool2d_backward).max_pool2d_backward_impl(shape, x, y, dy, argmax, dx);
}

void RoutingBackend::relu_max_pool2d_forward_impl(const Pool2dShape& shape, const float* x,
                                                  float* y, std::int32_t* argmax) {
  engine_for(Op::relu_max_pool2d_forward).relu_max_pool2d_forward_impl(shape, x, y, argmax);
}

void RoutingBackend::relu_max_pool2d_backward_impl(const Pool2dShape& shape, const float* y,
                                                   const float* dy, const std::int32_t* argmax,
                                                   float* dx) {
  engine_for(Op::relu_max_pool2d_backward).relu_max_pool2d_backward_impl(shape, y, dy, argmax, dx);
}

void RoutingBackend::relu_forward_impl(std::int64_t count, const float* x, float* y) {
  engine_for(Op::relu_forward).relu_forward_impl(count, x, y);
}

void RoutingBackend::relu_backward_impl(std::int64_t count, const float* y, const float* dy,
                                        float* dx) {
  engine_for(Op::relu_backward).relu_backward_impl(count, y, dy, dx);
}

void RoutingBackend::sigmoid_forward_impl(std::int64_t count, const float* x, float* y) {
  engine_for(Op::sigmoid_forward).sigmoid_forward_impl(count, x, y);
}

void RoutingBackend::sigmoid_backward_impl(std::int64_t count, const float* y, const float* dy,
                                           float* dx) {
  engine_for(Op::sigmoid_backward).sigmoid_backward_impl(count, y, dy, dx);
}

void RoutingBackend::dropout_forward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                          const StepCounters* counters, const float* x, float* y,
                                          std::span<std::byte> reserve) {
  engine_for(Op::dropout_forward)
      .dropout_forward_impl(count, p, mask_stream, counters, x, y, reserve);
}

void RoutingBackend::dropout_backward_impl(std::int64_t count, float p, std::uint32_t mask_stream,
                                           const StepCounters* counters, const float* dy, float* dx,
                                           std::span<std::byte> reserve) {
  engine_for(Op::dropout_backward)
      .dropout_backward_impl(count, p, mask_stream, counters, dy, dx, reserve);
}

void RoutingBackend::softmax_cross_entropy_impl(int batch, int classes, const float* logits,
                                                const std::int32_t* labels, float* loss,
                                                float* dlogits) {
  engine_for(Op::softmax_cross_entropy)
      .softmax_cross_entropy_impl(batch, classes, logits, labels, loss, dlogits);
}

void RoutingBackend::linear_forward_impl(const LinearShape& shape, const float* x,
                                         const float* weight, const float* bias, float* y) {
  engine_for(Op::linear_forward).linear_forward_impl(shape, x, weight, bias, y);
}

void RoutingBackend::linear_backward_data_impl(const LinearShape& shape, const float* dy,
                                               const float* weight, float* dx) {
  engine_for(Op::linear_backward_data).linear_backward_data_impl(shape, dy, weight, dx);
}

void RoutingBackend::linear_backward_weight_impl(const LinearShape& shape, const float* x,
                                                 const float* dy, float* dweight) {
  engine_for(Op::linear_backward_weight).linear_backward_weight_impl(shape, x, dy, dweight);
}

void RoutingBackend::linear_backward_bias_impl(const LinearShape& shape, const float* dy,
                                               float* dbias) {
  engine_for(Op::linear_backward_bias).linear_backward_bias_impl(shape, dy, dbias);
}

void RoutingBackend::sgd_step_impl(std::span<const ParameterSlot> parameters, float learning_rate) {
  engine_for(Op::sgd_step).sgd_step_impl(parameters, learning_rate);
}

void RoutingBackend::adam_step_impl(std::span<const ParameterSlot> parameters,
                                    const AdamConfig& config, const StepCounters* counters) {
  engine_for(Op::adam_step).adam_step_impl(parameters, config, counters);
}

void RoutingBackend::advance_step_impl(StepCounters* counters) {
  engine_for(Op::advance_step).advance_step_impl(counters);
}

void RoutingBackend::shuffle_indices_impl(std::int64_t count, std::uint64_t seed,
                                          std::uint32_t random_stream, std::uint64_t step,
                                          const std::int32_t* source, std::int32_t* order,
                                          std::span<std::byte> workspace) {
  engine_for(Op::shuffle_indices)
      .shuffle_indices_impl(count, seed, random_stream, step, source, order, workspace);
}

void RoutingBackend::gather_batch_impl(const std::uint8_t* images, const std::uint8_t* labels,
                                       std::int64_t image_elements, const std::int32_t* indices,
                                       int batch, float* x, std::int32_t* y) {
  engine_for(Op::gather_batch)
      .gather_batch_impl(images, labels, image_elements, indices, batch, x, y);
}

void RoutingBackend::count_correct_impl(int batch, int classes, const float* logits,
                                        const std::int32_t* labels, std::int64_t* correct) {
  engine_for(Op::count_correct).count_correct_impl(batch, classes, logits, labels, correct);
}

}  // namespace kiln
