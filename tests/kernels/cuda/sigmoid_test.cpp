// The sigmoid kernels against the CPU reference on fresh random inputs of awkward sizes, aligned
// and misaligned, in place and out of place, on a non-default stream. Backward is float arithmetic
// in the reference's order and must match bit for bit. Forward is the reference's float formula
// with exp(-x) rounded once from double on both sides: bitwise the reference but for a rare
// input where CUDA's double exp rounds to the other float, and then within
// kSigmoidForwardUlps (tests/support/sigmoid_tolerance.h says why). The test reports how many
// outputs differ at all.
#include "kernels/cuda/sigmoid.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/sigmoid.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/sigmoid_tolerance.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;

::testing::AssertionResult within_forward_ulps(std::span<const float> actual,
                                               std::span<const float> expected) {
  if (actual.size() != expected.size()) {
    return ::testing::AssertionFailure() << "size mismatch";
  }
  std::size_t differing = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const std::int64_t d = testing::ulp_distance(actual[i], expected[i]);
    if (d > testing::kSigmoidForwardUlps) {
      return ::testing::AssertionFailure() << "[" << i << "] actual " << actual[i] << ", expected "
                                           << expected[i] << ": " << d << " ulps apart";
    }
    if (d > 0) ++differing;
  }
  const auto allowed = static_cast<std::size_t>(testing::kSigmoidMaxDifferingShare *
                                                static_cast<double>(actual.size()));
  if (differing > allowed) {
    return ::testing::AssertionFailure() << differing << " of " << actual.size()
                                         << " outputs differ from the reference, more than the "
                                         << allowed << " a once-rounded exp allows";
  }
  if (differing > 0) {
    std::cout << "sigmoid: " << differing << " of " << actual.size()
              << " outputs differ from the reference\n";
  }
  return ::testing::AssertionSuccess();
}

class CudaSigmoid : public testing::SeededGpuStreamTest {
 protected:
  // Mostly |x| < 20 (where the output is not saturated), plus the special values every seventh
  // element: zeros of both signs, infinities, NaN, logits of +-1e4, and inputs whose output is a
  // subnormal float (x < -87.3) or rounds to exactly 1.
  std::vector<float> random_input(std::size_t count) {
    auto values = testing::uniform_floats(count, -20.0f, 20.0f, rng_);
    const float specials[] = {0.0f,
                              -0.0f,
                              std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::nanf(""),
                              1e4f,
                              -1e4f,
                              -90.0f,
                              -100.0f,
                              -103.0f,
                              17.0f,
                              -16.6f,
                              40.0f};
    std::size_t k = 0;
    for (std::size_t i = 0; i < count; i += 7) values[i] = specials[k++ % std::size(specials)];
    return values;
  }
};

const std::vector<std::int64_t> kCounts = {1, 3, 4, 5, 255, 256, 257, 1023, 4099, 100003};
const std::vector<std::int64_t> kOffsets = {0, 1, 3};

TEST_F(CudaSigmoid, ForwardMatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const std::int64_t count : kCounts) {
    for (const std::int64_t offset : kOffsets) {
      SCOPED_TRACE("count " + std::to_string(count) + ", offset " + std::to_string(offset));
      const auto x = random_input(static_cast<std::size_t>(count + offset));
      std::vector<float> expected(x.size());
      cpu::sigmoid_forward(count, x.data() + offset, expected.data() + offset);

      DeviceBuffer<float> x_dev(x);
      DeviceBuffer<float> y_dev(x.size());
      y_dev.poison();
      cuda::sigmoid_forward(count, x_dev.data() + offset, y_dev.data() + offset, stream_);
      const auto y = y_dev.download();
      EXPECT_TRUE(
          within_forward_ulps(std::span(y).subspan(offset), std::span(expected).subspan(offset)));
    }
  }
}

// A wide sweep of inputs (a million, over the whole range where sigmoid is not saturated): the
// place where two exp functions' rounding differences would show.
TEST_F(CudaSigmoid, ForwardSweep) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const std::size_t count = 1 << 20;
  const auto x = testing::uniform_floats(count, -110.0f, 20.0f, rng_);
  std::vector<float> expected(count);
  cpu::sigmoid_forward(static_cast<std::int64_t>(count), x.data(), expected.data());
  DeviceBuffer<float> x_dev(x);
  DeviceBuffer<float> y_dev(count);
  y_dev.poison();
  cuda::sigmoid_forward(static_cast<std::int64_t>(count), x_dev.data(), y_dev.data(), nullptr);
  EXPECT_TRUE(within_forward_ulps(y_dev.download(), expected));
}

TEST_F(CudaSigmoid, ForwardInPlace) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const auto x = random_input(4099);
  std::vector<float> expected(x.size());
  cpu::sigmoid_forward(4099, x.data(), expected.data());
  DeviceBuffer<float> data(x);
  cuda::sigmoid_forward(4099, data.data(), data.data(), stream_);
  EXPECT_TRUE(within_forward_ulps(data.download(), expected));
}

TEST_F(CudaSigmoid, BackwardMatchesReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const std::int64_t count : kCounts) {
    for (const std::int64_t offset : kOffsets) {
      SCOPED_TRACE("count " + std::to_string(count) + ", offset " + std::to_string(offset));
      const auto x = random_input(static_cast<std::size_t>(count + offset));
      std::vector<float> y(x.size());
      cpu::sigmoid_forward(static_cast<std::int64_t>(x.size()), x.data(), y.data());
      const auto dy = testing::uniform_floats(x.size(), -3.0f, 3.0f, rng_);
      std::vector<float> expected(x.size());
      cpu::sigmoid_backward(count, y.data() + offset, dy.data() + offset, expected.data() + offset);

      DeviceBuffer<float> y_dev(y);
      DeviceBuffer<float> dy_dev(dy);
      DeviceBuffer<float> dx_dev(x.size());
      dx_dev.poison();
      cuda::sigmoid_backward(count, y_dev.data() + offset, dy_dev.data() + offset,
                             dx_dev.data() + offset, stream_);
      const auto dx = dx_dev.download();
      EXPECT_TRUE(
          bitwise_equal(std::span(dx).subspan(offset), std::span(expected).subspan(offset)));
    }
  }
}

TEST_F(CudaSigmoid, BackwardInPlace) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const auto x = random_input(1023);
  std::vector<float> y(x.size());
  cpu::sigmoid_forward(1023, x.data(), y.data());
  const auto dy = testing::uniform_floats(x.size(), -3.0f, 3.0f, rng_);
  std::vector<float> expected(x.size());
  cpu::sigmoid_backward(1023, y.data(), dy.data(), expected.data());
  DeviceBuffer<float> y_dev(y);
  DeviceBuffer<float> data(dy);
  cuda::sigmoid_backward(1023, y_dev.data(), data.data(), data.data(), stream_);
  EXPECT_TRUE(bitwise_equal(data.download(), expected));
}

TEST_F(CudaSigmoid, ZeroCountLaunchesNothing) {
  DeviceBuffer<float> buffer(4);
  buffer.poison();
  cuda::sigmoid_forward(0, buffer.data(), buffer.data(), stream_);
  cuda::sigmoid_backward(0, buffer.data(), buffer.data(), buffer.data(), stream_);
  cuda::sigmoid_forward(0, nullptr, nullptr, stream_);
  for (const float v : buffer.download()) EXPECT_TRUE(std::isnan(v));
}

TEST_F(CudaSigmoid, RejectsBadArguments) {
  DeviceBuffer<float> buffer(4);
  float* data = buffer.data();
  EXPECT_THROW(cuda::sigmoid_forward(-1, data, data, stream_), std::invalid_argument);
  EXPECT_THROW(cuda::sigmoid_backward(-1, data, data, data, stream_), std::invalid_argument);
  // The pointers are checked by Backend (kernels/backend.cpp), once for every engine.
  cuda::CudaBackend backend(stream_);
  EXPECT_THROW(backend.sigmoid_forward(4, nullptr, data), std::invalid_argument);
  EXPECT_THROW(backend.sigmoid_backward(4, data, nullptr, data), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
