// The dropout kernels against the CPU reference, bit for bit: counts around the group of four and
// the block size (not multiples of 4 included), pointers 0..3 floats off 16-byte alignment, seeds
// above 2^32 and steps above 2^32 read from device counters, several mask streams and rates, in
// place, on a non-default stream, and inside a captured CUDA graph replayed after the step changed
// on the device (so the kernel must read the step when it runs, not when it is launched).
#include "kernels/cuda/dropout.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/dropout.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;

class CudaDropout : public testing::SeededGpuStreamTest {
 protected:
  // A run's key: the seed always above 2^32 (both key words matter), the step sometimes too (only
  // its low word enters Philox's counter: that is the mask's definition).
  StepCounters random_counters() {
    return {.seed = rng_() | (std::uint64_t{1} << 63),
            .step = rng_() % 3 == 0 ? rng_() : rng_() % 100000};
  }
};

const std::vector<std::int64_t> kCounts = {1, 2, 3, 4, 5, 7, 8, 9, 255, 1023, 1025, 4099, 100003};
const std::vector<std::int64_t> kOffsets = {0, 1, 2, 3};
const std::vector<float> kRates = {0.0f, 0.3f, 0.5f, 0.9f};

TEST_F(CudaDropout, ForwardAndBackwardMatchReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const std::int64_t count : kCounts) {
    for (const std::int64_t offset : kOffsets) {
      for (const float p : kRates) {
        const StepCounters counters = random_counters();
        const auto mask_stream = static_cast<std::uint32_t>(rng_());
        SCOPED_TRACE("count " + std::to_string(count) + ", offset " + std::to_string(offset) +
                     ", p " + std::to_string(p) + ", seed " + std::to_string(counters.seed) +
                     ", step " + std::to_string(counters.step) + ", stream " +
                     std::to_string(mask_stream));
        const auto size = static_cast<std::size_t>(count + offset);
        const auto x = testing::uniform_floats(size, -2.0f, 2.0f, rng_);
        const auto dy = testing::uniform_floats(size, -2.0f, 2.0f, rng_);
        std::vector<float> y_expected(size);
        std::vector<float> dx_expected(size);
        cpu::dropout_forward(count, p, mask_stream, &counters, x.data() + offset,
                             y_expected.data() + offset);
        cpu::dropout_backward(count, p, mask_stream, &counters, dy.data() + offset,
                              dx_expected.data() + offset);

        DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{counters});
        DeviceBuffer<float> x_dev(x);
        DeviceBuffer<float> dy_dev(dy);
        DeviceBuffer<float> y_dev(size);
        DeviceBuffer<float> dx_dev(size);
        y_dev.poison();
        dx_dev.poison();
        cuda::dropout_forward(count, p, mask_stream, counters_dev.data(), x_dev.data() + offset,
                              y_dev.data() + offset, stream_);
        cuda::dropout_backward(count, p, mask_stream, counters_dev.data(), dy_dev.data() + offset,
                               dx_dev.data() + offset, stream_);
        const auto y = y_dev.download();
        const auto dx = dx_dev.download();
        EXPECT_TRUE(
            bitwise_equal(std::span(y).subspan(offset), std::span(y_expected).subspan(offset)));
        EXPECT_TRUE(
            bitwise_equal(std::span(dx).subspan(offset), std::span(dx_expected).subspan(offset)));
      }
    }
  }
}

// mnist-cnn's dropout layers at batch 32, on the legacy default stream.
TEST_F(CudaDropout, ModelSizesMatchReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const std::int64_t count : {200704, 100352, 65536, 20000}) {
    const StepCounters counters = random_counters();
    const auto x = testing::uniform_floats(static_cast<std::size_t>(count), -2.0f, 2.0f, rng_);
    std::vector<float> expected(x.size());
    cpu::dropout_forward(count, 0.3f, 3, &counters, x.data(), expected.data());
    DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{counters});
    DeviceBuffer<float> x_dev(x);
    DeviceBuffer<float> y_dev(x.size());
    y_dev.poison();
    cuda::dropout_forward(count, 0.3f, 3, counters_dev.data(), x_dev.data(), y_dev.data(), nullptr);
    EXPECT_TRUE(bitwise_equal(y_dev.download(), expected));
  }
}

TEST_F(CudaDropout, InPlace) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const StepCounters counters = random_counters();
  const auto x = testing::uniform_floats(4099, -2.0f, 2.0f, rng_);
  std::vector<float> expected(x.size());
  cpu::dropout_forward(4099, 0.3f, 7, &counters, x.data(), expected.data());
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{counters});
  DeviceBuffer<float> data(x);
  cuda::dropout_forward(4099, 0.3f, 7, counters_dev.data(), data.data(), data.data(), stream_);
  EXPECT_TRUE(bitwise_equal(data.download(), expected));
  cpu::dropout_backward(4099, 0.3f, 7, &counters, expected.data(), expected.data());
  cuda::dropout_backward(4099, 0.3f, 7, counters_dev.data(), data.data(), data.data(), stream_);
  EXPECT_TRUE(bitwise_equal(data.download(), expected));
}

// Captured once, replayed after the device's step changed: the mask follows the new step.
TEST_F(CudaDropout, GraphReplayReadsTheCurrentStep) {
  KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();
  SCOPED_TRACE(testing::seed_trace(seed_));
  const std::int64_t count = 1027;
  StepCounters counters = random_counters();
  const auto x = testing::uniform_floats(count, -2.0f, 2.0f, rng_);
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{counters});
  DeviceBuffer<float> x_dev(x);
  DeviceBuffer<float> y_dev(x.size());

  cudaGraph_t graph = nullptr;
  KILN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
  cuda::dropout_forward(count, 0.5f, 11, counters_dev.data(), x_dev.data(), y_dev.data(), stream_);
  KILN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  KILN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));

  std::vector<float> previous;
  for (int replay = 0; replay < 3; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay) + ", step " + std::to_string(counters.step));
    counters_dev.upload({counters});
    y_dev.poison();
    KILN_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
    std::vector<float> expected(x.size());
    cpu::dropout_forward(count, 0.5f, 11, &counters, x.data(), expected.data());
    const auto y = y_dev.download();
    EXPECT_TRUE(bitwise_equal(y, expected));
    EXPECT_NE(y, previous);  // a new step draws a new mask
    previous = y;
    ++counters.step;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST_F(CudaDropout, ZeroCountLaunchesNothing) {
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{StepCounters{}});
  DeviceBuffer<float> buffer(4);
  buffer.poison();
  cuda::dropout_forward(0, 0.3f, 0, counters_dev.data(), buffer.data(), buffer.data(), stream_);
  cuda::dropout_backward(0, 0.3f, 0, counters_dev.data(), buffer.data(), buffer.data(), stream_);
  cuda::dropout_forward(0, 0.3f, 0, counters_dev.data(), nullptr, nullptr, stream_);
  for (const float v : buffer.download()) EXPECT_TRUE(std::isnan(v));
}

TEST_F(CudaDropout, RejectsBadArguments) {
  DeviceBuffer<StepCounters> counters_dev(std::vector<StepCounters>{StepCounters{}});
  DeviceBuffer<float> buffer(4);
  float* data = buffer.data();
  const StepCounters* counters = counters_dev.data();
  // p and the pointers are checked by Backend (kernels/backend.cpp), once for every engine.
  cuda::CudaBackend backend(stream_);
  for (const float p : {1.0f, -0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    EXPECT_THROW(backend.dropout_forward(4, p, 0, counters, data, data, {}), std::invalid_argument);
    EXPECT_THROW(backend.dropout_backward(4, p, 0, counters, data, data, {}),
                 std::invalid_argument);
  }
  EXPECT_THROW(cuda::dropout_forward(-1, 0.3f, 0, counters, data, data, stream_),
               std::invalid_argument);
  EXPECT_THROW(cuda::dropout_forward(4, 0.3f, 0, nullptr, data, data, stream_),
               std::invalid_argument);
  EXPECT_THROW(cuda::dropout_backward(4, 0.3f, 0, nullptr, data, data, stream_),
               std::invalid_argument);
  EXPECT_THROW(backend.dropout_forward(4, 0.3f, 0, counters, nullptr, data, {}),
               std::invalid_argument);
  EXPECT_THROW(backend.dropout_forward(4, 0.3f, 0, counters, data, nullptr, {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
