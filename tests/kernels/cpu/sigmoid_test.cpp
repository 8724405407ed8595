// The sigmoid reference against PyTorch, its stability for large |x|, NaN, aliasing and finite
// differences.
#include "kernels/cpu/sigmoid.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/backend.h"
#include "tests/support/activation_fixture.h"
#include "tests/support/gradient_check.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::all_close;

TEST(CpuSigmoid, MatchesPyTorchFixtures) {
  testing::expect_activation_matches_fixture("sigmoid", cpu::sigmoid_forward,
                                             cpu::sigmoid_backward);
}

// PyTorch's float formula at its limits: exp(-x) overflowing to inf gives exactly 0 (no NaN),
// and y saturates to exactly 1 from x = 16.64, where 1 + exp(-x) rounds to 1, as torch.sigmoid
// does (checked against PyTorch 1.13: sigmoid(16.5) = 0.99999988, sigmoid(16.7) = 1,
// sigmoid(-100) = 0, sigmoid(-88) = 6.0546015e-39).
TEST(CpuSigmoid, SaturatesWherePyTorchDoes) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {100.0f, -100.0f, 1e4f, -1e4f, inf, -inf, 16.5f, 16.7f, -88.0f};
  std::vector<float> y(x.size());
  std::feclearexcept(FE_INVALID);
  cpu::sigmoid_forward(static_cast<std::int64_t>(x.size()), x.data(), y.data());
  EXPECT_FALSE(std::fetestexcept(FE_INVALID)) << "an intermediate was an invalid operation";
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 1.0f);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_EQ(y[4], 1.0f);
  EXPECT_EQ(y[5], 0.0f);
  EXPECT_EQ(y[6], 0.99999988079071044921875f);
  EXPECT_EQ(y[7], 1.0f);
  EXPECT_EQ(y[8], 6.054601485195952e-39f);
  std::vector<float> dx(x.size());
  const std::vector<float> dy(x.size(), 1.0f);
  cpu::sigmoid_backward(static_cast<std::int64_t>(x.size()), y.data(), dy.data(), dx.data());
  for (std::size_t i = 0; i < 6; ++i) {  // the extremes: no gradient flows
    EXPECT_TRUE(std::isfinite(dx[i]));
    EXPECT_EQ(dx[i], 0.0f);
  }
}

TEST(CpuSigmoid, KnownValuesAndNan) {
  const std::vector<float> x = {0.0f, 1.0f, -1.0f, std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> y(x.size());
  cpu::sigmoid_forward(4, x.data(), y.data());
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_FLOAT_EQ(y[1], 0.7310585786f);
  EXPECT_FLOAT_EQ(y[2], 0.2689414214f);
  EXPECT_TRUE(std::isnan(y[3]));
}

TEST(CpuSigmoid, BackwardIsDyTimesOneMinusYTimesY) {
  const std::vector<float> y = {0.5f, 0.25f, 0.9f, 0.0f, 1.0f};
  const std::vector<float> dy = {2.0f, -4.0f, 10.0f, 3.0f, 3.0f};
  std::vector<float> dx(y.size(), 123.0f);
  cpu::sigmoid_backward(5, y.data(), dy.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<float>{0.5f, -0.75f, 0.9f, 0.0f, 0.0f}, {.rtol = 1e-6}));
}

TEST(CpuSigmoid, InPlace) {
  std::mt19937_64 rng(3);
  const auto x = testing::uniform_floats(33, -6.0f, 6.0f, rng);
  const auto dy = testing::uniform_floats(33, -1.0f, 1.0f, rng);
  std::vector<float> y(33), dx(33);
  cpu::sigmoid_forward(33, x.data(), y.data());
  cpu::sigmoid_backward(33, y.data(), dy.data(), dx.data());
  std::vector<float> in_place = x, grad_in_place = dy;
  cpu::sigmoid_forward(33, in_place.data(), in_place.data());
  cpu::sigmoid_backward(33, in_place.data(), grad_in_place.data(), grad_in_place.data());
  EXPECT_TRUE(all_close(in_place, y, {}));
  EXPECT_TRUE(all_close(grad_in_place, dx, {}));
}

// Central differences of L = sum(w * sigmoid(x)). Sigmoid is smooth with |f'''| <= 1/8, so a step
// of 1e-2 has a truncation error near 1e-5 and the float rounding of y adds about 1e-5 more
// (ulp 6e-8 over a step of 2e-2, times |w| <= 2): a tolerance of 1e-4 holds with margin.
TEST(CpuSigmoid, BackwardMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  constexpr std::int64_t kCount = 41;
  const auto x = testing::uniform_floats(kCount, -6.0f, 6.0f, rng);
  const auto w = testing::uniform_floats(kCount, -2.0f, 2.0f, rng);
  auto loss = [&](std::span<const float> input) {
    std::vector<float> out(kCount);
    cpu::sigmoid_forward(kCount, input.data(), out.data());
    double sum = 0.0;
    for (std::int64_t i = 0; i < kCount; ++i) sum += static_cast<double>(w[i]) * out[i];
    return sum;
  };
  std::vector<float> y(kCount), dx(kCount);
  cpu::sigmoid_forward(kCount, x.data(), y.data());
  cpu::sigmoid_backward(kCount, y.data(), w.data(), dx.data());
  EXPECT_TRUE(
      testing::gradient_matches(loss, x, dx, {.step = 1e-2, .tolerance = 1e-4, .skip = {}}));
}

// Checked by Backend (kernels/backend.cpp), once for every engine, before the reference runs.
TEST(CpuSigmoid, RejectsNegativeCount) {
  cpu::CpuBackend backend;
  float value = 0.0f;
  EXPECT_THROW(backend.sigmoid_forward(-1, &value, &value), std::invalid_argument);
  EXPECT_THROW(backend.sigmoid_backward(-1, &value, &value, &value), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
