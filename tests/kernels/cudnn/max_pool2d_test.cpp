// cuDNN's max pooling, through CudnnBackend, against the CPU reference on the shapes of
// tests/support/pool_cases.h. Forward selects, so it must match bit for bit (NaN for NaN). With
// continuous inputs every window has one maximum, and backward must then give each input the sum
// of its windows' gradients: bit for bit where windows do not overlap, within 1e-6 where they do
// (cuDNN may add an input's contributions in another order). With ties, which of the equal maxima
// gets the gradient is cuDNN's choice, so the test checks what holds for any choice: each plane's
// gradient sums to its dy, and only inputs equal to their window's maximum receive any.
#include "kernels/cpu/max_pool2d.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tests/support/cudnn_test.h"
#include "tests/support/pool_cases.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::DeviceBuffer;

struct PoolRun {
  std::vector<float> y;
  std::vector<float> dx;
};

class CudnnMaxPool2d : public testing::CudnnTest {
 protected:
  PoolRun run(const Pool2dShape& shape, const std::vector<float>& x, const std::vector<float>& dy) {
    DeviceBuffer<float> x_dev(x);
    DeviceBuffer<float> y_dev(dy.size());
    DeviceBuffer<float> dy_dev(dy);
    DeviceBuffer<float> dx_dev(x.size());
    y_dev.poison();
    dx_dev.poison();
    backend_->max_pool2d_forward(shape, x_dev.data(), y_dev.data(), nullptr);
    backend_->max_pool2d_backward(shape, x_dev.data(), y_dev.data(), dy_dev.data(), nullptr,
                                  dx_dev.data());
    return {y_dev.download(), dx_dev.download()};
  }

  void check_continuous(const Pool2dShape& shape) {
    SCOPED_TRACE(shape.to_string());
    const auto x =
        testing::uniform_floats(static_cast<std::size_t>(shape.input_elements()), -1, 1, rng_);
    const auto dy =
        testing::uniform_floats(static_cast<std::size_t>(shape.output_elements()), -1, 1, rng_);
    std::vector<float> y(dy.size());
    std::vector<std::int32_t> argmax(dy.size());
    std::vector<float> dx(x.size());
    cpu::max_pool2d_forward(shape, x.data(), y.data(), argmax.data());
    cpu::max_pool2d_backward(shape, nullptr, nullptr, dy.data(), argmax.data(), dx.data());
    const PoolRun gpu = run(shape, x, dy);
    EXPECT_TRUE(testing::bitwise_equal(gpu.y, y));
    const bool overlapping =
        shape.stride_height < shape.kernel_height || shape.stride_width < shape.kernel_width;
    if (overlapping) {
      EXPECT_TRUE(testing::all_close(gpu.dx, dx, {.atol = 1e-6, .rtol = 1e-6}));
    } else {
      // cuDNN may write -0 where the reference writes +0 (a window's zero gradient).
      EXPECT_TRUE(testing::value_equal(gpu.dx, dx));
    }
  }
};

TEST_F(CudnnMaxPool2d, ModelShapesMatchReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::kModelPoolShapes) check_continuous(shape);
}

TEST_F(CudnnMaxPool2d, AwkwardShapesMatchReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::awkward_pool_shapes()) check_continuous(shape);
}

TEST_F(CudnnMaxPool2d, TiesSendEachPlanesGradientToItsMaxima) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::kModelPoolShapes) {
    SCOPED_TRACE(shape.to_string());
    auto x = testing::uniform_floats(static_cast<std::size_t>(shape.input_elements()), -1, 1, rng_);
    for (float& v : x) v = std::round(v * 2.0f) / 2.0f;  // five values: most windows tie
    // Gradients of 1: every sum below is exact in float, whatever the order.
    const std::vector<float> dy(static_cast<std::size_t>(shape.output_elements()), 1.0f);
    std::vector<float> y(dy.size());
    cpu::max_pool2d_forward(shape, x.data(), y.data(), nullptr);
    const PoolRun gpu = run(shape, x, dy);
    EXPECT_TRUE(testing::bitwise_equal(gpu.y, y));
    const std::size_t in_plane = static_cast<std::size_t>(shape.in_height) * shape.in_width;
    const std::size_t out_plane = static_cast<std::size_t>(shape.out_height()) * shape.out_width();
    for (std::size_t plane = 0; plane * in_plane < x.size(); ++plane) {
      double received = 0;
      for (std::size_t i = plane * in_plane; i < (plane + 1) * in_plane; ++i) {
        received += gpu.dx[i];
        if (gpu.dx[i] == 0.0f) continue;
        // An input that received gradient equals the maximum of some window of its plane.
        bool is_a_maximum = false;
        for (std::size_t o = plane * out_plane; o < (plane + 1) * out_plane; ++o) {
          is_a_maximum = is_a_maximum || y[o] == x[i];
        }
        ASSERT_TRUE(is_a_maximum) << "input " << i << " = " << x[i];
      }
      ASSERT_EQ(received, static_cast<double>(out_plane)) << "plane " << plane;
    }
  }
}

// NaN propagates (CUDNN_PROPAGATE_NAN): a window holding one gives NaN, as in the reference.
TEST_F(CudnnMaxPool2d, NanInAWindowGivesNan) {
  const Pool2dShape shape = testing::kModelPoolShapes[2];
  auto x = testing::uniform_floats(static_cast<std::size_t>(shape.input_elements()), -1, 1, rng_);
  std::bernoulli_distribution chance(0.1);
  for (float& v : x) {
    if (chance(rng_)) v = std::nanf("");
  }
  std::vector<float> y(static_cast<std::size_t>(shape.output_elements()));
  cpu::max_pool2d_forward(shape, x.data(), y.data(), nullptr);
  const PoolRun gpu = run(shape, x, y);
  EXPECT_TRUE(testing::bitwise_equal(gpu.y, y));
}

}  // namespace
}  // namespace kiln
