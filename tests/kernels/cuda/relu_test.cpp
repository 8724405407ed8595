// The ReLU kernels against the CPU reference on fresh random inputs of awkward sizes, aligned and
// misaligned, in place and out of place. ReLU is exact, so the comparison is exact.
#include "kernels/cuda/relu.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kernels/cpu/relu.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::DeviceBuffer;

class CudaRelu : public testing::SeededGpuStreamTest {
 protected:
  // Inputs straddle zero and include exact zeros (the kink).
  std::vector<float> random_input(std::size_t count) {
    auto values = testing::uniform_floats(count, -1.0f, 1.0f, rng_);
    for (std::size_t i = 0; i < count; i += 7) values[i] = 0.0f;
    return values;
  }
};

// Sizes around the vector width and block size; offsets of 0..3 floats break 16-byte alignment.
const std::vector<std::int64_t> kCounts = {1, 3, 4, 5, 255, 256, 257, 1023, 4099, 100003};
const std::vector<std::int64_t> kOffsets = {0, 1, 3};

TEST_F(CudaRelu, ForwardMatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const std::int64_t count : kCounts) {
    for (const std::int64_t offset : kOffsets) {
      SCOPED_TRACE("count " + std::to_string(count) + ", offset " + std::to_string(offset));
      const auto x = random_input(static_cast<std::size_t>(count + offset));
      std::vector<float> expected(x.size());
      cpu::relu_forward(count, x.data() + offset, expected.data() + offset);

      DeviceBuffer<float> x_dev(x);
      DeviceBuffer<float> y_dev(x.size());
      y_dev.poison();
      cuda::relu_forward(count, x_dev.data() + offset, y_dev.data() + offset, nullptr);
      const auto y = y_dev.download();
      EXPECT_TRUE(all_close(std::span(y).subspan(offset), std::span(expected).subspan(offset), {}));
    }
  }
}

TEST_F(CudaRelu, ForwardInPlace) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const auto x = random_input(4099);
  std::vector<float> expected(x.size());
  cpu::relu_forward(4099, x.data(), expected.data());
  DeviceBuffer<float> data(x);
  cuda::relu_forward(4099, data.data(), data.data(), nullptr);
  EXPECT_TRUE(all_close(data.download(), expected, {}));
}

TEST_F(CudaRelu, BackwardMatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const std::int64_t count : kCounts) {
    for (const std::int64_t offset : kOffsets) {
      SCOPED_TRACE("count " + std::to_string(count) + ", offset " + std::to_string(offset));
      const auto x = random_input(static_cast<std::size_t>(count + offset));
      std::vector<float> y(x.size());
      cpu::relu_forward(static_cast<std::int64_t>(x.size()), x.data(), y.data());
      const auto dy = testing::uniform_floats(x.size(), -3.0f, 3.0f, rng_);
      std::vector<float> expected(x.size());
      cpu::relu_backward(count, y.data() + offset, dy.data() + offset, expected.data() + offset);

      DeviceBuffer<float> y_dev(y);
      DeviceBuffer<float> dy_dev(dy);
      DeviceBuffer<float> dx_dev(x.size());
      dx_dev.poison();
      cuda::relu_backward(count, y_dev.data() + offset, dy_dev.data() + offset,
                          dx_dev.data() + offset, nullptr);
      const auto dx = dx_dev.download();
      EXPECT_TRUE(
          all_close(std::span(dx).subspan(offset), std::span(expected).subspan(offset), {}));
    }
  }
}

TEST_F(CudaRelu, ZeroCountLaunchesNothing) {
  DeviceBuffer<float> buffer(4);
  buffer.poison();
  cuda::relu_forward(0, buffer.data(), buffer.data(), nullptr);
  cuda::relu_backward(0, buffer.data(), buffer.data(), buffer.data(), nullptr);
  for (const float v : buffer.download()) EXPECT_TRUE(std::isnan(v));
}

TEST_F(CudaRelu, NegativeCountIsRejected) {
  DeviceBuffer<float> buffer(4);
  EXPECT_THROW(cuda::relu_forward(-1, buffer.data(), buffer.data(), nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
