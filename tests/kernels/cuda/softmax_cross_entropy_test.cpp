// The fused softmax cross-entropy kernel against the CPU reference: batches 1, 3, 20 and 32 (and
// 33 and 70, more rows than the block has warps), classes 1, 7, 10 and 45 (more than a warp),
// logits of moderate size and of +-1e4, with and without dlogits, on a non-default stream.
// The kernel repeats the reference's double arithmetic in its order with CUDA's exp and log in
// place of glibc's, so the loss must agree within 1e-6 relative (in practice to the last bit) and
// dlogits within one float ulp (2^-22 relative, with margin) plus 1e-15 absolute (a label entry
// softmax - 1 cancels; see softmax_cross_entropy.h). Bad labels, which the reference rejects, must
// give a NaN loss.
#include "kernels/cuda/softmax_cross_entropy.h"

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

#include "kernels/cpu/softmax_cross_entropy.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::DeviceBuffer;

constexpr testing::Tolerance kLossTolerance = {.atol = 0.0, .rtol = 1e-6};
constexpr testing::Tolerance kGradientTolerance = {.atol = 1e-15, .rtol = 2.4e-7};

class CudaSoftmaxCrossEntropy : public testing::SeededGpuStreamTest {
 protected:
  std::vector<std::int32_t> random_labels(int batch, int classes) {
    std::uniform_int_distribution<std::int32_t> label(0, classes - 1);
    std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
    for (auto& l : labels) l = label(rng_);
    return labels;
  }

  struct Result {
    float loss;
    std::vector<float> dlogits;
  };

  Result run_gpu(int batch, int classes, const std::vector<float>& logits,
                 const std::vector<std::int32_t>& labels, bool with_gradient, cudaStream_t stream) {
    DeviceBuffer<float> logits_dev(logits);
    DeviceBuffer<std::int32_t> labels_dev(labels);
    DeviceBuffer<float> loss_dev(1);
    DeviceBuffer<float> dlogits_dev(logits.size());
    loss_dev.poison();
    dlogits_dev.poison();
    cuda::softmax_cross_entropy(batch, classes, logits_dev.data(), labels_dev.data(),
                                loss_dev.data(), with_gradient ? dlogits_dev.data() : nullptr,
                                stream);
    return {loss_dev.download()[0], with_gradient ? dlogits_dev.download() : std::vector<float>{}};
  }

  void check(int batch, int classes, float scale, cudaStream_t stream) {
    SCOPED_TRACE("batch " + std::to_string(batch) + ", classes " + std::to_string(classes) +
                 ", logits +-" + std::to_string(scale));
    const auto logits =
        testing::uniform_floats(static_cast<std::size_t>(batch) * classes, -scale, scale, rng_);
    const auto labels = random_labels(batch, classes);
    float loss_expected = 0.0f;
    std::vector<float> dlogits_expected(logits.size());
    cpu::softmax_cross_entropy(batch, classes, logits.data(), labels.data(), &loss_expected,
                               dlogits_expected.data());

    const Result result = run_gpu(batch, classes, logits, labels, true, stream);
    EXPECT_TRUE(
        all_close(std::span(&result.loss, 1), std::span(&loss_expected, 1), kLossTolerance));
    EXPECT_TRUE(all_close(result.dlogits, dlogits_expected, kGradientTolerance));
    if (std::bit_cast<std::uint32_t>(result.loss) != std::bit_cast<std::uint32_t>(loss_expected)) {
      std::cout << "softmax_cross_entropy: loss " << result.loss << " differs from the reference "
                << loss_expected << " in its last bits\n";
    }
    // Evaluation (no gradient) gives the same loss, and a second run the same bits.
    const Result evaluation = run_gpu(batch, classes, logits, labels, false, stream);
    EXPECT_EQ(std::bit_cast<std::uint32_t>(evaluation.loss),
              std::bit_cast<std::uint32_t>(result.loss));
  }
};

TEST_F(CudaSoftmaxCrossEntropy, MatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const int batch : {1, 3, 20, 32, 33, 70}) {
    for (const int classes : {1, 7, 10, 45}) {
      for (const float scale : {5.0f, 1e4f}) check(batch, classes, scale, stream_);
    }
  }
}

TEST_F(CudaSoftmaxCrossEntropy, DefaultStreamAndLargeBatch) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  check(1000, 10, 8.0f, nullptr);
}

// Confident rows: the label's softmax is 1 - tiny, where dlogits is a cancellation.
TEST_F(CudaSoftmaxCrossEntropy, ConfidentRows) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const int batch = 20;
  const int classes = 10;
  auto logits = testing::uniform_floats(batch * classes, -3.0f, 3.0f, rng_);
  const auto labels = random_labels(batch, classes);
  for (int r = 0; r < batch; ++r) logits[r * classes + labels[r]] += 10.0f + r;
  float loss_expected = 0.0f;
  std::vector<float> dlogits_expected(logits.size());
  cpu::softmax_cross_entropy(batch, classes, logits.data(), labels.data(), &loss_expected,
                             dlogits_expected.data());
  const Result result = run_gpu(batch, classes, logits, labels, true, stream_);
  EXPECT_TRUE(all_close(std::span(&result.loss, 1), std::span(&loss_expected, 1), kLossTolerance));
  EXPECT_TRUE(all_close(result.dlogits, dlogits_expected, kGradientTolerance));
}

// The reference rejects such a label; the kernel cannot, and poisons the loss and that row.
TEST_F(CudaSoftmaxCrossEntropy, LabelOutOfRangeGivesNanLossAndRow) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const int batch = 5;
  const int classes = 7;
  const auto logits = testing::uniform_floats(batch * classes, -3.0f, 3.0f, rng_);
  for (const std::int32_t bad : {-1, 7, std::numeric_limits<std::int32_t>::max()}) {
    SCOPED_TRACE("label " + std::to_string(bad));
    auto labels = random_labels(batch, classes);
    labels[2] = bad;
    const Result result = run_gpu(batch, classes, logits, labels, true, stream_);
    EXPECT_TRUE(std::isnan(result.loss));
    // The other rows' gradients do not depend on row 2's label.
    labels[2] = 0;
    float loss = 0.0f;
    std::vector<float> expected(logits.size());
    cpu::softmax_cross_entropy(batch, classes, logits.data(), labels.data(), &loss,
                               expected.data());
    for (int r = 0; r < batch; ++r) {
      const auto row =
          std::span(result.dlogits).subspan(static_cast<std::size_t>(r) * classes, classes);
      if (r == 2) {
        for (const float v : row) EXPECT_TRUE(std::isnan(v));
      } else {
        EXPECT_TRUE(all_close(
            row, std::span(expected).subspan(static_cast<std::size_t>(r) * classes, classes),
            kGradientTolerance));
      }
    }
  }
}

TEST_F(CudaSoftmaxCrossEntropy, NanLogitGivesNanLoss) {
  const std::vector<float> logits = {1.0f, 2.0f, std::nanf(""), 0.5f, 0.25f, 3.0f};
  const std::vector<std::int32_t> labels = {0, 2};
  float loss_expected = 0.0f;
  cpu::softmax_cross_entropy(2, 3, logits.data(), labels.data(), &loss_expected, nullptr);
  ASSERT_TRUE(std::isnan(loss_expected));
  EXPECT_TRUE(std::isnan(run_gpu(2, 3, logits, labels, true, stream_).loss));
}

TEST_F(CudaSoftmaxCrossEntropy, RejectsBadArguments) {
  DeviceBuffer<float> logits(10);
  DeviceBuffer<std::int32_t> labels(1);
  DeviceBuffer<float> loss(1);
  // Checked by Backend (kernels/backend.cpp), once for every engine.
  cuda::CudaBackend backend(stream_);
  EXPECT_THROW(
      backend.softmax_cross_entropy(0, 10, logits.data(), labels.data(), loss.data(), nullptr),
      std::invalid_argument);
  EXPECT_THROW(
      backend.softmax_cross_entropy(1, 0, logits.data(), labels.data(), loss.data(), nullptr),
      std::invalid_argument);
  EXPECT_THROW(backend.softmax_cross_entropy(1, 10, nullptr, labels.data(), loss.data(), nullptr),
               std::invalid_argument);
  EXPECT_THROW(backend.softmax_cross_entropy(1, 10, logits.data(), nullptr, loss.data(), nullptr),
               std::invalid_argument);
  EXPECT_THROW(backend.softmax_cross_entropy(1, 10, logits.data(), labels.data(), nullptr, nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
