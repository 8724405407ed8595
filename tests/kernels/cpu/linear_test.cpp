// The linear reference against PyTorch (tests/golden/linear_fixtures.py), against finite
// differences, and against its invariants: each backward pass is the adjoint of the forward pass
// in its argument, and a linear layer is a 1x1 convolution of a 1x1 image.
#include "kernels/cpu/linear.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/cpu/backend.h"
#include "kernels/cpu/conv2d.h"
#include "tests/support/compact_tensors.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"
#include "tests/support/vectors.h"

namespace kiln {
namespace {

using testing::close_in_l2;

// The input streams of the fixture cases (linear_fixtures.py).
constexpr std::uint32_t kXStream = 0;
constexpr std::uint32_t kWeightStream = 1;
constexpr std::uint32_t kBiasStream = 2;
constexpr std::uint32_t kDyStream = 3;

std::int64_t input_elements(const LinearShape& shape) {
  return std::int64_t{shape.batch} * shape.in_features;
}
std::int64_t weight_elements(const LinearShape& shape) {
  return std::int64_t{shape.out_features} * shape.in_features;
}
std::int64_t output_elements(const LinearShape& shape) {
  return std::int64_t{shape.batch} * shape.out_features;
}

using testing::absolute;
using testing::inner_product;
using testing::random_floats;
using testing::unwritten;

TEST(CpuLinear, MatchesPyTorch) {
  const testing::Fixture fixture("linear");
  for (const std::string& name : fixture.cases()) {
    SCOPED_TRACE(name);
    const nlohmann::json params = fixture.params(name);
    const LinearShape shape{.batch = params.at("batch"),
                            .in_features = params.at("in_features"),
                            .out_features = params.at("out_features")};
    const std::uint64_t seed = params.at("seed");
    const bool has_bias = params.at("bias");
    const auto x = testing::drawn_input(input_elements(shape), seed, kXStream);
    const auto weight = testing::drawn_input(weight_elements(shape), seed, kWeightStream);
    const auto bias = testing::drawn_input(shape.out_features, seed, kBiasStream);
    const auto dy = testing::drawn_input(output_elements(shape), seed, kDyStream);

    auto y = unwritten(output_elements(shape));
    auto dx = unwritten(input_elements(shape));
    auto dweight = unwritten(weight_elements(shape));
    cpu::linear_forward(shape, x.data(), weight.data(), has_bias ? bias.data() : nullptr, y.data());
    cpu::linear_backward_data(shape, dy.data(), weight.data(), dx.data());
    cpu::linear_backward_weight(shape, x.data(), dy.data(), dweight.data());
    auto expect_matches = [&](const std::string& tensor, std::span<const float> actual) {
      EXPECT_TRUE(close_in_l2(testing::stored_elements(fixture, name, tensor, actual),
                              fixture.floats(name, tensor), 1e-5))
          << tensor;
    };
    expect_matches("y", y);
    expect_matches("dx", dx);
    expect_matches("dweight", dweight);
    if (has_bias) {
      auto dbias = unwritten(shape.out_features);
      cpu::linear_backward_bias(shape, dy.data(), dbias.data());
      expect_matches("dbias", dbias);
    }
  }
}

// Odd batches, a single output feature, and sizes that fill no GEMM tile of OpenBLAS exactly.
const LinearShape kSmallShapes[] = {
    {.batch = 3, .in_features = 7, .out_features = 5},
    {.batch = 1, .in_features = 13, .out_features = 1},
    {.batch = 5, .in_features = 19, .out_features = 9},
};

// Linear is linear in x, in weight and in bias, so central differences have no truncation error
// whatever the step: a large step (0.5) makes the float rounding of the forward pass (about 1e-7
// of the loss) negligible against the difference, and 1e-4 relative is then ample.
TEST(CpuLinear, BackwardMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  const testing::GradientCheck check{.step = 0.5, .tolerance = 1e-4, .skip = {}};
  for (const LinearShape& shape : kSmallShapes) {
    SCOPED_TRACE(shape.to_string());
    const auto x = random_floats(input_elements(shape), rng);
    const auto weight = random_floats(weight_elements(shape), rng);
    const auto bias = random_floats(shape.out_features, rng);
    // L = sum(loss_weights * y), so dL/dy = loss_weights.
    const auto loss_weights = random_floats(output_elements(shape), rng);
    auto loss = [&](const float* xs, const float* ws, const float* bs) {
      std::vector<float> y(static_cast<std::size_t>(output_elements(shape)));
      cpu::linear_forward(shape, xs, ws, bs, y.data());
      return inner_product(y, loss_weights);
    };

    auto dx = unwritten(input_elements(shape));
    auto dweight = unwritten(weight_elements(shape));
    auto dbias = unwritten(shape.out_features);
    cpu::linear_backward_data(shape, loss_weights.data(), weight.data(), dx.data());
    cpu::linear_backward_weight(shape, x.data(), loss_weights.data(), dweight.data());
    cpu::linear_backward_bias(shape, loss_weights.data(), dbias.data());
    testing::expect_layer_gradients_match(loss, {x, weight, bias}, {dx, dweight, dbias}, check);
  }
}

// <linear(x; W), dy> = <x, backward_data(dy; W)> = <W, backward_weight(x, dy)> in double,
// including mnist-cnn's fc1. All three sides add up the same products x * W * dy in different
// orders, so the tolerance is 1e-5 of their absolute sum.
TEST(CpuLinear, BackwardPassesAreAdjointsOfForward) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  std::vector<LinearShape> shapes(std::begin(kSmallShapes), std::end(kSmallShapes));
  shapes.push_back({.batch = 3, .in_features = 2048, .out_features = 625});
  for (const LinearShape& shape : shapes) {
    SCOPED_TRACE(shape.to_string());
    const auto x = random_floats(input_elements(shape), rng);
    const auto weight = random_floats(weight_elements(shape), rng);
    const auto dy = random_floats(output_elements(shape), rng);
    auto y = unwritten(output_elements(shape));
    auto dx = unwritten(input_elements(shape));
    auto dweight = unwritten(weight_elements(shape));
    cpu::linear_forward(shape, x.data(), weight.data(), nullptr, y.data());
    cpu::linear_backward_data(shape, dy.data(), weight.data(), dx.data());
    cpu::linear_backward_weight(shape, x.data(), dy.data(), dweight.data());

    const double forward = inner_product(y, dy);
    // The absolute sum of those products: <forward(|x|; |w|), |dy|>.
    auto magnitudes = unwritten(output_elements(shape));
    cpu::linear_forward(shape, absolute(x).data(), absolute(weight).data(), nullptr,
                        magnitudes.data());
    const double tolerance = 1e-5 * inner_product(magnitudes, absolute(dy));
    EXPECT_NEAR(inner_product(x, dx), forward, tolerance) << "backward_data";
    EXPECT_NEAR(inner_product(weight, dweight), forward, tolerance) << "backward_weight";
  }
}

// The same weight [out, in] read as a conv weight [out, in, 1, 1] over images [in, 1, 1] gives
// the same outputs: the two references agree with each other, through different loops.
TEST(CpuLinear, EqualsOneByOneConvolutionOfOnePixel) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  const LinearShape shape{.batch = 5, .in_features = 37, .out_features = 11};
  const Conv2dShape conv{.batch = shape.batch,
                         .in_channels = shape.in_features,
                         .in_height = 1,
                         .in_width = 1,
                         .out_channels = shape.out_features,
                         .kernel_height = 1,
                         .kernel_width = 1};
  const auto x = random_floats(input_elements(shape), rng);
  const auto weight = random_floats(weight_elements(shape), rng);
  const auto bias = random_floats(shape.out_features, rng);
  auto y = unwritten(output_elements(shape));
  auto conv_y = unwritten(output_elements(shape));
  cpu::linear_forward(shape, x.data(), weight.data(), bias.data(), y.data());
  std::vector<std::byte> workspace(cpu::conv2d_workspace_bytes(conv));
  cpu::conv2d_forward(conv, x.data(), weight.data(), bias.data(), conv_y.data(), workspace);
  EXPECT_TRUE(testing::all_close(y, conv_y, {.atol = 1e-5, .rtol = 1e-5}));
}

// Every op validates its shape before touching memory (the pointers here are null) and names the
// offending field: Backend (kernels/backend.cpp) does, once for every engine.
void expect_rejected(const LinearShape& shape, std::string_view field) {
  SCOPED_TRACE(shape.to_string());
  cpu::CpuBackend backend;
  const std::function<void()> ops[] = {
      [&] { backend.linear_forward(shape, nullptr, nullptr, nullptr, nullptr); },
      [&] { backend.linear_backward_data(shape, nullptr, nullptr, nullptr); },
      [&] { backend.linear_backward_weight(shape, nullptr, nullptr, nullptr); },
      [&] { backend.linear_backward_bias(shape, nullptr, nullptr); },
  };
  for (const auto& op : ops) {
    try {
      op();
      ADD_FAILURE() << "accepted a bad shape; expected a complaint about " << field;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string_view(error.what()).find(field), std::string_view::npos) << error.what();
    }
  }
}

TEST(CpuLinear, RejectsBadShapes) {
  expect_rejected({.batch = 0, .in_features = 4, .out_features = 3}, "batch");
  expect_rejected({.batch = 2, .in_features = -1, .out_features = 3}, "in_features");
  expect_rejected({.batch = 2, .in_features = 4, .out_features = 0}, "out_features");
}

}  // namespace
}  // namespace kiln
