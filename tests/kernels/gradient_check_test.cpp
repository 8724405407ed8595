// The finite-difference checker checked: it accepts a correct gradient, catches wrong ones, and
// refuses the checks that would prove nothing (all-zero gradients, every element skipped).
#include "tests/support/gradient_check.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tests/support/random.h"

namespace kiln {
namespace {

using testing::gradient_matches;

// loss = sum(w * x^2), gradient 2 * w * x: smooth, so central differences are exact up to
// rounding (the third derivative is zero).
struct Quadratic {
  std::vector<float> w;

  double operator()(std::span<const float> x) const {
    double sum = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += static_cast<double>(w[i]) * x[i] * x[i];
    return sum;
  }
  std::vector<float> gradient(const std::vector<float>& x) const {
    std::vector<float> g(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) g[i] = 2.0f * w[i] * x[i];
    return g;
  }
};

class GradientCheckSelfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::uint64_t seed = testing::fresh_seed();
    trace_ = testing::seed_trace(seed);
    std::mt19937_64 rng(seed);
    x_ = testing::uniform_floats(23, -2.0f, 2.0f, rng);
    loss_.w = testing::uniform_floats(23, 0.5f, 3.0f, rng);
  }

  std::string trace_;
  std::vector<float> x_;
  Quadratic loss_;
};

TEST_F(GradientCheckSelfTest, AcceptsTheCorrectGradient) {
  SCOPED_TRACE(trace_);
  EXPECT_TRUE(gradient_matches(loss_, x_, loss_.gradient(x_)));
}

TEST_F(GradientCheckSelfTest, CatchesAGradientOffByTenPercent) {
  SCOPED_TRACE(trace_);
  std::vector<float> wrong = loss_.gradient(x_);
  for (float& g : wrong) g *= 1.1f;
  EXPECT_FALSE(gradient_matches(loss_, x_, wrong));
}

TEST_F(GradientCheckSelfTest, CatchesOneWrongElement) {
  SCOPED_TRACE(trace_);
  std::vector<float> wrong = loss_.gradient(x_);
  wrong[11] += 0.05f;
  const auto result = gradient_matches(loss_, x_, wrong);
  EXPECT_FALSE(result);
  EXPECT_NE(std::string(result.message()).find("[11]"), std::string::npos) << result.message();
}

TEST_F(GradientCheckSelfTest, CatchesASizeMismatch) {
  SCOPED_TRACE(trace_);
  const std::vector<float> short_gradient(x_.size() - 1, 0.0f);
  EXPECT_FALSE(gradient_matches(loss_, x_, short_gradient));
}

TEST_F(GradientCheckSelfTest, SkippedElementsAreNotChecked) {
  SCOPED_TRACE(trace_);
  std::vector<float> wrong = loss_.gradient(x_);
  wrong[4] = 1000.0f;
  EXPECT_TRUE(gradient_matches(loss_, x_, wrong, {.skip = [](std::size_t i) { return i == 4; }}));
}

// A constant loss has a zero gradient, and a zero analytic gradient agrees with it: a check that
// cannot fail proves nothing, so it is refused.
TEST_F(GradientCheckSelfTest, RefusesAllZeroGradients) {
  SCOPED_TRACE(trace_);
  const auto constant = [](std::span<const float>) { return 3.0; };
  const std::vector<float> zeros(x_.size(), 0.0f);
  const auto result = gradient_matches(constant, x_, zeros);
  EXPECT_FALSE(result);
  EXPECT_NE(std::string(result.message()).find("refused"), std::string::npos) << result.message();
}

TEST_F(GradientCheckSelfTest, FailsWhenEveryElementIsSkipped) {
  SCOPED_TRACE(trace_);
  const auto result =
      gradient_matches(loss_, x_, loss_.gradient(x_), {.skip = [](std::size_t) { return true; }});
  EXPECT_FALSE(result);
  EXPECT_NE(std::string(result.message()).find("no element was checked"), std::string::npos)
      << result.message();
}

}  // namespace
}  // namespace kiln
