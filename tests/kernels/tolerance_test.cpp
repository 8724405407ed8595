// The comparisons and bounds the GPU tests judge kernels by, checked on the host: a bound that
// cannot hold fails every GPU run, one that is too loose passes broken kernels.
#include "tests/support/tolerance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/cpu/sigmoid.h"
#include "tests/support/random.h"
#include "tests/support/sigmoid_tolerance.h"

namespace kiln {
namespace {

const float kNan = std::numeric_limits<float>::quiet_NaN();

TEST(Comparisons, ValueEqualTreatsSignedZerosAsEqualAndBitwiseDoesNot) {
  const std::vector<float> reference = {0.0f, -0.0f, 1.5f, kNan};
  const std::vector<float> other_zeros = {-0.0f, 0.0f, 1.5f, -kNan};
  EXPECT_TRUE(testing::value_equal(other_zeros, reference));
  EXPECT_FALSE(testing::bitwise_equal(other_zeros, reference));
  EXPECT_TRUE(testing::bitwise_equal(reference, reference));
}

TEST(Comparisons, ValueEqualFailsOnADifferentValueOrALoneNan) {
  EXPECT_FALSE(
      testing::value_equal(std::vector<float>{1.0f, 2.0f}, std::vector<float>{1.0f, 3.0f}));
  EXPECT_FALSE(testing::value_equal(std::vector<float>{kNan}, std::vector<float>{0.0f}));
  EXPECT_FALSE(testing::value_equal(std::vector<float>{1.0f}, std::vector<float>{1.0f, 1.0f}));
}

float once_rounded_exp(float v) { return static_cast<float>(std::exp(static_cast<double>(v))); }

// The worst distance of y = 1 / (1 + e) when e is off by up to kSigmoidExpUlps floats, over every
// float x in [-20, -10]: where e crosses 2^24 and the GPU test's bound is decided. It must stay
// within kSigmoidForwardUlps, and reach it (a looser bound would hide a broken kernel).
TEST(SigmoidTolerance, BoundCoversTheDevicesExpRounding) {
  std::int64_t worst = 0;
  for (float x = -20.0f; x <= -10.0f; x = std::nextafter(x, 0.0f)) {
    const float e = once_rounded_exp(-x);
    const float y = 1.0f / (1.0f + e);
    float below = e;
    float above = e;
    for (int step = 0; step < testing::kSigmoidExpUlps; ++step) {
      below = std::nextafter(below, 0.0f);
      above = std::nextafter(above, std::numeric_limits<float>::infinity());
      for (const float off : {below, above}) {
        const std::int64_t d = testing::ulp_distance(1.0f / (1.0f + off), y);
        ASSERT_LE(d, testing::kSigmoidForwardUlps) << "x = " << x << ", e = " << off;
        worst = std::max(worst, d);
      }
    }
  }
  EXPECT_EQ(worst, testing::kSigmoidForwardUlps);
}

// The reference rounds exp(-x) once from double, which is what makes it reproducible on the GPU:
// glibc's expf would differ from it on about one input in 14,000.
TEST(SigmoidTolerance, ReferenceRoundsExpOnce) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  const auto x = testing::uniform_floats(1 << 20, -20.0f, 20.0f, rng);
  std::vector<float> y(x.size());
  cpu::sigmoid_forward(static_cast<std::int64_t>(x.size()), x.data(), y.data());
  std::vector<float> expected(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) expected[i] = 1.0f / (1.0f + once_rounded_exp(-x[i]));
  EXPECT_TRUE(testing::bitwise_equal(y, expected));
}

}  // namespace
}  // namespace kiln
