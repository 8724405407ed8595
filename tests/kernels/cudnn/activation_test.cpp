// cuDNN's ReLU and sigmoid, through CudnnBackend, against the CPU reference on fresh random inputs
// of awkward sizes, out of place and in place, outputs poisoned first. ReLU is exact: bit for bit,
// NaN propagated. cuDNN does not state its sigmoid formula nor the exp it uses, so sigmoid (inputs
// in [-20, 20], where the output is a normal float) is held to 1e-5 relative, about 80 ulps,
// instead of the custom kernel's 3 ulps: loose for rounding, far too tight for a wrong formula.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/relu.h"
#include "kernels/cpu/sigmoid.h"
#include "tests/support/cudnn_test.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::DeviceBuffer;

const std::vector<std::int64_t> kCounts = {1, 3, 4, 5, 255, 256, 257, 1023, 4099, 100003};

using Forward = void (cudnn::CudnnBackend::*)(std::int64_t, const float*, float*);
using Backward = void (cudnn::CudnnBackend::*)(std::int64_t, const float*, const float*, float*);
using ReferenceForward = void (*)(std::int64_t, const float*, float*);
using ReferenceBackward = void (*)(std::int64_t, const float*, const float*, float*);

struct ActivationCase {
  const char* name;
  Forward forward;
  Backward backward;
  ReferenceForward reference_forward;
  ReferenceBackward reference_backward;
  float low;
  float high;
};

class CudnnActivation : public testing::CudnnTest {
 protected:
  // Forward out of place and backward in place (dx over dy), against the reference.
  void check(const ActivationCase& op,
             const std::function<::testing::AssertionResult(std::span<const float>,
                                                            std::span<const float>)>& same) {
    SCOPED_TRACE(testing::seed_trace(seed_));
    for (const std::int64_t count : kCounts) {
      SCOPED_TRACE(std::string(op.name) + ", count " + std::to_string(count));
      const auto n = static_cast<std::size_t>(count);
      auto x = testing::uniform_floats(n, op.low, op.high, rng_);
      for (std::size_t i = 0; i < n; i += 7) x[i] = 0.0f;  // the kink of ReLU
      const auto dy = testing::uniform_floats(n, -1.0f, 1.0f, rng_);
      std::vector<float> y(n);
      std::vector<float> dx(n);
      op.reference_forward(count, x.data(), y.data());
      op.reference_backward(count, y.data(), dy.data(), dx.data());

      DeviceBuffer<float> x_dev(x);
      DeviceBuffer<float> y_dev(n);
      DeviceBuffer<float> gradient_dev(dy);
      y_dev.poison();
      (backend_.get()->*op.forward)(count, x_dev.data(), y_dev.data());
      EXPECT_TRUE(same(y_dev.download(), y)) << "forward";
      // The reference's y, so that backward is checked on its own.
      y_dev.upload(y);
      (backend_.get()->*op.backward)(count, y_dev.data(), gradient_dev.data(), gradient_dev.data());
      EXPECT_TRUE(same(gradient_dev.download(), dx)) << "backward, in place";
      // Forward in place.
      (backend_.get()->*op.forward)(count, x_dev.data(), x_dev.data());
      EXPECT_TRUE(same(x_dev.download(), y)) << "forward, in place";
    }
  }
};

const ActivationCase kRelu = {"relu",
                              &cudnn::CudnnBackend::relu_forward,
                              &cudnn::CudnnBackend::relu_backward,
                              &cpu::relu_forward,
                              &cpu::relu_backward,
                              -1.0f,
                              1.0f};
const ActivationCase kSigmoid = {"sigmoid",
                                 &cudnn::CudnnBackend::sigmoid_forward,
                                 &cudnn::CudnnBackend::sigmoid_backward,
                                 &cpu::sigmoid_forward,
                                 &cpu::sigmoid_backward,
                                 -20.0f,
                                 20.0f};

// Equal values, with -0 and +0 equal: cuDNN need not give the reference's sign of zero.
TEST_F(CudnnActivation, ReluMatchesReferenceExactly) {
  check(kRelu, [](std::span<const float> a, std::span<const float> b) {
    return testing::value_equal(a, b);
  });
}

TEST_F(CudnnActivation, SigmoidMatchesReference) {
  check(kSigmoid, [](std::span<const float> a, std::span<const float> b) {
    return testing::all_close(a, b, {.atol = 0.0, .rtol = 1e-5});
  });
}

TEST_F(CudnnActivation, ReluPropagatesNan) {
  const std::vector<float> x = {std::nanf(""), -1.0f, 2.0f};
  DeviceBuffer<float> x_dev(x);
  DeviceBuffer<float> y_dev(x.size());
  backend_->relu_forward(3, x_dev.data(), y_dev.data());
  const auto y = y_dev.download();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 2.0f);
}

TEST_F(CudnnActivation, CountZeroLaunchesNothingAndNegativeIsRejected) {
  backend_->relu_forward(0, nullptr, nullptr);
  DeviceBuffer<float> buffer(4);
  EXPECT_THROW(backend_->sigmoid_forward(-1, buffer.data(), buffer.data()), std::invalid_argument);
  EXPECT_THROW(backend_->relu_forward(4, nullptr, buffer.data()), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
