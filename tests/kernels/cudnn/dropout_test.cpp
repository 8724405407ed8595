// cuDNN's dropout, through CudnnBackend. Its generator is cuDNN's, not kiln's Philox, so the test
// checks statistics and invariants instead of bits, as Caffe's dropout test does: over a million
// elements the kept fraction is within 5 standard deviations of 1 - p (a false alarm about once
// in 3.5 million runs); every kept value is x / (1 - p) (within an ulp: cuDNN may scale by its own
// rounding of 1 / (1 - p)); backward keeps exactly the elements forward kept, with the same
// scale; a second forward draws another mask. Inputs are never 0, so a 0 output means dropped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/dropout_mask.h"
#include "tests/support/cudnn_test.h"

namespace kiln {
namespace {

using testing::DeviceBuffer;

constexpr std::int64_t kCount = 1'000'003;

class CudnnDropout : public testing::CudnnTest {
 protected:
  std::vector<float> nonzero_input(std::size_t count) {
    auto values = testing::uniform_floats(count, 0.5f, 2.0f, rng_);
    for (std::size_t i = 1; i < count; i += 2) values[i] = -values[i];
    return values;
  }
};

TEST_F(CudnnDropout, KeepsOneMinusPScalesAndBackwardUsesTheSameMask) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const float p : {0.1f, 0.3f, 0.5f, 0.9f}) {
    SCOPED_TRACE(p);
    const auto n = static_cast<std::size_t>(kCount);
    const auto x = nonzero_input(n);
    const auto dy = nonzero_input(n);
    DeviceBuffer<float> x_dev(x);
    DeviceBuffer<float> y_dev(n);
    DeviceBuffer<float> dy_dev(dy);
    DeviceBuffer<float> dx_dev(n);
    DeviceBuffer<std::byte> reserve(backend_->dropout_reserve_bytes(kCount));
    y_dev.poison();
    dx_dev.poison();
    backend_->dropout_forward(kCount, p, 0, nullptr, x_dev.data(), y_dev.data(),
                              {reserve.data(), reserve.size()});
    backend_->dropout_backward(kCount, p, 0, nullptr, dy_dev.data(), dx_dev.data(),
                               {reserve.data(), reserve.size()});
    const auto y = y_dev.download();
    const auto dx = dx_dev.download();

    const double scale = dropout_scale(p);
    std::int64_t kept = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool keeps = y[i] != 0.0f;
      kept += keeps ? 1 : 0;
      const double expected_y = keeps ? x[i] * scale : 0.0;
      const double expected_dx = keeps ? dy[i] * scale : 0.0;
      ASSERT_NEAR(y[i], expected_y, 2e-7 * std::abs(expected_y)) << "element " << i;
      ASSERT_NEAR(dx[i], expected_dx, 2e-7 * std::abs(expected_dx))
          << "element " << i << ": backward's mask differs from forward's";
    }
    const double mean = static_cast<double>(kCount) * (1.0 - p);
    const double deviation = std::sqrt(static_cast<double>(kCount) * p * (1.0 - p));
    EXPECT_NEAR(static_cast<double>(kept), mean, 5 * deviation);
  }
}

TEST_F(CudnnDropout, EachForwardDrawsANewMask) {
  const auto n = static_cast<std::size_t>(kCount);
  DeviceBuffer<float> x_dev(nonzero_input(n));
  DeviceBuffer<float> first(n);
  DeviceBuffer<float> second(n);
  DeviceBuffer<std::byte> reserve(backend_->dropout_reserve_bytes(kCount));
  backend_->dropout_forward(kCount, 0.5f, 0, nullptr, x_dev.data(), first.data(),
                            {reserve.data(), reserve.size()});
  backend_->dropout_forward(kCount, 0.5f, 0, nullptr, x_dev.data(), second.data(),
                            {reserve.data(), reserve.size()});
  const auto a = first.download();
  const auto b = second.download();
  std::int64_t differing = 0;
  for (std::size_t i = 0; i < n; ++i) differing += (a[i] == 0.0f) != (b[i] == 0.0f) ? 1 : 0;
  // Independent masks of p = 0.5 differ in half the elements.
  EXPECT_GT(differing, kCount / 4);
}

TEST_F(CudnnDropout, ShortReserveAndBadArgumentsAreRejected) {
  DeviceBuffer<float> buffer(1024);
  const std::size_t bytes = backend_->dropout_reserve_bytes(1024);
  ASSERT_GT(bytes, 0u);
  DeviceBuffer<std::byte> reserve(bytes);
  float* data = buffer.data();
  EXPECT_THROW(
      backend_->dropout_forward(1024, 0.3f, 0, nullptr, data, data, {reserve.data(), bytes - 1}),
      std::invalid_argument);
  for (const float p : {-0.1f, 1.0f, std::nanf("")}) {
    EXPECT_THROW(
        backend_->dropout_forward(1024, p, 0, nullptr, data, data, {reserve.data(), bytes}),
        std::invalid_argument);
  }
  EXPECT_THROW(backend_->dropout_forward(-1, 0.3f, 0, nullptr, data, data, {reserve.data(), bytes}),
               std::invalid_argument);
  EXPECT_THROW(
      backend_->dropout_backward(1024, 0.3f, 0, nullptr, nullptr, data, {reserve.data(), bytes}),
      std::invalid_argument);
}

}  // namespace
}  // namespace kiln
