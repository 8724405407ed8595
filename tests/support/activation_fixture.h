// An activation's CPU reference against its cases in PyTorch's activations fixture: forward and
// backward (from the forward's output) within 1e-5 relative L2.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"
#include "tests/support/tolerance.h"

namespace kiln::testing {

using ActivationForward = void (*)(std::int64_t count, const float* x, float* y);
using ActivationBackward = void (*)(std::int64_t count, const float* y, const float* dy, float* dx);

inline void expect_activation_matches_fixture(const std::string& op, ActivationForward forward,
                                              ActivationBackward backward) {
  const Fixture fixture("activations");
  const auto names = fixture.cases_where("op", op);
  EXPECT_FALSE(names.empty()) << "no " << op << " case in the activations fixture";
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const auto x = fixture.floats(name, "x");
    const auto dy = fixture.floats(name, "dy");
    const auto count = static_cast<std::int64_t>(x.size());
    std::vector<float> y(x.size(), -1.0f), dx(x.size(), -1.0f);
    forward(count, x.data(), y.data());
    backward(count, y.data(), dy.data(), dx.data());
    EXPECT_TRUE(close_in_l2(y, fixture.floats(name, "y"), 1e-5));
    EXPECT_TRUE(close_in_l2(dx, fixture.floats(name, "dx"), 1e-5));
  }
}

}  // namespace kiln::testing
