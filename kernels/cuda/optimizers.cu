// SGD and Adam, fused over all parameter tensors, bitwise equal to kiln::cpu's reference.
//
// Sizes we train: mnist-cnn has 1,386,411 parameters in 10 tensors; Adam reads value, grad,
// exp_avg and exp_avg_sq and writes three of them, 28 bytes and about 10 FLOPs per parameter:
// 38.8 MB per step, about 13 us at copy bandwidth. fashion-lenet has 11,006 parameters in 8
// tensors; SGD reads two arrays and writes one, 12 bytes per parameter (132 KB, launch-bound).
//
// Design: one launch for every tensor (a multi-tensor apply). The slot table (pointers and the
// running end of each slot's elements) is a __grid_constant__ kernel parameter, so no device
// memory holds it and a captured graph keeps it; the grid strides over the concatenation of all
// slots, and since a thread's indices only grow, it finds each element's slot by walking forward
// through the table. Accesses are scalar and coalesced: the tensors' sizes and alignments are
// arbitrary, and at 28 bytes per element Adam is bound by memory, not by instruction count.
//
// Exactness: every float operation is the reference's, in its order, written as an explicitly
// rounded intrinsic (__fmaf_rn where the reference calls std::fma, __fmul_rn, __fadd_rn, __fdiv_rn,
// __fsqrt_rn elsewhere), so nvcc's FMA contraction cannot change any rounding. Adam's
// step-dependent scalars are computed in double from counters->step on the device, at the start of
// each block (two threads, one per scalar, about a microsecond of latency); the scalars that depend
// on the configuration alone are the reference's expressions evaluated on the host. beta^t is a
// double-double integer power, correctly rounded; adam_step_scalars exposes the same code on the
// host, where tests/kernels/cuda/optimizers_test.cpp checks it against the reference's std::pow.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/launch.h"
#include "kernels/cuda/optimizers.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 1024;  // about one resident wave on an H100; then grid-stride
constexpr int kElementsPerThread = 4;

// ---- Double arithmetic shared by host and device, rounded the same way on both.
// On the device each operation is an intrinsic, so nvcc cannot contract a product into a sum; on
// the host, g++ targeting x86-64 has no FMA instruction to contract into.

__host__ __device__ inline double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

__host__ __device__ inline double sub_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}

__host__ __device__ inline double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

__host__ __device__ inline double div_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

__host__ __device__ inline double fma_rn(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __fma_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}

__host__ __device__ inline double sqrt_rn(double a) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}

__host__ __device__ inline float to_float_rn(double a) {
#if defined(__CUDA_ARCH__)
  return __double2float_rn(a);
#else
  return static_cast<float>(a);
#endif
}

__host__ __device__ inline double to_double_rn(std::uint64_t a) {
#if defined(__CUDA_ARCH__)
  return __ull2double_rn(a);
#else
  return static_cast<double>(a);
#endif
}

// hi + lo with |lo| <= ulp(hi) / 2: about 106 significant bits.
struct DoubleDouble {
  double hi;
  double lo;
};

// The product to about 2^-104 relative (a.lo * b.lo is below that and dropped).
__host__ __device__ inline DoubleDouble multiply(DoubleDouble a, DoubleDouble b) {
  const double product = mul_rn(a.hi, b.hi);
  double error = fma_rn(a.hi, b.hi, -product);  // exact: product + error == a.hi * b.hi
  error = fma_rn(a.hi, b.lo, error);
  error = fma_rn(a.lo, b.hi, error);
  const double hi = add_rn(product, error);
  return {hi, sub_rn(error, sub_rn(hi, product))};
}

// base^exponent for 0 <= base < 1 by binary powering in double-double: relative error about
// exponent * 2^-104, so the rounded result is the correctly rounded power. Once the running square
// drops below 2^-60 the result is below it too and 0 is returned: all the caller does with it is
// 1 - power, which is exactly 1 for any power below 2^-54, so nothing downstream changes.
__host__ __device__ inline double power_below_one(double base, std::uint64_t exponent) {
  DoubleDouble result = {1.0, 0.0};
  DoubleDouble square = {base, 0.0};
  while (exponent != 0) {
    if ((exponent & 1u) != 0) result = multiply(result, square);
    exponent >>= 1;
    if (exponent == 0) break;
    square = multiply(square, square);
    if (square.hi < 0x1p-60) return 0.0;
  }
  return result.hi;
}

// 1 - beta^t with t = double(step + 1), as the reference computes 1.0 - std::pow(beta, t).
__host__ __device__ inline double bias_correction(double beta, std::uint64_t step) {
  const double t = to_double_rn(step + 1);  // wraps to 0 as the reference's does
  // t is a whole number; past 2^62 the power is far below 2^-54 for any beta < 1.
  const std::uint64_t exponent =
      t >= 0x1p62 ? (std::uint64_t{1} << 62) : static_cast<std::uint64_t>(t);
  return sub_rn(1.0, power_below_one(beta, exponent));
}

// float(-(learning_rate / (1 - beta1^t))): the reference's negative_step_size.
__host__ __device__ inline float negative_step_size(double learning_rate, double beta1,
                                                    std::uint64_t step) {
  return to_float_rn(-div_rn(learning_rate, bias_correction(beta1, step)));
}

// float(sqrt(1 - beta2^t)): the reference's denominator_scale.
__host__ __device__ inline float denominator_scale(double beta2, std::uint64_t step) {
  return to_float_rn(sqrt_rn(bias_correction(beta2, step)));
}

// ---- The slot table, a kernel parameter.

struct SlotTable {
  float* value[kMaxSlotsPerLaunch];
  const float* grad[kMaxSlotsPerLaunch];
  float* exp_avg[kMaxSlotsPerLaunch];
  float* exp_avg_sq[kMaxSlotsPerLaunch];
  // end[s]: elements in slots 0..s together; every slot in the table has at least one.
  std::int64_t end[kMaxSlotsPerLaunch];
  int slots;
};

// Walks a thread's growing flat indices through the table: slot and offset of each element.
struct SlotCursor {
  int slot = 0;
  std::int64_t begin = 0;

  __device__ std::int64_t seek(const SlotTable& table, std::int64_t flat) {
    while (flat >= table.end[slot]) {
      begin = table.end[slot];
      ++slot;
    }
    return flat - begin;
  }
};

__device__ __forceinline__ std::int64_t first_index() {
  return static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ std::int64_t grid_stride() {
  return static_cast<std::int64_t>(gridDim.x) * blockDim.x;
}

__global__ void sgd_kernel(const __grid_constant__ SlotTable table, float alpha) {
  const std::int64_t total = table.end[table.slots - 1];
  SlotCursor cursor;
  for (std::int64_t flat = first_index(); flat < total; flat += grid_stride()) {
    const std::int64_t i = cursor.seek(table, flat);
    float* value = table.value[cursor.slot];
    // param.add_(grad, alpha=-lr): one rounding.
    value[i] = __fmaf_rn(alpha, table.grad[cursor.slot][i], value[i]);
  }
}

// The scalars of adam_step that depend on the configuration only, as the reference rounds them.
struct AdamConstants {
  double learning_rate;
  double beta1;
  double beta2;
  float beta1_float;
  float beta2_float;
  float one_minus_beta1;
  float one_minus_beta2;
  float epsilon;
};

__global__ void adam_kernel(const __grid_constant__ SlotTable table, AdamConstants c,
                            const StepCounters* counters) {
  // The step-dependent scalars, once per block: thread 0 and thread 1 (the same warp) compute one
  // each, side by side.
  __shared__ float step_scalars[2];
  if (threadIdx.x == 0) {
    step_scalars[0] = negative_step_size(c.learning_rate, c.beta1, counters->step);
  } else if (threadIdx.x == 1) {
    step_scalars[1] = denominator_scale(c.beta2, counters->step);
  }
  __syncthreads();
  const float step_size = step_scalars[0];  // negative
  const float scale = step_scalars[1];

  const std::int64_t total = table.end[table.slots - 1];
  SlotCursor cursor;
  for (std::int64_t flat = first_index(); flat < total; flat += grid_stride()) {
    const std::int64_t i = cursor.seek(table, flat);
    const int s = cursor.slot;
    const float grad = table.grad[s][i];
    // exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    const float exp_avg =
        __fmaf_rn(c.one_minus_beta1, grad, __fmul_rn(table.exp_avg[s][i], c.beta1_float));
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2): (value * grad) * grad + v
    const float exp_avg_sq = __fmaf_rn(__fmul_rn(c.one_minus_beta2, grad), grad,
                                       __fmul_rn(table.exp_avg_sq[s][i], c.beta2_float));
    // denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    const float denominator = __fadd_rn(__fdiv_rn(__fsqrt_rn(exp_avg_sq), scale), c.epsilon);
    // param.addcdiv_(exp_avg, denom, value=-step_size): param + (value * exp_avg) / denom
    float* value = table.value[s];
    value[i] = __fadd_rn(value[i], __fdiv_rn(__fmul_rn(step_size, exp_avg), denominator));
    table.exp_avg[s][i] = exp_avg;
    table.exp_avg_sq[s][i] = exp_avg_sq;
  }
}

__global__ void advance_step_kernel(StepCounters* counters) { ++counters->step; }

// ---- Host side.

unsigned blocks_for(std::int64_t elements) {
  constexpr std::int64_t kPerBlock = std::int64_t{kThreads} * kElementsPerThread;
  return static_cast<unsigned>(
      std::clamp<std::int64_t>((elements + kPerBlock - 1) / kPerBlock, 1, kMaxBlocks));
}

// Calls launch(table) for each run of up to kMaxSlotsPerLaunch slots with elements.
template <typename Launch>
void for_each_table(std::span<const ParameterSlot> parameters, Launch launch) {
  SlotTable table{};
  std::int64_t elements = 0;
  const auto flush = [&] {
    if (table.slots > 0) launch(table);
    table = SlotTable{};
    elements = 0;
  };
  for (const ParameterSlot& slot : parameters) {
    if (slot.count == 0) continue;
    const int s = table.slots++;
    table.value[s] = slot.value;
    table.grad[s] = slot.grad;
    table.exp_avg[s] = slot.exp_avg;
    table.exp_avg_sq[s] = slot.exp_avg_sq;
    elements += slot.count;
    table.end[s] = elements;
    if (table.slots == kMaxSlotsPerLaunch) flush();
  }
  flush();
}

}  // namespace

void sgd_step(std::span<const ParameterSlot> parameters, float learning_rate, cudaStream_t stream) {
  const float alpha = -learning_rate;
  for_each_table(parameters, [&](const SlotTable& table) {
    launch_kernel<sgd_kernel>(blocks_for(table.end[table.slots - 1]), kThreads, 0, stream, table,
                              alpha);
    KILN_CUDA_CHECK_LAUNCH("sgd_kernel");
  });
}

void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig& config,
               const StepCounters* counters, cudaStream_t stream) {
  // The reference's roundings: each double rounded to float; 1 - beta taken in double first.
  const AdamConstants constants = {
      .learning_rate = config.learning_rate,
      .beta1 = config.beta1,
      .beta2 = config.beta2,
      .beta1_float = static_cast<float>(config.beta1),
      .beta2_float = static_cast<float>(config.beta2),
      .one_minus_beta1 = static_cast<float>(1.0 - config.beta1),
      .one_minus_beta2 = static_cast<float>(1.0 - config.beta2),
      .epsilon = static_cast<float>(config.epsilon),
  };
  for_each_table(parameters, [&](const SlotTable& table) {
    launch_kernel<adam_kernel>(blocks_for(table.end[table.slots - 1]), kThreads, 0, stream, table,
                               constants, counters);
    KILN_CUDA_CHECK_LAUNCH("adam_kernel");
  });
}

void advance_step(StepCounters* counters, cudaStream_t stream) {
  launch_kernel<advance_step_kernel>(1, 1, 0, stream, counters);
  KILN_CUDA_CHECK_LAUNCH("advance_step_kernel");
}

AdamStepScalars adam_step_scalars(const AdamConfig& config, std::uint64_t step) {
  return {.negative_step_size = negative_step_size(config.learning_rate, config.beta1, step),
          .denominator_scale = denominator_scale(config.beta2, step)};
}

}  // namespace kiln::cuda
