// The dropout reference bit for bit against the Python twin of its mask (tests/golden/philox.py),
// Caffe's statistical test (drop rate within a confidence band, kept values scaled exactly), the
// mask as a pure function of its key, and finite differences with the key held fixed.
#include "kernels/cpu/dropout.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;

// Inputs bounded away from 0, so an output is 0 exactly where the mask drops.
std::vector<float> nonzero_inputs(std::size_t count, std::mt19937_64& rng) {
  return testing::uniform_floats(count, 0.5f, 1.5f, rng);
}

std::vector<bool> kept(std::span<const float> y) {
  std::vector<bool> mask(y.size());
  for (std::size_t i = 0; i < y.size(); ++i) mask[i] = y[i] != 0.0f;
  return mask;
}

// |observed - expected| <= 5 standard deviations of a mean of n Bernoulli(probability) draws: a
// correct mask fails this about once in 1.7 million runs.
::testing::AssertionResult within_five_sigma(double observed, double probability, double n) {
  const double band = 5.0 * std::sqrt(probability * (1.0 - probability) / n);
  if (std::abs(observed - probability) <= band) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "observed " << observed << ", expected " << probability
                                       << " +- " << band << " (5 sigma over " << n << " draws)";
}

TEST(CpuDropout, MatchesFixturesBitForBit) {
  const testing::Fixture fixture("dropout");
  ASSERT_FALSE(fixture.cases().empty());
  for (const std::string& name : fixture.cases()) {
    SCOPED_TRACE(name);
    const nlohmann::json params = fixture.params(name);
    const std::int64_t count = params.at("count");
    const float p = params.at("p").get<float>();
    const std::uint32_t mask_stream = params.at("mask_stream");
    const StepCounters counters{.seed = params.at("seed"), .step = params.at("step")};
    const auto x = fixture.floats(name, "x");
    const auto dy = fixture.floats(name, "dy");
    ASSERT_EQ(std::ssize(x), count);

    std::vector<float> y(x.size(), -1.0f), dx(x.size(), -1.0f);
    cpu::dropout_forward(count, p, mask_stream, &counters, x.data(), y.data());
    cpu::dropout_backward(count, p, mask_stream, &counters, dy.data(), dx.data());
    EXPECT_TRUE(bitwise_equal(y, fixture.floats(name, "y")));
    EXPECT_TRUE(bitwise_equal(dx, fixture.floats(name, "dx")));
  }
}

// Caffe's statistical test: over a million elements at p = 0.3 the kept fraction, overall and in
// each of the four Philox lanes, is within 5 sigma of 0.7, and every kept value is x * scale
// exactly. The key is fresh each run, so this samples the generator rather than one mask.
TEST(CpuDropout, KeepsTheExpectedFractionAndScalesExactly) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  constexpr std::int64_t kCount = 1'000'000;
  constexpr float kP = 0.3f;
  const float scale = 1.0f / (1.0f - kP);
  const StepCounters counters{.seed = rng(), .step = rng() % 100'000};
  const auto x = nonzero_inputs(kCount, rng);
  std::vector<float> y(kCount);
  cpu::dropout_forward(kCount, kP, 1, &counters, x.data(), y.data());

  std::array<std::int64_t, 4> kept_per_lane{};
  std::int64_t wrongly_scaled = 0;
  for (std::int64_t i = 0; i < kCount; ++i) {
    if (y[i] == 0.0f) continue;
    ++kept_per_lane[i % 4];
    if (y[i] != x[i] * scale) ++wrongly_scaled;
  }
  EXPECT_EQ(wrongly_scaled, 0);
  const std::int64_t kept_total =
      kept_per_lane[0] + kept_per_lane[1] + kept_per_lane[2] + kept_per_lane[3];
  EXPECT_TRUE(within_five_sigma(static_cast<double>(kept_total) / kCount, 1.0 - kP, kCount));
  for (int lane = 0; lane < 4; ++lane) {
    SCOPED_TRACE("lane " + std::to_string(lane));
    EXPECT_TRUE(within_five_sigma(static_cast<double>(kept_per_lane[lane]) / (kCount / 4), 1.0 - kP,
                                  kCount / 4.0));
  }
}

TEST(CpuDropout, SameKeyGivesTheSameMaskInForwardAndBackward) {
  std::mt19937_64 rng(5);
  constexpr std::int64_t kCount = 4099;
  const StepCounters counters{.seed = 0x123456789ABCDEFull, .step = 17};
  const auto x = nonzero_inputs(kCount, rng);
  const auto dy = nonzero_inputs(kCount, rng);
  std::vector<float> first(kCount), second(kCount), dx(kCount);
  cpu::dropout_forward(kCount, 0.5f, 3, &counters, x.data(), first.data());
  cpu::dropout_forward(kCount, 0.5f, 3, &counters, x.data(), second.data());
  cpu::dropout_backward(kCount, 0.5f, 3, &counters, dy.data(), dx.data());
  EXPECT_TRUE(bitwise_equal(second, first));
  EXPECT_EQ(kept(dx), kept(first));
  // In place (y aliasing x) gives the same output.
  std::vector<float> in_place = x;
  cpu::dropout_forward(kCount, 0.5f, 3, &counters, in_place.data(), in_place.data());
  EXPECT_TRUE(bitwise_equal(in_place, first));
}

// Changing any part of the key (seed, step, mask_stream) draws an independent mask: two masks
// then agree on a fraction p^2 + (1 - p)^2 of the elements, not on all of them.
TEST(CpuDropout, ChangingAnyPartOfTheKeyChangesTheMask) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  constexpr std::int64_t kCount = 1'000'000;
  constexpr float kP = 0.3f;
  const auto x = nonzero_inputs(kCount, rng);
  const StepCounters base{.seed = rng(), .step = rng() % 100'000};
  constexpr std::uint32_t kStream = 2;
  std::vector<float> y(kCount);
  cpu::dropout_forward(kCount, kP, kStream, &base, x.data(), y.data());
  const std::vector<bool> base_mask = kept(y);

  struct Variant {
    std::string what;
    StepCounters counters;
    std::uint32_t mask_stream;
  };
  const std::vector<Variant> variants = {
      {"seed + 1", {.seed = base.seed + 1, .step = base.step}, kStream},
      {"seed + 2^32", {.seed = base.seed + (1ull << 32), .step = base.step}, kStream},
      {"step + 1", {.seed = base.seed, .step = base.step + 1}, kStream},
      {"mask_stream + 1", base, kStream + 1},
  };
  const double expected_agreement = kP * kP + (1.0 - kP) * (1.0 - kP);
  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.what);
    cpu::dropout_forward(kCount, kP, variant.mask_stream, &variant.counters, x.data(), y.data());
    const std::vector<bool> mask = kept(y);
    std::int64_t agree = 0;
    for (std::int64_t i = 0; i < kCount; ++i) agree += mask[i] == base_mask[i] ? 1 : 0;
    EXPECT_TRUE(within_five_sigma(static_cast<double>(agree) / kCount, expected_agreement, kCount));
  }
}

TEST(CpuDropout, ZeroProbabilityIsTheIdentity) {
  std::mt19937_64 rng(9);
  auto x = testing::uniform_floats(1001, -3.0f, 3.0f, rng);
  x[0] = -0.0f;
  x[1] = std::numeric_limits<float>::infinity();
  x[2] = std::numeric_limits<float>::quiet_NaN();
  x[3] = std::numeric_limits<float>::denorm_min();
  const StepCounters counters{.seed = 1, .step = 2};
  std::vector<float> y(x.size()), dx(x.size());
  cpu::dropout_forward(1001, 0.0f, 0, &counters, x.data(), y.data());
  cpu::dropout_backward(1001, 0.0f, 0, &counters, x.data(), dx.data());
  EXPECT_TRUE(bitwise_equal(y, x));
  EXPECT_TRUE(bitwise_equal(dx, x));
}

// Central differences of L = sum(w * dropout(x)) with the key fixed: the mask is a pure function
// of the key, so L is linear in x and the only error is the float rounding of the outputs
// (ulp 1.2e-7 over a step of 2e-2, times |w| <= 2, about 1e-5): a tolerance of 1e-4.
TEST(CpuDropout, BackwardMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  constexpr std::int64_t kCount = 103;
  constexpr float kP = 0.3f;
  const StepCounters counters{.seed = rng(), .step = rng() % 100'000};
  const auto x = testing::uniform_floats(kCount, -1.0f, 1.0f, rng);
  const auto w = testing::uniform_floats(kCount, -2.0f, 2.0f, rng);
  auto loss = [&](std::span<const float> input) {
    std::vector<float> out(kCount);
    cpu::dropout_forward(kCount, kP, 1, &counters, input.data(), out.data());
    double sum = 0.0;
    for (std::int64_t i = 0; i < kCount; ++i) sum += static_cast<double>(w[i]) * out[i];
    return sum;
  };
  std::vector<float> dx(kCount);
  cpu::dropout_backward(kCount, kP, 1, &counters, w.data(), dx.data());
  EXPECT_TRUE(
      testing::gradient_matches(loss, x, dx, {.step = 1e-2, .tolerance = 1e-4, .skip = {}}));
}

// Count and p are checked by Backend (kernels/backend.cpp), once for every engine; the counters,
// which this engine reads on the host, by the reference itself.
TEST(CpuDropout, RejectsBadArguments) {
  cpu::CpuBackend backend;
  const StepCounters counters{};
  float value = 1.0f;
  for (const float p : {1.0f, 1.5f, -0.1f, std::numeric_limits<float>::quiet_NaN()}) {
    SCOPED_TRACE("p = " + std::to_string(p));
    try {
      backend.dropout_forward(1, p, 0, &counters, &value, &value, {});
      ADD_FAILURE() << "forward accepted p = " << p;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find("p must be in [0, 1)"), std::string::npos)
          << error.what();
    }
    EXPECT_THROW(backend.dropout_backward(1, p, 0, &counters, &value, &value, {}),
                 std::invalid_argument);
  }
  EXPECT_THROW(backend.dropout_forward(-1, 0.3f, 0, &counters, &value, &value, {}),
               std::invalid_argument);
  EXPECT_THROW(backend.dropout_backward(-1, 0.3f, 0, &counters, &value, &value, {}),
               std::invalid_argument);
  EXPECT_THROW(backend.dropout_forward(1, 0.3f, 0, nullptr, &value, &value, {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
