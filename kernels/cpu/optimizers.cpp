// SGD and Adam as torch/optim/sgd.py and torch/optim/adam.py (_single_tensor_adam) compute them
// on float32 tensors. PyTorch's scalars are Python doubles: the bias corrections and the step size
// are computed in double, and each scalar is rounded to float32 where a tensor op takes it; the
// tensor ops then run in float32. PyTorch's CPU kernels fuse `a + alpha * b` (add_ with alpha,
// addcmul_) into one fused multiply-add, so std::fma stands where they do; with it the results
// agree with PyTorch bit for bit (checked by tests/kernels/cpu/optimizers_test.cpp). No other
// expression here is a multiply feeding an add, so compiler FMA contraction cannot change them.
//
// Where the processor has AVX2 and FMA (checked at run time), eight elements at a time run through
// the same operations as vector instructions: each is IEEE-exact like its scalar form (the vector
// FMA rounds once, like std::fma), so the results are bit for bit those of the scalar loop, which
// stays for other processors and for the tail of each range.
#include "kernels/cpu/optimizers.h"

#include <fmt/format.h>
#include <immintrin.h>

#include <cmath>
#include <cstddef>
#include <stdexcept>

#include "kernels/cpu/parallel.h"

namespace kiln::cpu {
namespace {

bool has_avx2_fma() {
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported;
}

// The SGD update of [begin, end), from begin to the last whole group of eight; returns where the
// scalar loop takes over.
__attribute__((target("avx2,fma"))) std::int64_t sgd_vector(const ParameterSlot& slot, float alpha,
                                                            std::int64_t begin, std::int64_t end) {
  const __m256 alpha8 = _mm256_set1_ps(alpha);
  std::int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 value = _mm256_loadu_ps(slot.value + i);
    _mm256_storeu_ps(slot.value + i,
                     _mm256_fmadd_ps(alpha8, _mm256_loadu_ps(slot.grad + i), value));
  }
  return i;
}

// Adam's per-element scalars (see adam_step).
struct AdamScalars {
  float beta1;
  float beta2;
  float epsilon;
  float one_minus_beta1;
  float one_minus_beta2;
  float denominator_scale;
  float negative_step_size;
};

// As sgd_vector, for Adam: the scalar loop's operations in the same order.
__attribute__((target("avx2,fma"))) std::int64_t adam_vector(const ParameterSlot& slot,
                                                             const AdamScalars& c,
                                                             std::int64_t begin, std::int64_t end) {
  const __m256 beta1 = _mm256_set1_ps(c.beta1);
  const __m256 beta2 = _mm256_set1_ps(c.beta2);
  const __m256 epsilon = _mm256_set1_ps(c.epsilon);
  const __m256 one_minus_beta1 = _mm256_set1_ps(c.one_minus_beta1);
  const __m256 one_minus_beta2 = _mm256_set1_ps(c.one_minus_beta2);
  const __m256 denominator_scale = _mm256_set1_ps(c.denominator_scale);
  const __m256 negative_step_size = _mm256_set1_ps(c.negative_step_size);
  std::int64_t i = begin;
  for (; i + 8 <= end; i += 8) {
    const __m256 grad = _mm256_loadu_ps(slot.grad + i);
    const __m256 exp_avg = _mm256_fmadd_ps(one_minus_beta1, grad,
                                           _mm256_mul_ps(_mm256_loadu_ps(slot.exp_avg + i), beta1));
    const __m256 exp_avg_sq =
        _mm256_fmadd_ps(_mm256_mul_ps(one_minus_beta2, grad), grad,
                        _mm256_mul_ps(_mm256_loadu_ps(slot.exp_avg_sq + i), beta2));
    const __m256 denominator =
        _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(exp_avg_sq), denominator_scale), epsilon);
    const __m256 update = _mm256_div_ps(_mm256_mul_ps(negative_step_size, exp_avg), denominator);
    _mm256_storeu_ps(slot.value + i, _mm256_add_ps(_mm256_loadu_ps(slot.value + i), update));
    _mm256_storeu_ps(slot.exp_avg + i, exp_avg);
    _mm256_storeu_ps(slot.exp_avg_sq + i, exp_avg_sq);
  }
  return i;
}

}  // namespace

void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate) {
  // param.add_(grad, alpha=-lr): alpha is the Python double lr rounded to float, which is
  // exactly kiln's float, and the kernel rounds once (fused multiply-add).
  const float alpha = -learning_rate;
  for (const ParameterSlot& slot : parameters) {
    parallel_ranges(slot.count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
      if (has_avx2_fma()) begin = sgd_vector(slot, alpha, begin, end);
      for (std::int64_t i = begin; i < end; ++i) {
        slot.value[i] = std::fma(alpha, slot.grad[i], slot.value[i]);
      }
    });
  }
}

void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
               const StepCounters* counters) {
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
  const AdamScalars scalars{.beta1 = static_cast<float>(beta1),
                            .beta2 = static_cast<float>(beta2),
                            .epsilon = static_cast<float>(config.epsilon),
                            .one_minus_beta1 = static_cast<float>(1.0 - beta1),
                            .one_minus_beta2 = static_cast<float>(1.0 - beta2),
                            .denominator_scale = static_cast<float>(bias_correction2_sqrt),
                            .negative_step_size = static_cast<float>(-step_size)};
  const auto [beta1_float, beta2_float, epsilon, one_minus_beta1, one_minus_beta2,
              denominator_scale, negative_step_size] = scalars;

  for (const ParameterSlot& slot : parameters) {
    parallel_ranges(slot.count, kElementwiseRange, [&](std::int64_t begin, std::int64_t end) {
      if (has_avx2_fma()) begin = adam_vector(slot, scalars, begin, end);
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

void advance_step(StepCounters* counters) { ++counters->step; }

}  // namespace kiln::cpu
