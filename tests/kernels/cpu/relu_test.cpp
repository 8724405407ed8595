// The ReLU reference against its definition, PyTorch's edge cases and fixtures, and a
// finite-difference check.
#include "kernels/cpu/relu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "tests/support/activation_fixture.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::all_close;

TEST(CpuRelu, MatchesPyTorchFixtures) {
  testing::expect_activation_matches_fixture("relu", cpu::relu_forward, cpu::relu_backward);
}

TEST(CpuRelu, ForwardMatchesDefinition) {
  const std::vector<float> x = {-2.5f, -1e-30f, 0.0f, 1e-30f, 3.25f, -7.0f, 1e30f};
  const std::vector<float> expected = {0.0f, 0.0f, 0.0f, 1e-30f, 3.25f, 0.0f, 1e30f};
  std::vector<float> y(x.size(), -1.0f);
  cpu::relu_forward(static_cast<std::int64_t>(x.size()), x.data(), y.data());
  EXPECT_TRUE(all_close(y, expected, {}));
}

TEST(CpuRelu, ForwardPropagatesNanAndInfinityLikePyTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {nan, inf, -inf};
  std::vector<float> y(x.size());
  cpu::relu_forward(3, x.data(), y.data());
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], inf);
  EXPECT_EQ(y[2], 0.0f);
}

TEST(CpuRelu, ForwardInPlace) {
  std::vector<float> x = {-1.0f, 2.0f, -3.0f, 4.0f};
  cpu::relu_forward(4, x.data(), x.data());
  EXPECT_TRUE(all_close(x, std::vector<float>{0.0f, 2.0f, 0.0f, 4.0f}, {}));
}

TEST(CpuRelu, BackwardPassesGradientOnlyWhereOutputIsPositive) {
  // The output at the kink is 0, so its gradient is 0, as in PyTorch's threshold_backward.
  const std::vector<float> y = {0.0f, 1.5f, 0.0f, 2.0f, 1e-30f};
  const std::vector<float> dy = {0.5f, -0.25f, 3.0f, 7.0f, -9.0f};
  const std::vector<float> expected = {0.0f, -0.25f, 0.0f, 7.0f, -9.0f};
  std::vector<float> dx(y.size(), 123.0f);
  cpu::relu_backward(static_cast<std::int64_t>(y.size()), y.data(), dy.data(), dx.data());
  EXPECT_TRUE(all_close(dx, expected, {}));
}

// Central differences of L = sum(w * relu(x)) against the analytic gradient, away from the kink
// (|x| >= 0.05 with a step of 1e-3) where the derivative is defined.
TEST(CpuRelu, BackwardMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  constexpr std::int64_t kCount = 37;
  std::vector<float> x = testing::uniform_floats(kCount, -1.0f, 1.0f, rng);
  for (float& v : x) {
    if (std::abs(v) < 0.05f) v = std::copysign(0.05f, v);
  }
  const std::vector<float> w = testing::uniform_floats(kCount, -2.0f, 2.0f, rng);

  auto loss = [&](const std::vector<float>& input) {
    std::vector<float> out(input.size());
    cpu::relu_forward(kCount, input.data(), out.data());
    double sum = 0.0;
    for (std::int64_t i = 0; i < kCount; ++i) sum += static_cast<double>(w[i]) * out[i];
    return sum;
  };

  std::vector<float> y(kCount), dx(kCount);
  cpu::relu_forward(kCount, x.data(), y.data());
  cpu::relu_backward(kCount, y.data(), w.data(), dx.data());

  constexpr float kStep = 1e-3f;
  std::vector<float> numeric(kCount);
  for (std::int64_t i = 0; i < kCount; ++i) {
    std::vector<float> plus = x, minus = x;
    plus[i] += kStep;
    minus[i] -= kStep;
    numeric[i] = static_cast<float>((loss(plus) - loss(minus)) / (2.0 * kStep));
  }
  EXPECT_TRUE(all_close(dx, numeric, {.atol = 1e-3, .rtol = 1e-3}));
}

}  // namespace
}  // namespace kiln
