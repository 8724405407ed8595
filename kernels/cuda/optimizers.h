// The optimizers on the GPU: SGD and Adam with the arithmetic of kiln::cpu::sgd_step and adam_step
// (PyTorch's, operation by operation), so that their results are the CPU reference's bit for bit.
// Each call updates every parameter in one fused launch (per kMaxSlotsPerLaunch slots), with no
// allocation and no synchronisation; Adam reads its step from the device's StepCounters.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <span>

#include "kernels/backend.h"

namespace kiln::cuda {

// Slots with elements that one launch updates (the table travels as a kernel parameter). More
// slots take several launches; both reference models have at most 10 parameter tensors.
inline constexpr int kMaxSlotsPerLaunch = 16;

// p = p - lr * g, one fused multiply-add as in PyTorch. The slots (host array of device pointers)
// must not overlap. The arguments are those Backend::sgd_step has checked (kernels/backend.cpp): a
// learning rate >= 0, slots with a count >= 0 and, where they hold elements, value and grad set.
void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate, cudaStream_t stream);

// Adam with t = counters->step + 1, counters a device pointer. Also each slot's exp_avg and
// exp_avg_sq, 0 <= beta < 1 and epsilon >= 0, as Backend::adam_step has checked.
void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
               const StepCounters* counters, cudaStream_t stream);

// ++counters->step (device pointer), after the optimizer step it counts.
void advance_step(StepCounters* counters, cudaStream_t stream);

// The two scalars of Adam's update that depend on the step, as float32 tensor ops take them:
// -learning_rate / (1 - beta1^t) and sqrt(1 - beta2^t), with t = step + 1. The kernel derives them
// on the device from counters->step; this host entry point runs the very same code, so tests can
// hold it against the reference's std::pow for every step of a run. beta^t is an integer power in
// double-double arithmetic (relative error near t * 2^-104), so it is correctly rounded; CUDA's
// pow (up to 2 ulp) is not, and its last bit could reach the float scalars unobserved.
struct AdamStepScalars {
  float negative_step_size = 0.0f;
  float denominator_scale = 0.0f;
};
AdamStepScalars adam_step_scalars(const AdamConfig& config, std::uint64_t step);

}  // namespace kiln::cuda
