// The conv2d reference against PyTorch (tests/golden/conv2d_fixtures.py), against finite
// differences, and against its invariants: a 1x1 convolution is a matrix product at every pixel,
// and each backward pass is the adjoint of the forward pass in its argument.
#include "kernels/cpu/conv2d.h"

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
#include "tests/support/compact_tensors.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"
#include "tests/support/vectors.h"

namespace kiln {
namespace {

// The scratch memory every convolution pass takes, sized for `shape`.
std::vector<std::byte> workspace_for(const Conv2dShape& shape) {
  return std::vector<std::byte>(cpu::conv2d_workspace_bytes(shape));
}

using testing::close_in_l2;

// The input streams of the fixture cases (conv2d_fixtures.py).
constexpr std::uint32_t kXStream = 0;
constexpr std::uint32_t kWeightStream = 1;
constexpr std::uint32_t kBiasStream = 2;
constexpr std::uint32_t kDyStream = 3;

using testing::absolute;
using testing::inner_product;
using testing::random_floats;
using testing::unwritten;

Conv2dShape fixture_shape(const nlohmann::json& params) {
  return {.batch = params.at("batch"),
          .in_channels = params.at("in_channels"),
          .in_height = params.at("in_height"),
          .in_width = params.at("in_width"),
          .out_channels = params.at("out_channels"),
          .kernel_height = params.at("kernel_height"),
          .kernel_width = params.at("kernel_width"),
          .stride_height = params.at("stride_height"),
          .stride_width = params.at("stride_width"),
          .pad_height = params.at("pad_height"),
          .pad_width = params.at("pad_width")};
}

TEST(CpuConv2d, MatchesPyTorch) {
  const testing::Fixture fixture("conv2d");
  for (const std::string& name : fixture.cases()) {
    SCOPED_TRACE(name);
    const nlohmann::json params = fixture.params(name);
    const Conv2dShape shape = fixture_shape(params);
    const std::uint64_t seed = params.at("seed");
    const bool has_bias = params.at("bias");
    const auto x = testing::drawn_input(shape.input_elements(), seed, kXStream);
    const auto weight = testing::drawn_input(shape.weight_elements(), seed, kWeightStream);
    const auto bias = testing::drawn_input(shape.out_channels, seed, kBiasStream);
    const auto dy = testing::drawn_input(shape.output_elements(), seed, kDyStream);

    auto y = unwritten(shape.output_elements());
    auto dx = unwritten(shape.input_elements());
    auto dweight = unwritten(shape.weight_elements());
    auto workspace = workspace_for(shape);
    cpu::conv2d_forward(shape, x.data(), weight.data(), has_bias ? bias.data() : nullptr, y.data(),
                        workspace);
    cpu::conv2d_backward_data(shape, dy.data(), weight.data(), dx.data(), workspace);
    cpu::conv2d_backward_filter(shape, x.data(), dy.data(), dweight.data(), workspace);
    auto expect_matches = [&](const std::string& tensor, std::span<const float> actual) {
      EXPECT_TRUE(close_in_l2(testing::stored_elements(fixture, name, tensor, actual),
                              fixture.floats(name, tensor), 1e-5))
          << tensor;
    };
    expect_matches("y", y);
    expect_matches("dx", dx);
    expect_matches("dweight", dweight);
    if (has_bias) {
      auto dbias = unwritten(shape.out_channels);
      cpu::conv2d_backward_bias(shape, dy.data(), dbias.data());
      expect_matches("dbias", dbias);
    }
  }
}

// Small awkward shapes: stride 2 with padding, a non-square kernel, stride and padding, a 1x1
// kernel whose stride skips pixels.
const Conv2dShape kSmallShapes[] = {
    {.batch = 2,
     .in_channels = 3,
     .in_height = 5,
     .in_width = 7,
     .out_channels = 2,
     .kernel_height = 3,
     .kernel_width = 3,
     .stride_height = 2,
     .stride_width = 2,
     .pad_height = 1,
     .pad_width = 1},
    {.batch = 1,
     .in_channels = 2,
     .in_height = 6,
     .in_width = 5,
     .out_channels = 3,
     .kernel_height = 2,
     .kernel_width = 3,
     .stride_height = 1,
     .stride_width = 2,
     .pad_height = 2,
     .pad_width = 0},
    {.batch = 3,
     .in_channels = 1,
     .in_height = 5,
     .in_width = 4,
     .out_channels = 2,
     .kernel_height = 1,
     .kernel_width = 1,
     .stride_height = 2,
     .stride_width = 3},
};

// conv2d is linear in x, in weight and in bias, so central differences have no truncation error
// whatever the step: a large step (0.5) makes the float rounding of the forward pass (about 1e-7
// of the loss) negligible against the difference, and 1e-4 relative is then ample.
TEST(CpuConv2d, BackwardMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  const testing::GradientCheck check{.step = 0.5, .tolerance = 1e-4, .skip = {}};
  for (const Conv2dShape& shape : kSmallShapes) {
    SCOPED_TRACE(shape.to_string());
    const auto x = random_floats(shape.input_elements(), rng);
    const auto weight = random_floats(shape.weight_elements(), rng);
    const auto bias = random_floats(shape.out_channels, rng);
    // L = sum(loss_weights * y), so dL/dy = loss_weights.
    const auto loss_weights = random_floats(shape.output_elements(), rng);
    auto workspace = workspace_for(shape);
    auto loss = [&](const float* xs, const float* ws, const float* bs) {
      std::vector<float> y(static_cast<std::size_t>(shape.output_elements()));
      cpu::conv2d_forward(shape, xs, ws, bs, y.data(), workspace);
      return inner_product(y, loss_weights);
    };

    auto dx = unwritten(shape.input_elements());
    auto dweight = unwritten(shape.weight_elements());
    auto dbias = unwritten(shape.out_channels);
    cpu::conv2d_backward_data(shape, loss_weights.data(), weight.data(), dx.data(), workspace);
    cpu::conv2d_backward_filter(shape, x.data(), loss_weights.data(), dweight.data(), workspace);
    cpu::conv2d_backward_bias(shape, loss_weights.data(), dbias.data());
    testing::expect_layer_gradients_match(loss, {x, weight, bias}, {dx, dweight, dbias}, check);
  }
}

TEST(CpuConv2d, OneByOneKernelIsAMatrixProductAtEveryPixel) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  const Conv2dShape shape{.batch = 3,
                          .in_channels = 7,
                          .in_height = 5,
                          .in_width = 6,
                          .out_channels = 4,
                          .kernel_height = 1,
                          .kernel_width = 1};
  const auto x = random_floats(shape.input_elements(), rng);
  const auto weight = random_floats(shape.weight_elements(), rng);
  const auto bias = random_floats(shape.out_channels, rng);
  auto y = unwritten(shape.output_elements());
  auto workspace = workspace_for(shape);
  cpu::conv2d_forward(shape, x.data(), weight.data(), bias.data(), y.data(), workspace);

  // y[n, o, pixel] = bias[o] + sum over c of weight[o, c] * x[n, c, pixel], in double.
  const int pixels = shape.in_height * shape.in_width;
  std::vector<float> expected;
  for (int n = 0; n < shape.batch; ++n) {
    for (int o = 0; o < shape.out_channels; ++o) {
      for (int pixel = 0; pixel < pixels; ++pixel) {
        double sum = bias[o];
        for (int c = 0; c < shape.in_channels; ++c) {
          sum += static_cast<double>(weight[o * shape.in_channels + c]) *
                 x[(n * shape.in_channels + c) * pixels + pixel];
        }
        expected.push_back(static_cast<float>(sum));
      }
    }
  }
  EXPECT_TRUE(testing::all_close(y, expected, {.atol = 1e-6, .rtol = 1e-5}));
}

// The adjoint identities <conv(x; w), dy> = <x, backward_data(dy; w)> = <w, backward_filter(x,
// dy)> in double, on awkward shapes and on mnist-cnn's layer2. All three sides add up the same
// products x * w * dy in different orders, so the tolerance is 1e-5 of their absolute sum.
TEST(CpuConv2d, BackwardPassesAreAdjointsOfForward) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  std::vector<Conv2dShape> shapes(std::begin(kSmallShapes), std::end(kSmallShapes));
  shapes.push_back({.batch = 2,
                    .in_channels = 7,
                    .in_height = 13,
                    .in_width = 11,
                    .out_channels = 3,
                    .kernel_height = 5,
                    .kernel_width = 5,
                    .stride_height = 2,
                    .stride_width = 2,
                    .pad_height = 2,
                    .pad_width = 2});
  shapes.push_back({.batch = 2,
                    .in_channels = 32,
                    .in_height = 14,
                    .in_width = 14,
                    .out_channels = 64,
                    .kernel_height = 3,
                    .kernel_width = 3,
                    .pad_height = 1,
                    .pad_width = 1});
  for (const Conv2dShape& shape : shapes) {
    SCOPED_TRACE(shape.to_string());
    const auto x = random_floats(shape.input_elements(), rng);
    const auto weight = random_floats(shape.weight_elements(), rng);
    const auto dy = random_floats(shape.output_elements(), rng);
    auto y = unwritten(shape.output_elements());
    auto dx = unwritten(shape.input_elements());
    auto dweight = unwritten(shape.weight_elements());
    auto workspace = workspace_for(shape);
    cpu::conv2d_forward(shape, x.data(), weight.data(), nullptr, y.data(), workspace);
    cpu::conv2d_backward_data(shape, dy.data(), weight.data(), dx.data(), workspace);
    cpu::conv2d_backward_filter(shape, x.data(), dy.data(), dweight.data(), workspace);

    const double forward = inner_product(y, dy);
    // The absolute sum of those products: <forward(|x|; |w|), |dy|>.
    auto magnitudes = unwritten(shape.output_elements());
    cpu::conv2d_forward(shape, absolute(x).data(), absolute(weight).data(), nullptr,
                        magnitudes.data(), workspace);
    const double tolerance = 1e-5 * inner_product(magnitudes, absolute(dy));
    EXPECT_NEAR(inner_product(x, dx), forward, tolerance) << "backward_data";
    EXPECT_NEAR(inner_product(weight, dweight), forward, tolerance) << "backward_filter";
  }
}

// Every op validates its shape before touching memory (the pointers here are null) and names the
// offending field: the passes in Backend (kernels/backend.cpp), once for every engine, the
// workspace query in the reference.
void expect_rejected(const Conv2dShape& shape, std::string_view fault) {
  SCOPED_TRACE(shape.to_string());
  cpu::CpuBackend backend;
  const std::function<void()> ops[] = {
      [&] { cpu::conv2d_workspace_bytes(shape); },
      [&] { backend.conv2d_forward(shape, nullptr, nullptr, nullptr, nullptr, {}); },
      [&] { backend.conv2d_backward_data(shape, nullptr, nullptr, nullptr, {}); },
      [&] { backend.conv2d_backward_filter(shape, nullptr, nullptr, nullptr, {}); },
      [&] { backend.conv2d_backward_bias(shape, nullptr, nullptr); },
  };
  for (const auto& op : ops) {
    try {
      op();
      ADD_FAILURE() << "accepted a bad shape; expected a complaint about " << fault;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string_view(error.what()).find(fault), std::string_view::npos) << error.what();
    }
  }
}

TEST(CpuConv2d, RejectsBadShapes) {
  const Conv2dShape good{.batch = 2,
                         .in_channels = 3,
                         .in_height = 5,
                         .in_width = 5,
                         .out_channels = 4,
                         .kernel_height = 3,
                         .kernel_width = 3};
  auto with = [&](auto change) {
    Conv2dShape shape = good;
    change(shape);
    return shape;
  };
  expect_rejected(with([](Conv2dShape& s) { s.in_channels = 0; }), "in_channels");
  expect_rejected(with([](Conv2dShape& s) { s.out_channels = 0; }), "out_channels");
  expect_rejected(with([](Conv2dShape& s) { s.batch = -1; }), "batch");
  expect_rejected(with([](Conv2dShape& s) { s.stride_width = 0; }), "stride_width");
  expect_rejected(with([](Conv2dShape& s) { s.pad_height = -1; }), "pad_height");
  expect_rejected(with([](Conv2dShape& s) { s.kernel_width = 7; }),
                  "kernel is larger than the padded input");
  expect_rejected(with([](Conv2dShape& s) { s.in_height = 2; }),
                  "kernel is larger than the padded input");
}

// The column matrix lives in the caller's workspace; a smaller one is refused before any write.
TEST(CpuConv2d, RejectsAWorkspaceTooSmall) {
  const Conv2dShape shape{.batch = 1,
                          .in_channels = 3,
                          .in_height = 5,
                          .in_width = 5,
                          .out_channels = 2,
                          .kernel_height = 3,
                          .kernel_width = 3,
                          .pad_height = 1,
                          .pad_width = 1};
  // One batch slice: a column matrix (27 taps x 25 pixels) and a partial dweight (2 x 27).
  EXPECT_EQ(cpu::conv2d_workspace_bytes(shape), (27u * 25u + 54u) * sizeof(float));
  Conv2dShape large_batch = shape;
  large_batch.batch = 40;
  EXPECT_EQ(cpu::conv2d_workspace_bytes(large_batch), 16u * (27u * 25u + 54u) * sizeof(float))
      << "at most 16 slices, whatever the batch";
  std::vector<std::byte> small(cpu::conv2d_workspace_bytes(shape) - 1);
  const std::vector<float> x(75), weight(54), dy(50);
  std::vector<float> y(50), dx(75), dweight(54);
  EXPECT_THROW(cpu::conv2d_forward(shape, x.data(), weight.data(), nullptr, y.data(), small),
               std::invalid_argument);
  EXPECT_THROW(cpu::conv2d_backward_data(shape, dy.data(), weight.data(), dx.data(), small),
               std::invalid_argument);
  EXPECT_THROW(cpu::conv2d_backward_filter(shape, x.data(), dy.data(), dweight.data(), small),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
