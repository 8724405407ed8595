// SGD and Adam against torch.optim (fixtures/optimizers.safetensors), Adam's classic first-step
// property, and argument checks. Adam must match PyTorch within 1e-6 relative L2 per tensor (the
// bar every backend meets); the CPU reference also matches it bit for bit, and SGD exactly.
#include "kernels/cpu/optimizers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"
#include "tests/support/fixtures.h"
#include "tests/support/invalid_argument.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::close_in_l2;
using testing::expect_invalid;
using testing::Fixture;

// One fixture case's parameters, held as kiln's optimizers take them.
struct Parameters {
  std::vector<std::vector<float>> value, exp_avg, exp_avg_sq, grad;

  Parameters(const Fixture& fixture, const std::string& name, bool adam) {
    const auto count = fixture.params(name).at("sizes").size();
    for (std::size_t k = 0; k < count; ++k) {
      const std::string index = std::to_string(k);
      value.push_back(fixture.floats(name, "value" + index));
      exp_avg.push_back(adam ? fixture.floats(name, "exp_avg" + index) : std::vector<float>{});
      exp_avg_sq.push_back(adam ? fixture.floats(name, "exp_avg_sq" + index)
                                : std::vector<float>{});
      grad.emplace_back();
    }
  }

  void load_gradients(const Fixture& fixture, const std::string& name, int step) {
    for (std::size_t k = 0; k < grad.size(); ++k) {
      grad[k] = fixture.floats(name, "grad" + std::to_string(k) + "/step" + std::to_string(step));
    }
  }

  std::vector<ParameterSlot> slots() {
    std::vector<ParameterSlot> result;
    for (std::size_t k = 0; k < value.size(); ++k) {
      result.push_back({.value = value[k].data(),
                        .grad = grad[k].data(),
                        .exp_avg = exp_avg[k].empty() ? nullptr : exp_avg[k].data(),
                        .exp_avg_sq = exp_avg_sq[k].empty() ? nullptr : exp_avg_sq[k].data(),
                        .count = static_cast<std::int64_t>(value[k].size())});
    }
    return result;
  }
};

AdamConfig adam_config(const Fixture& fixture, const std::string& name) {
  const auto params = fixture.params(name);
  return {.learning_rate = params.at("lr").get<double>(),
          .beta1 = params.at("beta1").get<double>(),
          .beta2 = params.at("beta2").get<double>(),
          .epsilon = params.at("eps").get<double>()};
}

TEST(CpuOptimizers, SgdMatchesPyTorchExactly) {
  const Fixture fixture("optimizers");
  const auto names = fixture.cases_where("optimizer", "sgd");
  ASSERT_EQ(names.size(), 2u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    Parameters parameters(fixture, name, /*adam=*/false);
    const float learning_rate = fixture.params(name).at("lr").get<float>();
    for (int step = 0; step < fixture.params(name).at("steps").get<int>(); ++step) {
      parameters.load_gradients(fixture, name, step);
      cpu::sgd_step(parameters.slots(), learning_rate);
      for (std::size_t k = 0; k < parameters.value.size(); ++k) {
        SCOPED_TRACE("value" + std::to_string(k) + " after step " + std::to_string(step));
        EXPECT_TRUE(bitwise_equal(
            parameters.value[k],
            fixture.floats(name, "value" + std::to_string(k) + "/after" + std::to_string(step))));
      }
    }
  }
}

// Runs every Adam case through its steps and hands each tensor and its PyTorch value to `check`.
template <typename Check>
void replay_adam_cases(const Check& check) {
  const Fixture fixture("optimizers");
  const auto names = fixture.cases_where("optimizer", "adam");
  ASSERT_EQ(names.size(), 3u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    Parameters parameters(fixture, name, /*adam=*/true);
    const AdamConfig config = adam_config(fixture, name);
    StepCounters counters{.seed = 5,
                          .step = fixture.params(name).at("start_step").get<std::uint64_t>()};
    for (int step = 0; step < fixture.params(name).at("steps").get<int>(); ++step) {
      parameters.load_gradients(fixture, name, step);
      cpu::adam_step(parameters.slots(), config, &counters);
      cpu::advance_step(&counters);
      for (std::size_t k = 0; k < parameters.value.size(); ++k) {
        const std::string suffix = std::to_string(k) + "/after" + std::to_string(step);
        SCOPED_TRACE("parameter " + suffix);
        check(parameters.value[k], fixture.floats(name, "value" + suffix));
        check(parameters.exp_avg[k], fixture.floats(name, "exp_avg" + suffix));
        check(parameters.exp_avg_sq[k], fixture.floats(name, "exp_avg_sq" + suffix));
      }
    }
  }
}

// The starting values of the smaller tensors are of the update's size, so 1e-6 on the values
// also bounds the error of the update; the moments are compared as they are.
TEST(CpuOptimizers, AdamMatchesPyTorch) {
  replay_adam_cases([](const std::vector<float>& actual, const std::vector<float>& expected) {
    EXPECT_TRUE(close_in_l2(actual, expected, 1e-6));
  });
}

// The reference repeats PyTorch's float32 operations one by one (optimizers.cpp), so it agrees
// bit for bit; a difference here means an operation or a rounding of a scalar differs.
TEST(CpuOptimizers, AdamMatchesPyTorchBitForBit) {
  replay_adam_cases([](const std::vector<float>& actual, const std::vector<float>& expected) {
    EXPECT_TRUE(bitwise_equal(actual, expected));
  });
}

TEST(CpuOptimizers, SgdWithZeroLearningRateLeavesParametersUnchanged) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  std::vector<float> value = testing::uniform_floats(101, -3.0f, 3.0f, rng);
  const std::vector<float> grad = testing::uniform_floats(101, -50.0f, 50.0f, rng);
  const std::vector<float> before = value;
  const ParameterSlot slot{.value = value.data(), .grad = grad.data(), .count = 101};
  cpu::sgd_step({&slot, 1}, 0.0f);
  EXPECT_EQ(value, before);
}

// On the first step m / (1 - beta1) = g and sqrt(v / (1 - beta2)) = |g|, so each parameter moves
// by lr * g / (|g| + eps): lr against the sign of its gradient, for |g| >> eps.
TEST(CpuOptimizers, AdamFirstStepMovesEachParameterByTheLearningRate) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  constexpr std::int64_t kCount = 513;
  std::vector<float> value = testing::uniform_floats(kCount, -1.0f, 1.0f, rng);
  std::vector<float> grad = testing::uniform_floats(kCount, -10.0f, 10.0f, rng);
  for (float& g : grad) {
    if (std::abs(g) < 1e-3f) g = 1e-3f;  // keeps eps / |g| <= 1e-5
  }
  const std::vector<float> before = value;
  std::vector<float> exp_avg(kCount, 0.0f), exp_avg_sq(kCount, 0.0f);
  const ParameterSlot slot{.value = value.data(),
                           .grad = grad.data(),
                           .exp_avg = exp_avg.data(),
                           .exp_avg_sq = exp_avg_sq.data(),
                           .count = kCount};
  const AdamConfig config{};
  const StepCounters counters{.seed = 1, .step = 0};
  cpu::adam_step({&slot, 1}, config, &counters);
  for (std::int64_t i = 0; i < kCount; ++i) {
    // The difference of two floats near 1 carries up to 6e-8 of rounding: 6e-5 of lr.
    const double moved = static_cast<double>(value[i]) - before[i];
    ASSERT_LE(std::abs(moved), config.learning_rate * (1 + 1e-3)) << "at " << i;
    ASSERT_GE(std::abs(moved), config.learning_rate * (1 - 1e-3)) << "at " << i;
    ASSERT_EQ(std::signbit(moved), !std::signbit(grad[i])) << "at " << i;
  }
}

TEST(CpuOptimizers, AdamUpdatesEverySlotOfOneCall) {
  std::vector<float> a = {1.0f}, b = {1.0f, 2.0f};
  const std::vector<float> grad_a = {1.0f}, grad_b = {-1.0f, 1.0f};
  std::vector<float> moments(6, 0.0f);
  const ParameterSlot slots[] = {
      {a.data(), grad_a.data(), &moments[0], &moments[1], 1},
      {b.data(), grad_b.data(), &moments[2], &moments[4], 2},
  };
  const StepCounters counters{};
  cpu::adam_step(slots, AdamConfig{}, &counters);
  EXPECT_LT(a[0], 1.0f);
  EXPECT_GT(b[0], 1.0f);
  EXPECT_LT(b[1], 2.0f);
}

TEST(CpuOptimizers, AdvanceStepCountsOneStep) {
  StepCounters counters{.seed = 77, .step = 41};
  cpu::advance_step(&counters);
  EXPECT_EQ(counters.step, 42u);
  EXPECT_EQ(counters.seed, 77u);
}

TEST(CpuOptimizers, EmptyAndZeroCountSlotsAreAccepted) {
  const StepCounters counters{};
  cpu::sgd_step({}, 0.1f);
  cpu::adam_step({}, AdamConfig{}, &counters);
  const ParameterSlot empty{};
  cpu::sgd_step({&empty, 1}, 0.1f);
  cpu::adam_step({&empty, 1}, AdamConfig{}, &counters);
}

// The checks run in Backend (kernels/backend.cpp), once for every engine, before the reference.
TEST(CpuOptimizers, RejectsBadArguments) {
  cpu::CpuBackend backend;
  std::vector<float> data(4, 0.0f);
  const StepCounters counters{};
  const ParameterSlot negative{.value = data.data(), .grad = data.data(), .count = -1};
  const ParameterSlot no_grad{.value = data.data(), .count = 4};
  const ParameterSlot no_moments{.value = data.data(), .grad = data.data(), .count = 4};
  const ParameterSlot no_second_moment{
      .value = data.data(), .grad = data.data(), .exp_avg = data.data(), .count = 4};
  const float nan = std::numeric_limits<float>::quiet_NaN();

  expect_invalid([&] { backend.sgd_step({&negative, 1}, 0.1f); }, "count must not be negative");
  expect_invalid([&] { backend.sgd_step({&no_grad, 1}, 0.1f); }, "slot 0: grad is null");
  expect_invalid([&] { backend.sgd_step({&no_moments, 1}, -0.1f); }, "learning_rate");
  expect_invalid([&] { backend.sgd_step({&no_moments, 1}, nan); }, "learning_rate");
  expect_invalid([&] { backend.adam_step({&no_moments, 1}, {}, &counters); }, "exp_avg is null");
  expect_invalid(
      [&] {
        backend.adam_step({&no_second_moment, 1}, {}, &counters);
      },
      "exp_avg_sq is null");
  expect_invalid([&] { backend.adam_step({}, {}, nullptr); }, "counters is null");
  expect_invalid([&] { backend.adam_step({}, {.beta1 = 1.0}, &counters); }, "beta1");
  expect_invalid([&] { backend.adam_step({}, {.beta2 = -0.5}, &counters); }, "beta2");
  expect_invalid([&] { backend.adam_step({}, {.epsilon = -1e-8}, &counters); }, "epsilon");
  expect_invalid([&] { backend.advance_step(nullptr); }, "counters is null");
}

}  // namespace
}  // namespace kiln
