// ReLU fused into max pooling against the unfused pair (relu then max_pool2d, forward and
// backward), bit for bit: y, argmax and dx, over the models' and awkward pooling shapes and inputs
// with windows of nothing positive, -0, NaN, ties and -inf.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/backend.h"
#include "kernels/cpu/max_pool2d.h"
#include "tests/support/pool_cases.h"
#include "tests/support/random.h"
#include "tests/support/relu_pool_cases.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::ReluPoolValues;

std::uint32_t bits(float value) { return std::bit_cast<std::uint32_t>(value); }

void expect_fused_equals_unfused(const Pool2dShape& shape, ReluPoolValues values,
                                 std::mt19937_64& rng) {
  SCOPED_TRACE(shape.to_string() + ", " + testing::name_of(values));
  const auto x =
      testing::relu_pool_input(static_cast<std::size_t>(shape.input_elements()), values, rng);
  const auto dy =
      testing::uniform_floats(static_cast<std::size_t>(shape.output_elements()), -1.0f, 1.0f, rng);
  const testing::ReluPoolResult expected = testing::relu_then_pool(shape, x, dy);

  std::vector<float> y(dy.size(), -7.0f);
  std::vector<std::int32_t> argmax(dy.size(), -1);
  cpu::relu_max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
  EXPECT_TRUE(bitwise_equal(y, expected.y));
  EXPECT_EQ(argmax, expected.argmax);
  // bitwise_equal takes any NaN for any NaN; the fused op keeps the selected NaN's payload too.
  for (std::size_t o = 0; o < y.size(); ++o) {
    ASSERT_EQ(bits(y[o]), bits(expected.y[o])) << "output " << o;
  }

  std::vector<float> dx(x.size(), 123.0f);
  cpu::relu_max_pool2d_backward(shape, y.data(), dy.data(), argmax.data(), dx.data());
  EXPECT_TRUE(bitwise_equal(dx, expected.dx));
}

TEST(CpuReluMaxPool2d, EqualsReluThenPoolBitForBit) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  for (const Pool2dShape& shape : testing::awkward_pool_shapes()) {
    for (const ReluPoolValues values : testing::kReluPoolValues) {
      expect_fused_equals_unfused(shape, values, rng);
    }
  }
  for (const Pool2dShape& shape : testing::kModelPoolShapes) {
    expect_fused_equals_unfused(shape, ReluPoolValues::mixed, rng);
    expect_fused_equals_unfused(shape, ReluPoolValues::ties, rng);
  }
}

// Fused forward and backward over one 2x2 window: x in row-major order, dy = 1.5.
struct OneWindow {
  float y = 5.0f;
  std::int32_t argmax = -1;
  std::vector<float> dx = std::vector<float>(4, 123.0f);
};

OneWindow fused_over_one_window(const std::vector<float>& x) {
  const Pool2dShape shape = testing::pool(1, 1, 2, 2, 2, 2, 0);
  const float dy = 1.5f;
  OneWindow result;
  cpu::relu_max_pool2d_forward(shape, x.data(), &result.y, &result.argmax);
  cpu::relu_max_pool2d_backward(shape, &result.y, &dy, &result.argmax, result.dx.data());
  return result;
}

// A window of nothing positive: the unfused pool sees only zeros and takes the first; a scan of x
// would take its maximum (-0 at index 2). The fused scan compares relu(x), so it takes index 0
// and y is relu(-3) = +0. The gradient is zero either way, as y is not > 0.
TEST(CpuReluMaxPool2d, WindowOfNothingPositiveSelectsItsFirstElement) {
  const OneWindow window = fused_over_one_window({-3.0f, -1.0f, -0.0f, -2.0f});
  EXPECT_EQ(window.argmax, 0);
  EXPECT_EQ(bits(window.y), bits(0.0f));
  EXPECT_TRUE(bitwise_equal(window.dx, std::vector<float>(4, 0.0f)));
}

// -0 first in its window stays -0: relu keeps it (-0 < 0 is false), as the unfused pair does.
TEST(CpuReluMaxPool2d, NegativeZeroFirstInItsWindowIsKept) {
  const OneWindow window = fused_over_one_window({-0.0f, -1.0f, -2.0f, -3.0f});
  EXPECT_EQ(window.argmax, 0);
  EXPECT_EQ(bits(window.y), bits(-0.0f));
  EXPECT_TRUE(bitwise_equal(window.dx, std::vector<float>(4, 0.0f)));
}

// PyTorch: relu(NaN) is NaN and max pooling propagates NaN, so the NaN is selected (the last of
// its window, payload kept), and its gradient passes (threshold_backward masks only y <= 0).
TEST(CpuReluMaxPool2d, NanPropagatesAndPassesItsGradient) {
  const std::vector<float> x = {1.0f, std::nanf("7"), 5.0f, -1.0f};
  const OneWindow window = fused_over_one_window(x);
  EXPECT_EQ(window.argmax, 1);
  EXPECT_EQ(bits(window.y), bits(x[1]));
  EXPECT_TRUE(bitwise_equal(window.dx, std::vector<float>{0.0f, 1.5f, 0.0f, 0.0f}));
}

// The shape and pointers are checked by Backend (kernels/backend.cpp), once for every engine; an
// argmax outside its plane by the reference.
TEST(CpuReluMaxPool2d, RejectsBadArguments) {
  cpu::CpuBackend backend;
  const Pool2dShape good = testing::pool(1, 1, 4, 4, 2, 2, 0);
  std::vector<float> buffer(16);
  std::vector<std::int32_t> argmax(4, 0);
  EXPECT_THROW(
      backend.relu_max_pool2d_backward(good, nullptr, buffer.data(), argmax.data(), buffer.data()),
      std::invalid_argument);
  EXPECT_THROW(
      backend.relu_max_pool2d_backward(good, buffer.data(), buffer.data(), nullptr, buffer.data()),
      std::invalid_argument);
  const Pool2dShape too_much_padding = testing::pool(1, 1, 4, 4, 2, 2, 2);
  EXPECT_THROW(backend.relu_max_pool2d_forward(too_much_padding, buffer.data(), buffer.data(),
                                               argmax.data()),
               std::invalid_argument);
  argmax[0] = 16;  // outside the plane
  EXPECT_THROW(backend.relu_max_pool2d_backward(good, buffer.data(), buffer.data(), argmax.data(),
                                                buffer.data()),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
