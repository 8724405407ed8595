// Finite-difference gradient checks (after Caffe's GradientChecker): the analytic gradient of a
// scalar loss is compared with central differences (L(x + h) - L(x - h)) / 2h, the loss summed in
// double precision over the float op's outputs. Elements too close to a kink (ReLU at 0, a tie
// in a max) are skipped through `skip`, because no derivative exists there.
// Refuses to pass vacuously: an all-zero gradient on both sides, or no element checked at all, is
// a failure, since such a check would prove nothing.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <span>
#include <sstream>
#include <vector>

namespace kiln::testing {

struct GradientCheck {
  double step = 1e-2;
  // |analytic - numeric| <= tolerance * max(1, |analytic|, |numeric|)
  double tolerance = 1e-3;
  std::function<bool(std::size_t index)> skip;
};

inline ::testing::AssertionResult gradient_matches(
    const std::function<double(std::span<const float> input)>& loss, std::span<const float> at,
    std::span<const float> analytic, const GradientCheck& check = {}) {
  if (analytic.size() != at.size()) {
    return ::testing::AssertionFailure()
           << "gradient has " << analytic.size() << " elements for an input of " << at.size();
  }
  std::vector<float> input(at.begin(), at.end());
  std::size_t checked = 0;
  std::size_t mismatches = 0;
  bool any_nonzero = false;
  std::ostringstream first;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (check.skip && check.skip(i)) continue;
    const float original = input[i];
    input[i] = static_cast<float>(original + check.step);
    const double plus = loss(input);
    input[i] = static_cast<float>(original - check.step);
    const double minus = loss(input);
    input[i] = original;
    // The step actually taken in float, not the one asked for.
    const double taken = static_cast<double>(static_cast<float>(original + check.step)) -
                         static_cast<double>(static_cast<float>(original - check.step));
    const double numeric = (plus - minus) / taken;
    const double a = analytic[i];
    ++checked;
    any_nonzero = any_nonzero || a != 0.0 || std::abs(numeric) > 1e-12;
    const double scale = std::max({1.0, std::abs(a), std::abs(numeric)});
    if (!(std::abs(a - numeric) <= check.tolerance * scale) && mismatches++ < 8) {
      first << "\n  [" << i << "] analytic " << a << ", numeric " << numeric;
    }
  }
  if (checked == 0) {
    return ::testing::AssertionFailure() << "no element was checked: every one was skipped";
  }
  if (!any_nonzero) {
    return ::testing::AssertionFailure()
           << "refused: analytic and numeric gradients are all zero, so the check proves nothing";
  }
  if (mismatches > 0) {
    return ::testing::AssertionFailure()
           << mismatches << " of " << checked << " checked elements differ; first:" << first.str();
  }
  return ::testing::AssertionSuccess() << checked << " elements checked";
}

// The values and gradients of a layer with an input, a weight and a bias (conv2d, linear).
struct LayerGradients {
  std::span<const float> x, weight, bias;
};

// Checks dx, dweight and dbias of loss(x, weight, bias), each against central differences in its
// own argument with the other two held at `at`; a failure names the gradient.
inline void expect_layer_gradients_match(
    const std::function<double(const float* x, const float* weight, const float* bias)>& loss,
    const LayerGradients& at, const LayerGradients& analytic, const GradientCheck& check) {
  EXPECT_TRUE(gradient_matches(
      [&](std::span<const float> xs) { return loss(xs.data(), at.weight.data(), at.bias.data()); },
      at.x, analytic.x, check))
      << "dx";
  EXPECT_TRUE(gradient_matches(
      [&](std::span<const float> ws) { return loss(at.x.data(), ws.data(), at.bias.data()); },
      at.weight, analytic.weight, check))
      << "dweight";
  EXPECT_TRUE(gradient_matches(
      [&](std::span<const float> bs) { return loss(at.x.data(), at.weight.data(), bs.data()); },
      at.bias, analytic.bias, check))
      << "dbias";
}

}  // namespace kiln::testing
