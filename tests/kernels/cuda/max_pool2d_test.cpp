// The max pooling kernels against the CPU reference, bit for bit: the selected values, the argmax
// indices and the gradient, over the five pooling layers of the two models, awkward shapes
// (batch 1 and odd, odd and rectangular planes, padding, stride 2, overlapping k3s1p1 windows,
// strides wider than the kernel) and inputs made of ties, NaNs and -inf. The backward is a
// gather; the reference's scatter adds in output order, so any mistake in the gather's window
// bounds or its order shows as a bit difference or a missing gradient.
#include "kernels/cuda/max_pool2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/max_pool2d.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/pool_cases.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;

constexpr float kInf = std::numeric_limits<float>::infinity();

enum class Values { continuous, ties, nans, infinities };

const char* name_of(Values values) {
  switch (values) {
    case Values::continuous:
      return "continuous";
    case Values::ties:
      return "ties";
    case Values::nans:
      return "nans";
    case Values::infinities:
      return "infinities";
  }
  return "?";
}

class CudaMaxPool2d : public testing::SeededGpuStreamTest {
 protected:
  std::vector<float> input(std::size_t count, Values values) {
    auto x = testing::uniform_floats(count, -1.0f, 1.0f, rng_);
    std::uniform_real_distribution<float> chance(0.0f, 1.0f);
    for (float& v : x) {
      switch (values) {
        case Values::continuous:
          break;
        case Values::ties:  // five values: most windows hold equal maxima
          v = std::round(v * 2.0f) / 2.0f;
          break;
        case Values::nans:  // windows with no, one or several NaNs, with distinct payloads
          if (chance(rng_) < 0.15f) v = std::nanf(std::to_string(rng_() % 1000).c_str());
          break;
        case Values::infinities:  // windows of nothing but -inf select their first element
          if (chance(rng_) < 0.6f) v = -kInf;
          break;
      }
    }
    return x;
  }

  // Forward and backward on the GPU (argmax from the GPU's forward) against the reference.
  void check(const Pool2dShape& shape, Values values, cudaStream_t stream) {
    SCOPED_TRACE(shape.to_string() + ", " + name_of(values));
    const auto inputs = static_cast<std::size_t>(shape.input_elements());
    const auto outputs = static_cast<std::size_t>(shape.output_elements());
    const auto x = input(inputs, values);
    std::vector<float> y_expected(outputs);
    std::vector<std::int32_t> argmax_expected(outputs);
    cpu::max_pool2d_forward(shape, x.data(), y_expected.data(), argmax_expected.data());
    const auto dy = testing::uniform_floats(outputs, -1.0f, 1.0f, rng_);
    std::vector<float> dx_expected(inputs);
    cpu::max_pool2d_backward(shape, nullptr, nullptr, dy.data(), argmax_expected.data(),
                             dx_expected.data());

    DeviceBuffer<float> x_dev(x);
    DeviceBuffer<float> y_dev(outputs);
    DeviceBuffer<std::int32_t> argmax_dev(outputs);
    y_dev.poison();
    argmax_dev.poison();
    cuda::max_pool2d_forward(shape, x_dev.data(), y_dev.data(), argmax_dev.data(), stream);
    EXPECT_TRUE(bitwise_equal(y_dev.download(), y_expected));
    EXPECT_EQ(argmax_dev.download(), argmax_expected);

    DeviceBuffer<float> dy_dev(dy);
    DeviceBuffer<float> dx_dev(inputs);
    dx_dev.poison();
    cuda::max_pool2d_backward(shape, x_dev.data(), y_dev.data(), dy_dev.data(), argmax_dev.data(),
                              dx_dev.data(), stream);
    const auto dx = dx_dev.download();
    EXPECT_TRUE(bitwise_equal(dx, dx_expected));
    // Run to run: the same bits again (no atomics anywhere).
    dx_dev.poison();
    cuda::max_pool2d_backward(shape, x_dev.data(), y_dev.data(), dy_dev.data(), argmax_dev.data(),
                              dx_dev.data(), stream);
    EXPECT_TRUE(bitwise_equal(dx_dev.download(), dx));
  }
};

TEST_F(CudaMaxPool2d, ModelShapesMatchReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::kModelPoolShapes) {
    check(shape, Values::continuous, stream_);
    check(shape, Values::ties, stream_);
  }
}

TEST_F(CudaMaxPool2d, AwkwardShapesMatchReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::awkward_pool_shapes()) {
    for (const Values values :
         {Values::continuous, Values::ties, Values::nans, Values::infinities}) {
      check(shape, values, stream_);
    }
  }
}

TEST_F(CudaMaxPool2d, NanAndInfinityInputsAtModelShapes) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  check(testing::kModelPoolShapes[2], Values::nans, stream_);
  check(testing::kModelPoolShapes[2], Values::infinities, stream_);
  check(testing::kModelPoolShapes[3], Values::nans, stream_);
}

TEST_F(CudaMaxPool2d, DefaultStream) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  check(testing::pool(3, 7, 9, 11, 3, 2, 1), Values::ties, nullptr);
}

// The last NaN of a window wins, as in the reference's scan (value > best || isnan(value)).
TEST_F(CudaMaxPool2d, LastNanOfAWindowIsSelected) {
  const Pool2dShape shape = testing::pool(1, 1, 2, 2, 2, 2, 0);
  const std::vector<float> x = {std::nanf("1"), 5.0f, std::nanf("2"), 7.0f};
  DeviceBuffer<float> x_dev(x);
  DeviceBuffer<float> y_dev(1);
  DeviceBuffer<std::int32_t> argmax_dev(1);
  argmax_dev.poison();
  cuda::max_pool2d_forward(shape, x_dev.data(), y_dev.data(), argmax_dev.data(), stream_);
  EXPECT_EQ(argmax_dev.download(), std::vector<std::int32_t>{2});
  EXPECT_TRUE(std::isnan(y_dev.download()[0]));
}

TEST_F(CudaMaxPool2d, ForwardWithoutArgmaxGivesTheSameOutput) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const Pool2dShape shape = testing::pool(3, 7, 9, 11, 3, 2, 1);
  const auto x = input(static_cast<std::size_t>(shape.input_elements()), Values::ties);
  std::vector<float> expected(static_cast<std::size_t>(shape.output_elements()));
  cpu::max_pool2d_forward(shape, x.data(), expected.data(), nullptr);
  DeviceBuffer<float> x_dev(x);
  DeviceBuffer<float> y_dev(expected.size());
  y_dev.poison();
  cuda::max_pool2d_forward(shape, x_dev.data(), y_dev.data(), nullptr, stream_);
  EXPECT_TRUE(bitwise_equal(y_dev.download(), expected));
}

TEST_F(CudaMaxPool2d, RejectsBadArguments) {
  DeviceBuffer<float> buffer(64);
  DeviceBuffer<std::int32_t> argmax(64);
  float* data = buffer.data();
  // The shape and the pointers are checked by Backend (kernels/backend.cpp), once for every engine.
  cuda::CudaBackend backend(stream_);
  Pool2dShape empty = testing::pool(0, 1, 4, 4, 2, 2, 0);  // no batch: the reference rejects it too
  EXPECT_THROW(backend.max_pool2d_forward(empty, data, data, argmax.data()), std::invalid_argument);
  EXPECT_THROW(backend.max_pool2d_backward(empty, data, data, data, argmax.data(), data),
               std::invalid_argument);
  const Pool2dShape too_much_padding = testing::pool(1, 1, 4, 4, 2, 2, 2);
  EXPECT_THROW(backend.max_pool2d_forward(too_much_padding, data, data, argmax.data()),
               std::invalid_argument);
  const Pool2dShape good = testing::pool(1, 1, 4, 4, 2, 2, 0);
  EXPECT_THROW(backend.max_pool2d_forward(good, nullptr, data, argmax.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.max_pool2d_forward(good, data, nullptr, argmax.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.max_pool2d_backward(good, data, data, nullptr, argmax.data(), data),
               std::invalid_argument);
  EXPECT_THROW(cuda::max_pool2d_backward(good, data, data, data, nullptr, data, stream_),
               std::invalid_argument);
  EXPECT_THROW(backend.max_pool2d_backward(good, data, data, data, argmax.data(), nullptr),
               std::invalid_argument);
  // A plane of 2^32 elements cannot be indexed by an int32 argmax: refused before any launch.
  const Pool2dShape huge_plane = testing::pool(1, 1, 65536, 65536, 2, 2, 0);
  EXPECT_THROW(cuda::max_pool2d_forward(huge_plane, data, data, argmax.data(), stream_),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
