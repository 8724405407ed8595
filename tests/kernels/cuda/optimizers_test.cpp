// The fused optimizer kernels against the CPU reference, bit for bit: five slots of awkward sizes
// (1 and 1,000,003 among them) at misaligned addresses, several steps with the step counter
// advanced on the device, steps far into a run and past 2^32, more slots than one launch holds
// (with empty slots between), zero gradients, a captured CUDA graph replayed step after step, and
// the argument checks.
//
// One test needs no GPU: Adam's step-dependent scalars, which the kernel derives on the device from
// the step with the code adam_step_scalars runs on the host, against the reference's std::pow for
// every step of a long run. With that, every float operation of the kernel is the reference's.
#include "kernels/cuda/optimizers.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/optimizers.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;

// kernels/cpu/optimizers.cpp's scalars, as it computes them (the reference does not expose them).
cuda::AdamStepScalars reference_scalars(const AdamConfig& config, std::uint64_t step) {
  const double t = static_cast<double>(step + 1);
  const double bias_correction1 = 1.0 - std::pow(config.beta1, t);
  const double bias_correction2 = 1.0 - std::pow(config.beta2, t);
  const double step_size = config.learning_rate / bias_correction1;
  return {.negative_step_size = static_cast<float>(-step_size),
          .denominator_scale = static_cast<float>(std::sqrt(bias_correction2))};
}

::testing::AssertionResult same_scalars(const AdamConfig& config, std::uint64_t step) {
  const auto actual = cuda::adam_step_scalars(config, step);
  const auto expected = reference_scalars(config, step);
  const auto bits = [](float v) { return std::bit_cast<std::uint32_t>(v); };
  if (bits(actual.negative_step_size) == bits(expected.negative_step_size) &&
      bits(actual.denominator_scale) == bits(expected.denominator_scale)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "step " << step << ": (" << actual.negative_step_size << ", "
         << actual.denominator_scale << ") vs the reference's (" << expected.negative_step_size
         << ", " << expected.denominator_scale << ")";
}

// Host only: the default configuration over 2^18 steps (15 epochs of mnist-cnn are 28,125), other
// configurations over 2^16, and the extremes of the counter (t = 2^32 + 1, 2^53, past 2^62, and
// the wrap of step + 1 to 0, where both give -inf and 0).
TEST(CudaAdamStepScalars, MatchTheReferencePowForEveryStep) {
  const AdamConfig defaults;
  for (std::uint64_t step = 0; step < (std::uint64_t{1} << 18); ++step) {
    ASSERT_TRUE(same_scalars(defaults, step));
  }
  const AdamConfig others[] = {
      {.learning_rate = 3e-4, .beta1 = 0.8, .beta2 = 0.99, .epsilon = 1e-8},
      {.learning_rate = 1e-2, .beta1 = 0.95, .beta2 = 0.9999, .epsilon = 1e-6},
      {.learning_rate = 0.1, .beta1 = 0.0, .beta2 = 0.5, .epsilon = 0.0},
  };
  for (const AdamConfig& config : others) {
    SCOPED_TRACE("beta1 " + std::to_string(config.beta1) + ", beta2 " +
                 std::to_string(config.beta2));
    for (std::uint64_t step = 0; step < (std::uint64_t{1} << 16); ++step) {
      ASSERT_TRUE(same_scalars(config, step));
    }
  }
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  for (const std::uint64_t step : {std::uint64_t{1} << 32, (std::uint64_t{1} << 53) - 1,
                                   std::uint64_t{1} << 62, kMax - 1, kMax}) {
    EXPECT_TRUE(same_scalars(defaults, step));
  }
}

// A set of parameter tensors, on the host for the reference and on the device for the kernel.
// Each device tensor starts `offset` floats into its allocation, so pointers are misaligned.
class Parameters {
 public:
  Parameters(const std::vector<std::int64_t>& sizes, bool adam, std::mt19937_64& rng)
      : adam_(adam) {
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      const auto count = static_cast<std::size_t>(sizes[k]);
      const std::size_t offset = k % 4;
      offsets_.push_back(offset);
      value_.push_back(testing::uniform_floats(count, -1.0f, 1.0f, rng));
      exp_avg_.push_back(adam ? testing::uniform_floats(count, -0.01f, 0.01f, rng)
                              : std::vector<float>{});
      exp_avg_sq_.push_back(adam ? testing::uniform_floats(count, 0.0f, 1e-4f, rng)
                                 : std::vector<float>{});
      grad_.emplace_back(count);
      for (auto* host : {&value_.back(), &grad_.back(), &exp_avg_.back(), &exp_avg_sq_.back()}) {
        device_.push_back(std::make_unique<DeviceBuffer<float>>(offset + host->size()));
        device_.back()->poison();
        if (!host->empty()) upload(*device_.back(), offset, *host);
      }
    }
  }

  // Fresh gradients, with exact zeros and tiny values among them, on both sides.
  void new_gradients(std::mt19937_64& rng) {
    for (std::size_t k = 0; k < grad_.size(); ++k) {
      grad_[k] = testing::uniform_floats(grad_[k].size(), -1.0f, 1.0f, rng);
      for (std::size_t i = 0; i < grad_[k].size(); i += 11) grad_[k][i] = 0.0f;
      for (std::size_t i = 5; i < grad_[k].size(); i += 13) grad_[k][i] *= 1e-20f;
      upload(device(k, 1), offsets_[k], grad_[k]);
    }
  }

  std::vector<ParameterSlot> host_slots() {
    std::vector<ParameterSlot> slots;
    for (std::size_t k = 0; k < value_.size(); ++k) {
      slots.push_back({.value = value_[k].data(),
                       .grad = grad_[k].data(),
                       .exp_avg = adam_ ? exp_avg_[k].data() : nullptr,
                       .exp_avg_sq = adam_ ? exp_avg_sq_[k].data() : nullptr,
                       .count = static_cast<std::int64_t>(value_[k].size())});
    }
    return slots;
  }

  std::vector<ParameterSlot> device_slots() {
    std::vector<ParameterSlot> slots;
    for (std::size_t k = 0; k < value_.size(); ++k) {
      const std::size_t offset = offsets_[k];
      slots.push_back({.value = device(k, 0).data() + offset,
                       .grad = device(k, 1).data() + offset,
                       .exp_avg = adam_ ? device(k, 2).data() + offset : nullptr,
                       .exp_avg_sq = adam_ ? device(k, 3).data() + offset : nullptr,
                       .count = static_cast<std::int64_t>(value_[k].size())});
    }
    return slots;
  }

  // The device tensors against the host ones, bit for bit.
  void expect_equal() {
    for (std::size_t k = 0; k < value_.size(); ++k) {
      SCOPED_TRACE("slot " + std::to_string(k) + " of " + std::to_string(value_[k].size()));
      EXPECT_TRUE(bitwise_equal(download(k, 0), value_[k])) << "value";
      if (adam_) {
        EXPECT_TRUE(bitwise_equal(download(k, 2), exp_avg_[k])) << "exp_avg";
        EXPECT_TRUE(bitwise_equal(download(k, 3), exp_avg_sq_[k])) << "exp_avg_sq";
      }
    }
  }

 private:
  DeviceBuffer<float>& device(std::size_t slot, int array) { return *device_[slot * 4 + array]; }

  static void upload(DeviceBuffer<float>& buffer, std::size_t offset,
                     const std::vector<float>& host) {
    KILN_CUDA_CHECK(cudaMemcpy(buffer.data() + offset, host.data(), host.size() * sizeof(float),
                               cudaMemcpyHostToDevice));
  }

  std::vector<float> download(std::size_t slot, int array) {
    const auto all = device(slot, array).download();
    return {all.begin() + static_cast<std::ptrdiff_t>(offsets_[slot]), all.end()};
  }

  bool adam_;
  std::vector<std::size_t> offsets_;
  std::vector<std::vector<float>> value_, grad_, exp_avg_, exp_avg_sq_;
  std::vector<std::unique_ptr<DeviceBuffer<float>>> device_;
};

class CudaOptimizers : public testing::SeededGpuStreamTest {
 protected:
  // `steps` Adam steps from step `first_step`, the counter advanced by each side's advance_step.
  void check_adam(const std::vector<std::int64_t>& sizes, std::uint64_t first_step, int steps,
                  const AdamConfig& config = {}) {
    SCOPED_TRACE("from step " + std::to_string(first_step));
    Parameters parameters(sizes, /*adam=*/true, rng_);
    StepCounters counters{.seed = 1, .step = first_step};
    DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{counters});
    for (int s = 0; s < steps; ++s) {
      parameters.new_gradients(rng_);
      const auto host = parameters.host_slots();
      const auto device = parameters.device_slots();
      cpu::adam_step(host, config, &counters);
      cpu::advance_step(&counters);
      cuda::adam_step(device, config, counters_dev.data(), stream_);
      cuda::advance_step(counters_dev.data(), stream_);
    }
    parameters.expect_equal();
    EXPECT_EQ(counters_dev.download()[0].step, counters.step);
  }
};

const std::vector<std::int64_t> kSizes = {1, 7, 1000003, 4099, 33};

TEST_F(CudaOptimizers, AdamMatchesReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  check_adam(kSizes, 0, 4);
}

TEST_F(CudaOptimizers, AdamLateStepsMatchReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  check_adam({5, 1000, 257}, 28120, 3);
  check_adam({5, 1000, 257}, (std::uint64_t{1} << 32) - 2, 3);  // t crosses 2^32
  check_adam({5, 1000, 257}, 999, 2,
             {.learning_rate = 1e-2, .beta1 = 0.95, .beta2 = 0.9999, .epsilon = 1e-6});
}

// 37 slots, some empty (with null pointers, which an empty slot may have): three launches.
TEST_F(CudaOptimizers, MoreSlotsThanOneLaunchHolds) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  std::vector<std::int64_t> sizes;
  for (int k = 0; k < 37; ++k) sizes.push_back(k % 5 == 3 ? 0 : 1 + (k * 97) % 300);
  check_adam(sizes, 0, 2);

  Parameters parameters(sizes, /*adam=*/false, rng_);
  parameters.new_gradients(rng_);
  auto host = parameters.host_slots();
  auto device = parameters.device_slots();
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    if (sizes[k] == 0) host[k].value = device[k].value = nullptr;
  }
  cpu::sgd_step(host, 0.04f);
  cuda::sgd_step(device, 0.04f, stream_);
  parameters.expect_equal();
}

TEST_F(CudaOptimizers, SgdMatchesReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  Parameters parameters(kSizes, /*adam=*/false, rng_);
  for (int s = 0; s < 3; ++s) {
    parameters.new_gradients(rng_);
    cpu::sgd_step(parameters.host_slots(), 0.04f);
    cuda::sgd_step(parameters.device_slots(), 0.04f, s == 1 ? nullptr : stream_);
  }
  parameters.expect_equal();
}

// fashion-lenet's parameter tensors (conv1, conv2, ff1, ff2: weight and bias each).
TEST_F(CudaOptimizers, SgdOnFashionLenetTensors) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  Parameters parameters({150, 6, 1500, 10, 8960, 56, 560, 10}, /*adam=*/false, rng_);
  parameters.new_gradients(rng_);
  cpu::sgd_step(parameters.host_slots(), 0.04f);
  cuda::sgd_step(parameters.device_slots(), 0.04f, stream_);
  parameters.expect_equal();
}

// One graph of adam_step + advance_step, replayed: each replay reads the step the last one left.
TEST_F(CudaOptimizers, AdamGraphReplaysAdvanceTheStep) {
  KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();
  SCOPED_TRACE(testing::seed_trace(seed_));
  Parameters parameters({3, 1000, 64}, /*adam=*/true, rng_);
  StepCounters counters{.seed = 1, .step = 0};
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{counters});
  const AdamConfig config;

  cudaGraph_t graph = nullptr;
  KILN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  cuda::adam_step(parameters.device_slots(), config, counters_dev.data(), stream_);
  cuda::advance_step(counters_dev.data(), stream_);
  KILN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  KILN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (int s = 0; s < 4; ++s) {
    parameters.new_gradients(rng_);
    cpu::adam_step(parameters.host_slots(), config, &counters);
    cpu::advance_step(&counters);
    KILN_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
    KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  }
  parameters.expect_equal();
  EXPECT_EQ(counters_dev.download()[0].step, 4u);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST_F(CudaOptimizers, NothingToUpdateLaunchesNothing) {
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{StepCounters{}});
  cuda::sgd_step({}, 0.1f, stream_);
  cuda::adam_step({}, AdamConfig{}, counters_dev.data(), stream_);
  const std::vector<ParameterSlot> empty = {ParameterSlot{}, ParameterSlot{}};
  cuda::sgd_step(empty, 0.1f, stream_);
  cuda::adam_step(empty, AdamConfig{}, counters_dev.data(), stream_);
  EXPECT_EQ(counters_dev.download()[0].step, 0u);
}

// The checks run in Backend (kernels/backend.cpp), once for every engine, before any launch.
TEST_F(CudaOptimizers, RejectsBadArguments) {
  cuda::CudaBackend backend(stream_);
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{StepCounters{}});
  DeviceBuffer<float> buffer(16);
  float* data = buffer.data();
  const ParameterSlot good = {
      .value = data, .grad = data + 4, .exp_avg = data + 8, .exp_avg_sq = data + 12, .count = 4};
  const StepCounters* counters = counters_dev.data();

  EXPECT_THROW(backend.sgd_step({&good, 1}, -0.1f), std::invalid_argument);
  EXPECT_THROW(backend.sgd_step({&good, 1}, std::numeric_limits<float>::quiet_NaN()),
               std::invalid_argument);
  ParameterSlot negative = good;
  negative.count = -1;
  EXPECT_THROW(backend.sgd_step({&negative, 1}, 0.1f), std::invalid_argument);
  ParameterSlot no_grad = good;
  no_grad.grad = nullptr;
  EXPECT_THROW(backend.sgd_step({&no_grad, 1}, 0.1f), std::invalid_argument);
  ParameterSlot no_value = good;
  no_value.value = nullptr;
  EXPECT_THROW(backend.adam_step({&no_value, 1}, AdamConfig{}, counters), std::invalid_argument);
  ParameterSlot no_moments = good;
  no_moments.exp_avg_sq = nullptr;
  EXPECT_THROW(backend.adam_step({&no_moments, 1}, AdamConfig{}, counters), std::invalid_argument);
  EXPECT_THROW(backend.adam_step({&good, 1}, AdamConfig{}, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.adam_step({&good, 1}, {.beta1 = 1.0}, counters), std::invalid_argument);
  EXPECT_THROW(backend.adam_step({&good, 1}, {.beta2 = -0.5}, counters), std::invalid_argument);
  EXPECT_THROW(backend.adam_step({&good, 1}, {.epsilon = -1e-8}, counters), std::invalid_argument);
  EXPECT_THROW(backend.adam_step({&good, 1}, {.learning_rate = -1e-3}, counters),
               std::invalid_argument);
  EXPECT_THROW(backend.advance_step(nullptr), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
