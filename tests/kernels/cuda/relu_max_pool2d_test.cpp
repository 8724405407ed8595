// The fused ReLU-max-pooling kernels against the CPU reference's unfused pair (relu then
// max_pool2d), bit for bit: y (NaN payloads included), argmax and dx, over the models' and awkward
// pooling shapes and inputs with windows of nothing positive, -0, NaN, ties and -inf. Outputs are
// poisoned first, so an output the kernels fail to write shows.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cuda/backend.h"
#include "kernels/cuda/max_pool2d.h"
#include "tests/support/gpu.h"
#include "tests/support/pool_cases.h"
#include "tests/support/random.h"
#include "tests/support/relu_pool_cases.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;
using testing::ReluPoolValues;

class CudaReluMaxPool2d : public testing::SeededGpuStreamTest {
 protected:
  void check(const Pool2dShape& shape, ReluPoolValues values) {
    SCOPED_TRACE(shape.to_string() + ", " + testing::name_of(values));
    const auto x =
        testing::relu_pool_input(static_cast<std::size_t>(shape.input_elements()), values, rng_);
    const auto dy = testing::uniform_floats(static_cast<std::size_t>(shape.output_elements()),
                                            -1.0f, 1.0f, rng_);
    const testing::ReluPoolResult expected = testing::relu_then_pool(shape, x, dy);

    DeviceBuffer<float> x_dev(x);
    DeviceBuffer<float> y_dev(dy.size());
    DeviceBuffer<std::int32_t> argmax_dev(dy.size());
    y_dev.poison();
    argmax_dev.poison();
    cuda::relu_max_pool2d_forward(shape, x_dev.data(), y_dev.data(), argmax_dev.data(), stream_);
    const auto y = y_dev.download();
    EXPECT_TRUE(bitwise_equal(y, expected.y));
    for (std::size_t o = 0; o < y.size(); ++o) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(y[o]), std::bit_cast<std::uint32_t>(expected.y[o]))
          << "output " << o;
    }
    EXPECT_EQ(argmax_dev.download(), expected.argmax);

    DeviceBuffer<float> dy_dev(dy);
    DeviceBuffer<float> dx_dev(x.size());
    dx_dev.poison();
    cuda::relu_max_pool2d_backward(shape, y_dev.data(), dy_dev.data(), argmax_dev.data(),
                                   dx_dev.data(), stream_);
    EXPECT_TRUE(bitwise_equal(dx_dev.download(), expected.dx));
  }
};

TEST_F(CudaReluMaxPool2d, AwkwardShapesMatchReluThenPoolBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::awkward_pool_shapes()) {
    for (const ReluPoolValues values : testing::kReluPoolValues) check(shape, values);
  }
}

TEST_F(CudaReluMaxPool2d, ModelShapesMatchReluThenPoolBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const Pool2dShape& shape : testing::kModelPoolShapes) {
    check(shape, ReluPoolValues::mixed);
    check(shape, ReluPoolValues::non_positive);
  }
  check(testing::kModelPoolShapes[2], ReluPoolValues::nans);
}

TEST_F(CudaReluMaxPool2d, RejectsBadArguments) {
  DeviceBuffer<float> buffer(64);
  DeviceBuffer<std::int32_t> argmax(64);
  float* data = buffer.data();
  // The shape and the pointers are checked by Backend (kernels/backend.cpp), once for every engine.
  cuda::CudaBackend backend(stream_);
  const Pool2dShape good = testing::pool(1, 1, 4, 4, 2, 2, 0);
  EXPECT_THROW(backend.relu_max_pool2d_forward(good, nullptr, data, argmax.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.relu_max_pool2d_backward(good, nullptr, data, argmax.data(), data),
               std::invalid_argument);
  EXPECT_THROW(backend.relu_max_pool2d_backward(good, data, data, nullptr, data),
               std::invalid_argument);
  const Pool2dShape too_much_padding = testing::pool(1, 1, 4, 4, 2, 2, 2);
  EXPECT_THROW(backend.relu_max_pool2d_forward(too_much_padding, data, data, argmax.data()),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
