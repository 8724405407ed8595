#include "kernels/engine_mix.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace kiln {

std::string_view op_family_name(OpFamily family) {
  switch (family) {
    case OpFamily::conv:
      return "conv";
    case OpFamily::pool:
      return "pool";
    case OpFamily::activation:
      return "activation";
    case OpFamily::dropout:
      return "dropout";
    case OpFamily::softmax:
      return "softmax";
  }
  return "?";
}

bool FamilyRouting::none() const {
  return std::none_of(to_other_.begin(), to_other_.end(), [](bool b) { return b; });
}

bool FamilyRouting::all() const {
  return std::all_of(to_other_.begin(), to_other_.end(), [](bool b) { return b; });
}

EngineMix::EngineMix(Backend& base, Backend& other, FamilyRouting routing)
    : base_(base), other_(other), routing_(routing) {
  if (base.memory_space() != other.memory_space()) {
    throw std::invalid_argument(fmt::format("an engine mix of {} and {}: different memory spaces",
                                            base.name(), other.name()));
  }
  std::string families;
  for (const OpFamily family : kOpFamilies) {
    if (!routing.to_other(family)) continue;
    families += fmt::format("{}{}", families.empty() ? "" : ", ", op_family_name(family));
  }
  name_ = families.empty() ? std::string(base.name())
                           : fmt::format("{} ({}: {})", base.name(), families, other.name());
}

std::size_t EngineMix::conv2d_workspace_bytes(const Conv2dShape& shape) const {
  return engine(OpFamily::conv).conv2d_workspace_bytes(shape);
}

void EngineMix::conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                               const float* bias, float* y, std::span<std::byte> workspace) {
  engine(OpFamily::conv).conv2d_forward(shape, x, weight, bias, y, workspace);
}

void EngineMix::conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight,
                                     float* dx, std::span<std::byte> workspace) {
  engine(OpFamily::conv).conv2d_backward_data(shape, dy, weight, dx, workspace);
}

void EngineMix::conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                                       float* dweight, std::span<std::byte> workspace) {
  engine(OpFamily::conv).conv2d_backward_filter(shape, x, dy, dweight, workspace);
}

void EngineMix::conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias) {
  engine(OpFamily::conv).conv2d_backward_bias(shape, dy, dbias);
}

void EngineMix::max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                                   std::int32_t* argmax) {
  engine(OpFamily::pool).max_pool2d_forward(shape, x, y, argmax);
}

void EngineMix::max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y,
                                    const float* dy, const std::int32_t* argmax, float* dx) {
  engine(OpFamily::pool).max_pool2d_backward(shape, x, y, dy, argmax, dx);
}

bool EngineMix::fuses_relu_max_pool() const {
  return !routing_.to_other(OpFamily::pool) && !routing_.to_other(OpFamily::activation) &&
         base_.fuses_relu_max_pool();
}

Backend& EngineMix::fused_engine() const {
  if (!fuses_relu_max_pool()) {
    throw std::logic_error(fmt::format(
        "{} cannot fuse ReLU into max pooling: pool and activation must both run on {}, which "
        "must fuse them",
        name_, base_.name()));
  }
  return engine(OpFamily::pool);
}

void EngineMix::relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                                        std::int32_t* argmax) {
  fused_engine().relu_max_pool2d_forward(shape, x, y, argmax);
}

void EngineMix::relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                                         const std::int32_t* argmax, float* dx) {
  fused_engine().relu_max_pool2d_backward(shape, y, dy, argmax, dx);
}

void EngineMix::relu_forward(std::int64_t count, const float* x, float* y) {
  engine(OpFamily::activation).relu_forward(count, x, y);
}

void EngineMix::relu_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  engine(OpFamily::activation).relu_backward(count, y, dy, dx);
}

void EngineMix::sigmoid_forward(std::int64_t count, const float* x, float* y) {
  engine(OpFamily::activation).sigmoid_forward(count, x, y);
}

void EngineMix::sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  engine(OpFamily::activation).sigmoid_backward(count, y, dy, dx);
}

std::size_t EngineMix::dropout_reserve_bytes(std::int64_t count) const {
  return engine(OpFamily::dropout).dropout_reserve_bytes(count);
}

void EngineMix::dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                                const StepCounters* counters, const float* x, float* y,
                                std::span<std::byte> reserve) {
  engine(OpFamily::dropout).dropout_forward(count, p, mask_stream, counters, x, y, reserve);
}

void EngineMix::dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                                 const StepCounters* counters, const float* dy, float* dx,
                                 std::span<std::byte> reserve) {
  engine(OpFamily::dropout).dropout_backward(count, p, mask_stream, counters, dy, dx, reserve);
}

void EngineMix::softmax_cross_entropy(int batch, int classes, const float* logits,
                                      const std::int32_t* labels, float* loss, float* dlogits) {
  engine(OpFamily::softmax).softmax_cross_entropy(batch, classes, logits, labels, loss, dlogits);
}

void EngineMix::linear_forward(const LinearShape& shape, const float* x, const float* weight,
                               const float* bias, float* y) {
  base_.linear_forward(shape, x, weight, bias, y);
}

void EngineMix::linear_backward_data(const LinearShape& shape, const float* dy, const float* weight,
                                     float* dx) {
  base_.linear_backward_data(shape, dy, weight, dx);
}

void EngineMix::linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                                       float* dweight) {
  base_.linear_backward_weight(shape, x, dy, dweight);
}

void EngineMix::linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias) {
  base_.linear_backward_bias(shape, dy, dbias);
}

void EngineMix::sgd_step(std::span<const ParameterSlot> parameters, float learning_rate) {
  base_.sgd_step(parameters, learning_rate);
}

void EngineMix::adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                          const StepCounters* counters) {
  base_.adam_step(parameters, config, counters);
}

void EngineMix::advance_step(StepCounters* counters) { base_.advance_step(counters); }

std::size_t EngineMix::shuffle_workspace_bytes(std::int64_t count) const {
  return base_.shuffle_workspace_bytes(count);
}

void EngineMix::shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                                std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                                std::span<std::byte> workspace) {
  base_.shuffle_indices(count, seed, random_stream, step, source, order, workspace);
}

void EngineMix::gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                             std::int64_t image_elements, const std::int32_t* indices, int batch,
                             float* x, std::int32_t* y) {
  base_.gather_batch(images, labels, image_elements, indices, batch, x, y);
}

void EngineMix::count_correct(int batch, int classes, const float* logits,
                              const std::int32_t* labels, std::int64_t* correct) {
  base_.count_correct(batch, classes, logits, labels, correct);
}

}  // namespace kiln
