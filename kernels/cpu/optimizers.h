// The optimizers, CPU reference: PyTorch's SGD and Adam, reproducing the float32 arithmetic of
// torch.optim (1.13, single-tensor path) operation by operation, so that a kiln run and a PyTorch
// run with the same gradients hold the same parameters.
//
// SGD (no momentum, no weight decay): p = p - lr * g, PyTorch's param.add_(grad, alpha=-lr).
// Adam (no weight decay, no amsgrad), t = counters->step + 1:
//   m = beta1 * m + (1 - beta1) * g          v = beta2 * v + (1 - beta2) * g * g
//   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
// Every parameter slot is updated in one call; slots must not overlap.
#pragma once

#include <span>

#include "kernels/backend.h"

namespace kiln::cpu {

// The arguments are those Backend::sgd_step and adam_step have checked (kernels/backend.cpp): a
// learning rate >= 0, slots with a count >= 0 and, where they hold elements, value and grad set.
void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate);

// Also each slot's exp_avg and exp_avg_sq, 0 <= beta < 1, epsilon >= 0 and counters set.
void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
               const StepCounters* counters);

// ++counters->step, after the optimizer step it counts.
void advance_step(StepCounters* counters);

}  // namespace kiln::cpu
