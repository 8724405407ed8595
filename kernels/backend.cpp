// The checks of kernels/backend.h's contract, once for every engine: each public op checks its
// arguments here and then calls the engine's <op>_impl. Pointers are checked only where the op
// has elements to read or write, as the engines did; what an engine may ignore (argmax, x and y
// of pooling's backward, dropout's counters and reserve) is left to the engine that needs it.
#include "kernels/backend.h"

#include <fmt/format.h>

#include <stdexcept>

#include "kernels/arguments.h"

namespace kiln {
namespace {

void require_positive(int value, std::string_view op, std::string_view name) {
  if (value <= 0) {
    throw std::invalid_argument(fmt::format("{}: {} must be positive, got {}", op, name, value));
  }
}

void require_not_negative(std::int64_t value, std::string_view op, std::string_view name) {
  if (value < 0) {
    throw std::invalid_argument(
        fmt::format("{}: {} must not be negative, got {}", op, name, value));
  }
}

// Written so that NaN fails too; p = 1 would drop everything and scale by infinity.
void require_probability(float p, std::string_view op) {
  if (!(p >= 0.0f && p < 1.0f)) {
    throw std::invalid_argument(fmt::format("{}: p must be in [0, 1), got {}", op, p));
  }
}

void require_counters(const StepCounters* counters, std::string_view op) {
  if (counters == nullptr) throw std::invalid_argument(fmt::format("{}: counters is null", op));
}

// Each slot's count is non-negative and, where it holds elements, its value and grad (and Adam's
// two moments when `needs_moments`) are set: "<op>: parameter slot <i>: <field> is null".
void validate_parameter_slots(std::span<const ParameterSlot> parameters, std::string_view op,
                              bool needs_moments) {
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSlot& slot = parameters[i];
    if (slot.count < 0) {
      throw std::invalid_argument(fmt::format(
          "{}: parameter slot {}: count must not be negative, got {}", op, i, slot.count));
    }
    const auto require = [&](const void* pointer, std::string_view field) {
      if (slot.count > 0 && pointer == nullptr) {
        throw std::invalid_argument(fmt::format("{}: parameter slot {}: {} is null", op, i, field));
      }
    };
    require(slot.value, "value");
    require(slot.grad, "grad");
    if (needs_moments) {
      require(slot.exp_avg, "exp_avg");
      require(slot.exp_avg_sq, "exp_avg_sq");
    }
  }
}

}  // namespace

void Backend::conv2d_forward(const Conv2dShape& shape, const float* x, const float* weight,
                             const float* bias, float* y, std::span<std::byte> workspace) {
  shape.validate();
  require_non_null(x, "conv2d_forward", "x");
  require_non_null(weight, "conv2d_forward", "weight");
  require_non_null(y, "conv2d_forward", "y");
  conv2d_forward_impl(shape, x, weight, bias, y, workspace);
}

void Backend::conv2d_backward_data(const Conv2dShape& shape, const float* dy, const float* weight,
                                   float* dx, std::span<std::byte> workspace) {
  shape.validate();
  require_non_null(dy, "conv2d_backward_data", "dy");
  require_non_null(weight, "conv2d_backward_data", "weight");
  require_non_null(dx, "conv2d_backward_data", "dx");
  conv2d_backward_data_impl(shape, dy, weight, dx, workspace);
}

void Backend::conv2d_backward_filter(const Conv2dShape& shape, const float* x, const float* dy,
                                     float* dweight, std::span<std::byte> workspace) {
  shape.validate();
  require_non_null(x, "conv2d_backward_filter", "x");
  require_non_null(dy, "conv2d_backward_filter", "dy");
  require_non_null(dweight, "conv2d_backward_filter", "dweight");
  conv2d_backward_filter_impl(shape, x, dy, dweight, workspace);
}

void Backend::conv2d_backward_bias(const Conv2dShape& shape, const float* dy, float* dbias) {
  shape.validate();
  require_non_null(dy, "conv2d_backward_bias", "dy");
  require_non_null(dbias, "conv2d_backward_bias", "dbias");
  conv2d_backward_bias_impl(shape, dy, dbias);
}

void Backend::max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                                 std::int32_t* argmax) {
  shape.validate();
  require_non_null(x, "max_pool2d_forward", "x");
  require_non_null(y, "max_pool2d_forward", "y");
  max_pool2d_forward_impl(shape, x, y, argmax);
}

void Backend::max_pool2d_backward(const Pool2dShape& shape, const float* x, const float* y,
                                  const float* dy, const std::int32_t* argmax, float* dx) {
  shape.validate();
  require_non_null(dy, "max_pool2d_backward", "dy");
  require_non_null(dx, "max_pool2d_backward", "dx");
  max_pool2d_backward_impl(shape, x, y, dy, argmax, dx);
}

void Backend::relu_max_pool2d_forward(const Pool2dShape& shape, const float* x, float* y,
                                      std::int32_t* argmax) {
  shape.validate();
  require_non_null(x, "relu_max_pool2d_forward", "x");
  require_non_null(y, "relu_max_pool2d_forward", "y");
  require_non_null(argmax, "relu_max_pool2d_forward", "argmax");
  relu_max_pool2d_forward_impl(shape, x, y, argmax);
}

void Backend::relu_max_pool2d_backward(const Pool2dShape& shape, const float* y, const float* dy,
                                       const std::int32_t* argmax, float* dx) {
  shape.validate();
  require_non_null(y, "relu_max_pool2d_backward", "y");
  require_non_null(dy, "relu_max_pool2d_backward", "dy");
  require_non_null(argmax, "relu_max_pool2d_backward", "argmax");
  require_non_null(dx, "relu_max_pool2d_backward", "dx");
  relu_max_pool2d_backward_impl(shape, y, dy, argmax, dx);
}

namespace {

void check_unary(std::string_view op, std::int64_t count, const float* in, const float* out) {
  require_not_negative(count, op, "count");
  if (count == 0) return;
  require_non_null(in, op, "x");
  require_non_null(out, op, "y");
}

void check_gradient(std::string_view op, std::int64_t count, const float* y, const float* dy,
                    const float* dx) {
  require_not_negative(count, op, "count");
  if (count == 0) return;
  require_non_null(y, op, "y");
  require_non_null(dy, op, "dy");
  require_non_null(dx, op, "dx");
}

void check_dropout(std::string_view op, std::int64_t count, float p, const float* in,
                   const float* out) {
  require_not_negative(count, op, "count");
  require_probability(p, op);
  if (count == 0) return;
  require_non_null(in, op, "the input");
  require_non_null(out, op, "the output");
}

}  // namespace

void Backend::relu_forward(std::int64_t count, const float* x, float* y) {
  check_unary("relu_forward", count, x, y);
  relu_forward_impl(count, x, y);
}

void Backend::relu_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  check_gradient("relu_backward", count, y, dy, dx);
  relu_backward_impl(count, y, dy, dx);
}

void Backend::sigmoid_forward(std::int64_t count, const float* x, float* y) {
  check_unary("sigmoid_forward", count, x, y);
  sigmoid_forward_impl(count, x, y);
}

void Backend::sigmoid_backward(std::int64_t count, const float* y, const float* dy, float* dx) {
  check_gradient("sigmoid_backward", count, y, dy, dx);
  sigmoid_backward_impl(count, y, dy, dx);
}

void Backend::dropout_forward(std::int64_t count, float p, std::uint32_t mask_stream,
                              const StepCounters* counters, const float* x, float* y,
                              std::span<std::byte> reserve) {
  check_dropout("dropout_forward", count, p, x, y);
  dropout_forward_impl(count, p, mask_stream, counters, x, y, reserve);
}

void Backend::dropout_backward(std::int64_t count, float p, std::uint32_t mask_stream,
                               const StepCounters* counters, const float* dy, float* dx,
                               std::span<std::byte> reserve) {
  check_dropout("dropout_backward", count, p, dy, dx);
  dropout_backward_impl(count, p, mask_stream, counters, dy, dx, reserve);
}

void Backend::softmax_cross_entropy(int batch, int classes, const float* logits,
                                    const std::int32_t* labels, float* loss, float* dlogits) {
  require_positive(batch, "softmax_cross_entropy", "batch");
  require_positive(classes, "softmax_cross_entropy", "classes");
  require_non_null(logits, "softmax_cross_entropy", "logits");
  require_non_null(labels, "softmax_cross_entropy", "labels");
  require_non_null(loss, "softmax_cross_entropy", "loss");
  softmax_cross_entropy_impl(batch, classes, logits, labels, loss, dlogits);
}

void Backend::linear_forward(const LinearShape& shape, const float* x, const float* weight,
                             const float* bias, float* y) {
  shape.validate();
  require_non_null(x, "linear_forward", "x");
  require_non_null(weight, "linear_forward", "weight");
  require_non_null(y, "linear_forward", "y");
  linear_forward_impl(shape, x, weight, bias, y);
}

void Backend::linear_backward_data(const LinearShape& shape, const float* dy, const float* weight,
                                   float* dx) {
  shape.validate();
  require_non_null(dy, "linear_backward_data", "dy");
  require_non_null(weight, "linear_backward_data", "weight");
  require_non_null(dx, "linear_backward_data", "dx");
  linear_backward_data_impl(shape, dy, weight, dx);
}

void Backend::linear_backward_weight(const LinearShape& shape, const float* x, const float* dy,
                                     float* dweight) {
  shape.validate();
  require_non_null(x, "linear_backward_weight", "x");
  require_non_null(dy, "linear_backward_weight", "dy");
  require_non_null(dweight, "linear_backward_weight", "dweight");
  linear_backward_weight_impl(shape, x, dy, dweight);
}

void Backend::linear_backward_bias(const LinearShape& shape, const float* dy, float* dbias) {
  shape.validate();
  require_non_null(dy, "linear_backward_bias", "dy");
  require_non_null(dbias, "linear_backward_bias", "dbias");
  linear_backward_bias_impl(shape, dy, dbias);
}

void Backend::sgd_step(std::span<const ParameterSlot> parameters, float learning_rate) {
  if (!(learning_rate >= 0.0f)) {
    throw std::invalid_argument(
        fmt::format("sgd_step: learning_rate must be non-negative, got {}", learning_rate));
  }
  validate_parameter_slots(parameters, "sgd_step", /*needs_moments=*/false);
  sgd_step_impl(parameters, learning_rate);
}

void Backend::adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
                        const StepCounters* counters) {
  require_counters(counters, "adam_step");
  if (!(config.learning_rate >= 0.0) || !(config.beta1 >= 0.0 && config.beta1 < 1.0) ||
      !(config.beta2 >= 0.0 && config.beta2 < 1.0) || !(config.epsilon >= 0.0)) {
    throw std::invalid_argument(fmt::format(
        "adam_step: need learning_rate >= 0, 0 <= beta1, beta2 < 1 and epsilon >= 0, got "
        "learning_rate {}, beta1 {}, beta2 {}, epsilon {}",
        config.learning_rate, config.beta1, config.beta2, config.epsilon));
  }
  validate_parameter_slots(parameters, "adam_step", /*needs_moments=*/true);
  adam_step_impl(parameters, config, counters);
}

void Backend::advance_step(StepCounters* counters) {
  require_counters(counters, "advance_step");
  advance_step_impl(counters);
}

void Backend::shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                              std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                              std::span<std::byte> workspace) {
  require_not_negative(count, "shuffle_indices", "count");
  if (count > 0) {
    require_non_null(source, "shuffle_indices", "source");
    require_non_null(order, "shuffle_indices", "order");
  }
  shuffle_indices_impl(count, seed, random_stream, step, source, order, workspace);
}

void Backend::gather_batch(const std::uint8_t* images, const std::uint8_t* labels,
                           std::int64_t image_elements, const std::int32_t* indices, int batch,
                           float* x, std::int32_t* y) {
  require_not_negative(batch, "gather_batch", "batch");
  require_not_negative(image_elements, "gather_batch", "image_elements");
  if (batch > 0) {
    require_non_null(labels, "gather_batch", "labels");
    require_non_null(indices, "gather_batch", "indices");
    require_non_null(y, "gather_batch", "y");
    if (image_elements > 0) {
      require_non_null(images, "gather_batch", "images");
      require_non_null(x, "gather_batch", "x");
    }
  }
  gather_batch_impl(images, labels, image_elements, indices, batch, x, y);
}

void Backend::count_correct(int batch, int classes, const float* logits, const std::int32_t* labels,
                            std::int64_t* correct) {
  require_not_negative(batch, "count_correct", "batch");
  require_positive(classes, "count_correct", "classes");
  if (batch > 0) {
    require_non_null(logits, "count_correct", "logits");
    require_non_null(labels, "count_correct", "labels");
    require_non_null(correct, "count_correct", "correct");
  }
  count_correct_impl(batch, classes, logits, labels, correct);
}

}  // namespace kiln
