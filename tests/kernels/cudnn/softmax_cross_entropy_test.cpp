// Softmax cross-entropy on cuDNN (its log-softmax, then kiln's NLL kernel) against the CPU
// reference: batches 1, 3, 20, 32, 300 (more rows than the kernel's block), classes 1, 7, 10, 45,
// logits in [-5, 5], with and without dlogits. cuDNN's log-softmax is float where the reference
// works in double, so the tolerances are float rounding's, not the custom kernel's ulp: a
// log-probability of size up to ~12 is off by a few of its ulps (~3e-6), so the loss (their mean)
// is held to 1e-5 relative and 1e-6 absolute, and softmax = exp(log-probability) to 1e-5 relative,
// which in dlogits = (softmax - one_hot) / batch is 1e-5 / batch absolute at most. A wrong row,
// class or label moves a value by far more. Bad labels give a NaN loss and NaN dlogits in the row.
#include "kernels/cpu/softmax_cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/cudnn_test.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::DeviceBuffer;

class CudnnSoftmaxCrossEntropy : public testing::CudnnTest {
 protected:
  struct Result {
    float loss;
    std::vector<float> dlogits;
  };

  Result run(int batch, int classes, const std::vector<float>& logits,
             const std::vector<std::int32_t>& labels, bool with_gradient) {
    DeviceBuffer<float> logits_dev(logits);
    DeviceBuffer<std::int32_t> labels_dev(labels);
    DeviceBuffer<float> loss_dev(1);
    DeviceBuffer<float> dlogits_dev(logits.size());
    loss_dev.poison();
    dlogits_dev.poison();
    backend_->softmax_cross_entropy(batch, classes, logits_dev.data(), labels_dev.data(),
                                    loss_dev.data(), with_gradient ? dlogits_dev.data() : nullptr);
    return {loss_dev.download()[0], dlogits_dev.download()};
  }
};

TEST_F(CudnnSoftmaxCrossEntropy, MatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const int batch : {1, 3, 20, 32, 300}) {
    for (const int classes : {1, 7, 10, 45}) {
      SCOPED_TRACE("batch " + std::to_string(batch) + ", classes " + std::to_string(classes));
      const auto count = static_cast<std::size_t>(batch) * classes;
      const auto logits = testing::uniform_floats(count, -5.0f, 5.0f, rng_);
      std::uniform_int_distribution<std::int32_t> label(0, classes - 1);
      std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
      for (auto& l : labels) l = label(rng_);
      float loss = 0;
      std::vector<float> dlogits(count);
      cpu::softmax_cross_entropy(batch, classes, logits.data(), labels.data(), &loss,
                                 dlogits.data());

      const Result trained = run(batch, classes, logits, labels, true);
      EXPECT_TRUE(testing::all_close(std::vector<float>{trained.loss}, std::vector<float>{loss},
                                     {.atol = 1e-6, .rtol = 1e-5}));
      EXPECT_TRUE(
          testing::all_close(trained.dlogits, dlogits, {.atol = 1e-5 / batch, .rtol = 1e-5}));
      const Result evaluated = run(batch, classes, logits, labels, false);
      EXPECT_EQ(evaluated.loss, trained.loss) << "the loss does not depend on dlogits";
    }
  }
}

TEST_F(CudnnSoftmaxCrossEntropy, BadLabelGivesNan) {
  const std::vector<float> logits(3 * 4, 0.5f);
  for (const std::int32_t bad : {-1, 4}) {
    const Result result = run(3, 4, logits, {0, bad, 2}, true);
    EXPECT_TRUE(std::isnan(result.loss));
    for (int j = 0; j < 4; ++j) EXPECT_TRUE(std::isnan(result.dlogits[4 + j])) << j;
    EXPECT_FALSE(std::isnan(result.dlogits[0]));
  }
}

TEST_F(CudnnSoftmaxCrossEntropy, RejectsBadArguments) {
  DeviceBuffer<float> buffer(16);
  DeviceBuffer<std::int32_t> labels(4);
  float* data = buffer.data();
  EXPECT_THROW(backend_->softmax_cross_entropy(0, 4, data, labels.data(), data, data),
               std::invalid_argument);
  EXPECT_THROW(backend_->softmax_cross_entropy(4, 4, nullptr, labels.data(), data, data),
               std::invalid_argument);
  EXPECT_THROW(backend_->softmax_cross_entropy(4, 4, data, labels.data(), nullptr, data),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
