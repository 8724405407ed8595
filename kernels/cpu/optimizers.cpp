// SGD and Adam as torch/optim/sgd.py and torch/optim/adam.py (_single_tensor_adam) compute them
// on float32 tensors. PyTorch's scalars are Python doubles: the bias corrections and the step size
// are computed in double, and each scalar is rounded to float32 where a tensor op takes it; the
// tensor ops then run in float32. PyTorch's CPU kernels fuse `a + alpha * b` (add_ with alpha,
// addcmul_) into one fused multiply-add, so std::fma stands where they do; with it the results
// agree with PyTorch bit for bit (checked by tests/kernels/cpu/optimizers_test.cpp). No other
// expression here is a multiply feeding an add, so compiler FMA contraction cannot change them.
#include "kernels/cpu/optimizers.h"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <stdexcept>

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {
namespace {

void validate_slots(std::span<const ParameterSlot> parameters, const char* op, bool needs_moments) {
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const ParameterSlot& slot = parameters[i];
    if (slot.count < 0) {
      throw std::invalid_argument(fmt::format(
          "{}: parameter slot {}: count must not be negative, got {}", op, i, slot.count));
    }
    const auto require = [&](const void* pointer, const char* field) {
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

void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate) {
  if (!(learning_rate >= 0.0f)) {
    throw std::invalid_argument(
        fmt::format("sgd_step: learning_rate must be non-negative, got {}", learning_rate));
  }
  validate_slots(parameters, "sgd_step", /*needs_moments=*/false);
  // param.add_(grad, alpha=-lr): alpha is the Python double lr rounded to float, which is
  // exactly kiln's float, and the kernel rounds once (fused multiply-add).
  const float alpha = -learning_rate;
  for (const ParameterSlot& slot : parameters) {
    parallel_ranges(slot.count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        slot.value[i] = std::fma(alpha, slot.grad[i], slot.value[i]);
      }
    });
  }
}

void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
               const StepCounters* counters) {
  if (counters == nullptr) throw std::invalid_argument("adam_step: counters is null");
  if (!(config.learning_rate >= 0.0) || !(config.beta1 >= 0.0 && config.beta1 < 1.0) ||
      !(config.beta2 >= 0.0 && config.beta2 < 1.0) || !(config.epsilon >= 0.0)) {
    throw std::invalid_argument(fmt::format(
        "adam_step: need learning_rate >= 0, 0 <= beta1, beta2 < 1 and epsilon >= 0, got "
        "learning_rate {}, beta1 {}, beta2 {}, epsilon {}",
        config.learning_rate, config.beta1, config.beta2, config.epsilon));
  }
  validate_slots(parameters, "adam_step", /*needs_moments=*/true);

  // Python floats (double), as adam.py computes them. PyTorch keeps the step count in a float32
  // tensor and reads it with .item(), which is exact up to 2^24 steps.
  const double learning_rate = config.learning_rate;
  const double beta1 = config.beta1;
  const double beta2 = config.beta2;
  const double t = static_cast<double>(counters->step + 1);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  const double step_size = learning_rate / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);

  // Each scalar as the float32 tensor op takes it: the double rounded to float; 1 - beta1 is
  // rounded from the double difference, not taken in float.
  const float beta1_float = static_cast<float>(beta1);
  const float beta2_float = static_cast<float>(beta2);
  const float epsilon = static_cast<float>(config.epsilon);
  const float one_minus_beta1 = static_cast<float>(1.0 - beta1);
  const float one_minus_beta2 = static_cast<float>(1.0 - beta2);
  const float denominator_scale = static_cast<float>(bias_correction2_sqrt);
  const float negative_step_size = static_cast<float>(-step_size);

  for (const ParameterSlot& slot : parameters) {
    parallel_ranges(slot.count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const float grad = slot.grad[i];
        // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
        const float exp_avg = std::fma(one_minus_beta1, grad, slot.exp_avg[i] * beta1_float);
        // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): (value * grad) * grad + v
        const float exp_avg_sq =
            std::fma(one_minus_beta2 * grad, grad, slot.exp_avg_sq[i] * beta2_float);
        // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
        const float denominator = std::sqrt(exp_avg_sq) / denominator_scale + epsilon;
        // param.addcdiv_(exp_avg, denom, value=-step_size): param + value * exp_avg / denom
        slot.value[i] += negative_step_size * exp_avg / denominator;
        slot.exp_avg[i] = exp_avg;
        slot.exp_avg_sq[i] = exp_avg_sq;
      }
    });
  }
}

void advance_step(StepCounters* counters) {
  if (counters == nullptr) throw std::invalid_argument("advance_step: counters is null");
  ++counters->step;
}

}  // namespace kiln::cpu
