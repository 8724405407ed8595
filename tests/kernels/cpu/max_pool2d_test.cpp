// The max pooling reference against PyTorch (values and selected indices exactly, the gradient in
// L2), the -inf padding and selection rules, overlapping windows and finite differences.
#include "kernels/cpu/max_pool2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cpu/backend.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"
#include "tests/support/pool_cases.h"
#include "tests/support/random.h"
#include "tests/support/relu_pool_cases.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::bitwise_equal;
using testing::close_in_l2;
using testing::pool;

constexpr float kInf = std::numeric_limits<float>::infinity();

::testing::AssertionResult same_indices(std::span<const std::int32_t> actual,
                                        std::span<const std::int32_t> expected) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure()
           << "size mismatch: " << actual.size() << " vs expected " << expected.size();
  }
  const auto [a, e] = std::mismatch(actual.begin(), actual.end(), expected.begin());
  if (a == actual.end()) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "first difference at [" << (a - actual.begin()) << "]: " << *a << " vs expected " << *e;
}

Pool2dShape shape_from(const nlohmann::json& params) {
  return {.batch = params.at("batch"),
          .channels = params.at("channels"),
          .in_height = params.at("in_height"),
          .in_width = params.at("in_width"),
          .kernel_height = params.at("kernel_height"),
          .kernel_width = params.at("kernel_width"),
          .stride_height = params.at("stride_height"),
          .stride_width = params.at("stride_width"),
          .pad_height = params.at("pad_height"),
          .pad_width = params.at("pad_width")};
}

// Calls visit(plane, out, h, w) for every real input (h, w) in the window of every output `out`
// (a flat output index): the definition, written independently of the op.
template <typename Visit>
void for_each_window_element(const Pool2dShape& shape, Visit visit) {
  const int out_height = shape.out_height();
  const int out_width = shape.out_width();
  std::int64_t out = 0;
  for (std::int64_t plane = 0; plane < std::int64_t{shape.batch} * shape.channels; ++plane) {
    for (int oh = 0; oh < out_height; ++oh) {
      for (int ow = 0; ow < out_width; ++ow, ++out) {
        for (int kh = 0; kh < shape.kernel_height; ++kh) {
          for (int kw = 0; kw < shape.kernel_width; ++kw) {
            const int h = oh * shape.stride_height - shape.pad_height + kh;
            const int w = ow * shape.stride_width - shape.pad_width + kw;
            if (h >= 0 && h < shape.in_height && w >= 0 && w < shape.in_width) {
              visit(plane, out, h, w);
            }
          }
        }
      }
    }
  }
}

// Every selection is a real input (never a pad) inside its own window, and y is its value.
::testing::AssertionResult selections_are_in_windows(const Pool2dShape& shape,
                                                     std::span<const float> x,
                                                     std::span<const float> y,
                                                     std::span<const std::int32_t> argmax) {
  std::vector<int> found(y.size(), 0);
  for_each_window_element(shape, [&](std::int64_t, std::int64_t out, int h, int w) {
    if (argmax[out] == h * shape.in_width + w) ++found[out];
  });
  const std::int64_t plane_size = std::int64_t{shape.in_height} * shape.in_width;
  const std::int64_t out_plane = std::int64_t{shape.out_height()} * shape.out_width();
  for (std::size_t out = 0; out < y.size(); ++out) {
    if (found[out] != 1) {
      return ::testing::AssertionFailure()
             << "output " << out << " selected " << argmax[out] << ", not in its window";
    }
    const float selected = x[(out / out_plane) * plane_size + argmax[out]];
    if (std::bit_cast<std::uint32_t>(selected) != std::bit_cast<std::uint32_t>(y[out]) &&
        !(std::isnan(selected) && std::isnan(y[out]))) {
      return ::testing::AssertionFailure()
             << "output " << out << " is " << y[out] << " but its selection holds " << selected;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(CpuMaxPool2d, MatchesPyTorchFixtures) {
  const testing::Fixture fixture("max_pool2d");
  ASSERT_FALSE(fixture.cases().empty());
  for (const std::string& name : fixture.cases()) {
    SCOPED_TRACE(name);
    const Pool2dShape shape = shape_from(fixture.params(name));
    const auto x = fixture.floats(name, "x");
    const auto dy = fixture.floats(name, "dy");
    ASSERT_EQ(std::ssize(x), shape.input_elements());
    ASSERT_EQ(std::ssize(dy), shape.output_elements());

    std::vector<float> y(dy.size(), -1.0f);
    std::vector<std::int32_t> argmax(dy.size(), -1);
    cpu::max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
    EXPECT_TRUE(bitwise_equal(y, fixture.floats(name, "y")));
    EXPECT_TRUE(same_indices(argmax, fixture.ints(name, "indices")));
    EXPECT_TRUE(selections_are_in_windows(shape, x, y, argmax));

    std::vector<float> dx(x.size(), 123.0f);
    cpu::max_pool2d_backward(shape, x.data(), y.data(), dy.data(), argmax.data(), dx.data());
    EXPECT_TRUE(close_in_l2(dx, fixture.floats(name, "dx"), 1e-5));
  }
}

TEST(CpuMaxPool2d, ForwardWithoutArgmaxGivesTheSameOutput) {
  const Pool2dShape shape = pool(2, 3, 7, 6, 3, 2, 1);
  std::mt19937_64 rng(7);
  const auto x = testing::uniform_floats(shape.input_elements(), -1.0f, 1.0f, rng);
  std::vector<float> with(shape.output_elements()), without(shape.output_elements());
  std::vector<std::int32_t> argmax(shape.output_elements());
  cpu::max_pool2d_forward(shape, x.data(), with.data(), argmax.data());
  cpu::max_pool2d_forward(shape, x.data(), without.data(), nullptr);
  EXPECT_TRUE(bitwise_equal(without, with));
}

// The scan the op is defined by, one element at a time (value > best or NaN takes over), on
// relu(x) when fuse_relu: the reference for the op's vector path over 2x2 windows.
std::pair<std::vector<float>, std::vector<std::int32_t>> plain_scan(const Pool2dShape& shape,
                                                                    std::span<const float> x,
                                                                    bool fuse_relu) {
  std::vector<float> y(shape.output_elements(), -kInf);
  std::vector<std::int32_t> argmax(shape.output_elements(), -1);
  const std::int64_t plane_size = std::int64_t{shape.in_height} * shape.in_width;
  for_each_window_element(shape, [&](std::int64_t plane, std::int64_t out, int h, int w) {
    const std::int32_t index = h * shape.in_width + w;
    const float raw = x[plane * plane_size + index];
    const float value = fuse_relu ? cpu::relu(raw) : raw;
    // The first element is taken even at -inf: the scan starts at -inf with its index.
    if (argmax[out] < 0 || value > y[out] || std::isnan(value)) {
      y[out] = value;
      argmax[out] = index;
    }
  });
  return {y, argmax};
}

TEST(CpuMaxPool2d, ModelShapesSelectAsThePlainScanWithTiesNanAndInfinities) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  for (const Pool2dShape& shape : testing::kModelPoolShapes) {
    for (const testing::ReluPoolValues values : testing::kReluPoolValues) {
      SCOPED_TRACE(shape.to_string() + ", " + testing::name_of(values));
      const auto x = testing::relu_pool_input(shape.input_elements(), values, rng);
      for (const bool fuse_relu : {false, true}) {
        std::vector<float> y(shape.output_elements(), 7.0f);
        std::vector<std::int32_t> argmax(shape.output_elements(), -1);
        (fuse_relu ? cpu::relu_max_pool2d_forward : cpu::max_pool2d_forward)(
            shape, x.data(), y.data(), argmax.data());
        const auto [expected_y, expected_argmax] = plain_scan(shape, x, fuse_relu);
        EXPECT_TRUE(same_indices(argmax, expected_argmax)) << "fuse_relu " << fuse_relu;
        for (std::size_t o = 0; o < y.size(); ++o) {
          ASSERT_EQ(std::bit_cast<std::uint32_t>(y[o]), std::bit_cast<std::uint32_t>(expected_y[o]))
              << "output " << o << ", fuse_relu " << fuse_relu;
        }
      }
    }
  }
}

// Padding is -inf, not 0: with all inputs negative, every output is a real (negative) input.
TEST(CpuMaxPool2d, PaddingIsNeverSelected) {
  const Pool2dShape shape = pool(1, 2, 5, 5, 3, 1, 1);
  std::mt19937_64 rng(11);
  const auto x = testing::uniform_floats(shape.input_elements(), -5.0f, -1.0f, rng);
  std::vector<float> y(shape.output_elements());
  std::vector<std::int32_t> argmax(shape.output_elements());
  cpu::max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
  for (const float value : y) EXPECT_LT(value, -1.0f + 1e-6f);
  EXPECT_TRUE(selections_are_in_windows(shape, x, y, argmax));
}

// A window of nothing but -inf (and pads) selects its first real element, as PyTorch does
// (torch 1.13 returns indices [[0, 1], [3, 4]] for this 3x3 input).
TEST(CpuMaxPool2d, AllNegativeInfinityWindowSelectsItsFirstRealElement) {
  const Pool2dShape shape = pool(1, 1, 3, 3, 3, 2, 1);
  const std::vector<float> x(9, -kInf);
  std::vector<float> y(4, 0.0f);
  std::vector<std::int32_t> argmax(4, -1);
  cpu::max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
  EXPECT_TRUE(bitwise_equal(y, std::vector<float>(4, -kInf)));
  EXPECT_TRUE(same_indices(argmax, std::vector<std::int32_t>{0, 1, 3, 4}));
}

// A 3x3 window at stride 1 over a peak in the middle: all nine windows select it, so its
// gradient is the sum of all nine dy; the rest of dx is overwritten with zeros.
TEST(CpuMaxPool2d, BackwardAddsUpOverlappingWindows) {
  const Pool2dShape shape = pool(1, 1, 3, 3, 3, 1, 1);
  const std::vector<float> x = {0.1f, 0.2f, 0.3f, 0.4f, 9.0f, 0.5f, 0.6f, 0.7f, 0.8f};
  const std::vector<float> dy = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f, 7.0f, 8.0f, 9.0f};
  std::vector<float> y(9);
  std::vector<std::int32_t> argmax(9);
  cpu::max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
  EXPECT_TRUE(same_indices(argmax, std::vector<std::int32_t>(9, 4)));
  std::vector<float> dx(9, 123.0f);
  // The CPU reference reads only argmax: x and y may be null.
  cpu::max_pool2d_backward(shape, nullptr, nullptr, dy.data(), argmax.data(), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<float>{0, 0, 0, 0, 45, 0, 0, 0, 0}, {}));
}

// Distinct values in [0, 2): a shuffled grid of `count` cells, each value jittered inside its cell,
// so gaps between values are random but never zero.
std::vector<float> distinct_inputs(std::size_t count, std::mt19937_64& rng) {
  std::vector<int> rank(count);
  std::iota(rank.begin(), rank.end(), 0);
  std::shuffle(rank.begin(), rank.end(), rng);
  std::uniform_real_distribution<float> jitter(0.0f, 0.9f);
  std::vector<float> values(count);
  for (std::size_t i = 0; i < count; ++i) {
    values[i] = (static_cast<float>(rank[i]) + jitter(rng)) * (2.0f / static_cast<float>(count));
  }
  return values;
}

// Central differences of L = sum(w * maxpool(x)). Inputs are distinct by construction (a shuffled
// grid with jitter); an element is skipped when some window holding it has its top two values
// within 2 * step, where the perturbation could change the selection (the kink of max). The
// gradient is w routed to the selected inputs, exact up to float rounding of the loss, so a
// step of 1e-3 and a tolerance of 1e-3 leave a wide margin.
TEST(CpuMaxPool2d, BackwardMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  const std::vector<Pool2dShape> shapes = {
      pool(2, 3, 9, 9, 3, 2, 1),
      pool(1, 2, 6, 7, 3, 1, 1),
      pool(3, 1, 7, 7, 2, 2, 1),
  };
  constexpr double kStep = 1e-3;
  for (const Pool2dShape& shape : shapes) {
    SCOPED_TRACE(shape.to_string());
    const auto count = static_cast<std::size_t>(shape.input_elements());
    const std::vector<float> x = distinct_inputs(count, rng);
    const auto w = testing::uniform_floats(shape.output_elements(), -2.0f, 2.0f, rng);

    // Per window, its maximum; then every element within the margin of a window's maximum
    // (other than the maximum itself) marks both as near a kink.
    const std::int64_t plane_size = std::int64_t{shape.in_height} * shape.in_width;
    std::vector<float> window_max(w.size(), -kInf);
    std::vector<std::int64_t> window_argmax(w.size(), -1);
    for_each_window_element(shape, [&](std::int64_t plane, std::int64_t out, int h, int wi) {
      const std::int64_t i = plane * plane_size + h * shape.in_width + wi;
      if (x[i] > window_max[out]) {
        window_max[out] = x[i];
        window_argmax[out] = i;
      }
    });
    std::set<std::size_t> near_kink;
    for_each_window_element(shape, [&](std::int64_t plane, std::int64_t out, int h, int wi) {
      const std::int64_t i = plane * plane_size + h * shape.in_width + wi;
      if (i != window_argmax[out] && window_max[out] - x[i] <= 2 * kStep) {
        near_kink.insert(static_cast<std::size_t>(i));
        near_kink.insert(static_cast<std::size_t>(window_argmax[out]));
      }
    });

    auto loss = [&](std::span<const float> input) {
      std::vector<float> out(w.size());
      cpu::max_pool2d_forward(shape, input.data(), out.data(), nullptr);
      double sum = 0.0;
      for (std::size_t o = 0; o < out.size(); ++o) sum += static_cast<double>(w[o]) * out[o];
      return sum;
    };
    std::vector<float> y(w.size());
    std::vector<std::int32_t> argmax(w.size());
    std::vector<float> dx(count);
    cpu::max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
    cpu::max_pool2d_backward(shape, x.data(), y.data(), w.data(), argmax.data(), dx.data());
    const auto skip = [&](std::size_t i) { return near_kink.contains(i); };
    EXPECT_TRUE(
        testing::gradient_matches(loss, x, dx, {.step = kStep, .tolerance = 1e-3, .skip = skip}));
  }
}

// Checked by Backend (kernels/backend.cpp), once for every engine, before the reference runs.
TEST(CpuMaxPool2d, RejectsBadShapesNamingTheField) {
  cpu::CpuBackend backend;
  const Pool2dShape good = pool(1, 1, 4, 4, 2, 2, 0);
  std::vector<float> x(64), y(64), dx(64);
  std::vector<std::int32_t> argmax(64);
  auto expect_rejected = [&](Pool2dShape shape, const std::string& field) {
    SCOPED_TRACE(field);
    try {
      backend.max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
      ADD_FAILURE() << "forward accepted " << shape.to_string();
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
    }
    EXPECT_THROW(
        backend.max_pool2d_backward(shape, x.data(), y.data(), y.data(), argmax.data(), dx.data()),
        std::invalid_argument);
  };
  Pool2dShape bad = good;
  bad.batch = 0;
  expect_rejected(bad, "batch");
  bad = good;
  bad.kernel_width = -1;
  expect_rejected(bad, "kernel_width");
  bad = good;
  bad.stride_height = 0;
  expect_rejected(bad, "stride_height");
  bad = good;
  bad.pad_height = 2;  // more than half the kernel
  expect_rejected(bad, "padding");
}

TEST(CpuMaxPool2d, BackwardRejectsAnArgmaxOutsideThePlane) {
  const Pool2dShape shape = pool(1, 1, 2, 2, 2, 2, 0);
  const float dy = 1.0f;
  std::vector<float> dx(4);
  for (const std::int32_t argmax : {-1, 4}) {
    EXPECT_THROW(cpu::max_pool2d_backward(shape, nullptr, nullptr, &dy, &argmax, dx.data()),
                 std::invalid_argument);
  }
}

}  // namespace
}  // namespace kiln
