// The fused softmax cross-entropy reference against PyTorch, its stability for huge logits, the
// shape of its gradient, finite differences and label checks.
#include "kernels/cpu/softmax_cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"
#include "tests/support/fixtures.h"
#include "tests/support/gradient_check.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::all_close;
using testing::close_in_l2;

// Every row of dlogits is (softmax - one_hot) / batch, so it sums to 0.
::testing::AssertionResult rows_sum_to_zero(std::span<const float> dlogits, int classes,
                                            double tolerance) {
  for (std::size_t row = 0; row * classes < dlogits.size(); ++row) {
    double sum = 0.0;
    for (int j = 0; j < classes; ++j) sum += dlogits[row * classes + j];
    if (!(std::abs(sum) <= tolerance)) {
      return ::testing::AssertionFailure() << "row " << row << " sums to " << sum;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(CpuSoftmaxCrossEntropy, MatchesPyTorchFixtures) {
  const testing::Fixture fixture("softmax_cross_entropy");
  ASSERT_FALSE(fixture.cases().empty());
  for (const std::string& name : fixture.cases()) {
    SCOPED_TRACE(name);
    const nlohmann::json params = fixture.params(name);
    const int batch = params.at("batch");
    const int classes = params.at("classes");
    const auto logits = fixture.floats(name, "logits");
    const auto labels = fixture.ints(name, "labels");
    ASSERT_EQ(std::ssize(logits), std::int64_t{batch} * classes);
    ASSERT_EQ(std::ssize(labels), batch);

    float loss = -1.0f;
    std::vector<float> dlogits(logits.size(), -1.0f);
    cpu::softmax_cross_entropy(batch, classes, logits.data(), labels.data(), &loss, dlogits.data());
    EXPECT_TRUE(close_in_l2(std::span(&loss, 1), fixture.floats(name, "loss"), 1e-5));
    EXPECT_TRUE(close_in_l2(dlogits, fixture.floats(name, "dlogits"), 1e-5));
    EXPECT_TRUE(rows_sum_to_zero(dlogits, classes, 1e-6));
  }
}

// Logits far beyond exp's range: only the max-shifted log-sum-exp gives the exact, finite loss.
TEST(CpuSoftmaxCrossEntropy, StableForHugeLogits) {
  const std::vector<float> logits = {1e4f, -1e4f};
  for (const std::int32_t label : {0, 1}) {
    SCOPED_TRACE("label " + std::to_string(label));
    float loss = -1.0f;
    std::vector<float> dlogits(2);
    cpu::softmax_cross_entropy(1, 2, logits.data(), &label, &loss, dlogits.data());
    EXPECT_EQ(loss, label == 0 ? 0.0f : 2e4f);
    const std::vector<float> expected =
        label == 0 ? std::vector<float>{0.0f, 0.0f} : std::vector<float>{1.0f, -1.0f};
    EXPECT_TRUE(all_close(dlogits, expected, {}));
  }

  std::mt19937_64 rng(21);
  constexpr int kBatch = 16;
  constexpr int kClasses = 10;
  const auto large = testing::uniform_floats(kBatch * kClasses, -1e4f, 1e4f, rng);
  std::vector<std::int32_t> labels(kBatch);
  for (int row = 0; row < kBatch; ++row) labels[row] = row % kClasses;
  float loss = -1.0f;
  std::vector<float> dlogits(large.size());
  cpu::softmax_cross_entropy(kBatch, kClasses, large.data(), labels.data(), &loss, dlogits.data());
  EXPECT_TRUE(std::isfinite(loss));
  EXPECT_GE(loss, 0.0f);
  for (const float d : dlogits) EXPECT_TRUE(std::isfinite(d));
  EXPECT_TRUE(rows_sum_to_zero(dlogits, kClasses, 1e-6));
}

// Equal logits: softmax is uniform, so the loss is log(classes) whatever the label, and the
// gradient is (1 / classes - one_hot) / batch.
TEST(CpuSoftmaxCrossEntropy, UniformLogitsGiveLogClasses) {
  constexpr int kBatch = 4;
  constexpr int kClasses = 7;
  const std::vector<float> logits(kBatch * kClasses, 0.75f);
  const std::vector<std::int32_t> labels = {0, 6, 3, 3};
  float loss = -1.0f;
  std::vector<float> dlogits(logits.size());
  cpu::softmax_cross_entropy(kBatch, kClasses, logits.data(), labels.data(), &loss, dlogits.data());
  EXPECT_FLOAT_EQ(loss, std::log(7.0f));
  std::vector<float> expected(logits.size(), 1.0f / kClasses / kBatch);
  for (int row = 0; row < kBatch; ++row) expected[row * kClasses + labels[row]] -= 1.0f / kBatch;
  EXPECT_TRUE(all_close(dlogits, expected, {.atol = 1e-7, .rtol = 1e-6}));
}

TEST(CpuSoftmaxCrossEntropy, LossWithoutGradientIsTheSame) {
  std::mt19937_64 rng(4);
  const auto logits = testing::uniform_floats(3 * 10, -4.0f, 4.0f, rng);
  const std::vector<std::int32_t> labels = {9, 0, 4};
  float with = -1.0f;
  float without = -2.0f;
  std::vector<float> dlogits(logits.size());
  cpu::softmax_cross_entropy(3, 10, logits.data(), labels.data(), &with, dlogits.data());
  cpu::softmax_cross_entropy(3, 10, logits.data(), labels.data(), &without, nullptr);
  EXPECT_EQ(with, without);
}

// Central differences of the loss itself w.r.t. each logit. The loss is a float of about 2, so
// its rounding (ulp 2.4e-7) over a step of 2e-2 costs about 1e-5; the truncation error of a step
// of 1e-2 is smaller still (third derivatives of log-sum-exp are below 1 / batch): tolerance 1e-4.
TEST(CpuSoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  const std::uint64_t seed = testing::fresh_seed();
  SCOPED_TRACE(testing::seed_trace(seed));
  std::mt19937_64 rng(seed);
  for (const auto& [batch, classes] : {std::pair{1, 10}, std::pair{3, 7}, std::pair{5, 10}}) {
    SCOPED_TRACE("batch " + std::to_string(batch) + ", classes " + std::to_string(classes));
    const auto logits = testing::uniform_floats(batch * classes, -3.0f, 3.0f, rng);
    std::vector<std::int32_t> labels(batch);
    std::uniform_int_distribution<std::int32_t> label(0, classes - 1);
    for (std::int32_t& l : labels) l = label(rng);
    auto loss = [&](std::span<const float> input) {
      float value = 0.0f;
      cpu::softmax_cross_entropy(batch, classes, input.data(), labels.data(), &value, nullptr);
      return static_cast<double>(value);
    };
    float value = 0.0f;
    std::vector<float> dlogits(logits.size());
    cpu::softmax_cross_entropy(batch, classes, logits.data(), labels.data(), &value,
                               dlogits.data());
    EXPECT_TRUE(testing::gradient_matches(loss, logits, dlogits,
                                          {.step = 1e-2, .tolerance = 1e-4, .skip = {}}));
  }
}

TEST(CpuSoftmaxCrossEntropy, RejectsLabelsOutsideTheClassesNamingRowAndLabel) {
  const std::vector<float> logits(4 * 10, 0.0f);
  for (const std::int32_t bad : {-1, 10}) {
    SCOPED_TRACE("label " + std::to_string(bad));
    const std::vector<std::int32_t> labels = {1, 2, bad, 3};
    float loss = 123.0f;
    std::vector<float> dlogits(logits.size(), 123.0f);
    try {
      cpu::softmax_cross_entropy(4, 10, logits.data(), labels.data(), &loss, dlogits.data());
      ADD_FAILURE() << "label " << bad << " was accepted";
    } catch (const std::invalid_argument& error) {
      const std::string message = error.what();
      EXPECT_NE(message.find("row 2 has label " + std::to_string(bad)), std::string::npos)
          << message;
    }
    // Checked before anything is written.
    EXPECT_EQ(loss, 123.0f);
    EXPECT_TRUE(all_close(dlogits, std::vector<float>(logits.size(), 123.0f), {}));
  }
}

// Checked by Backend (kernels/backend.cpp), once for every engine, before the reference runs.
TEST(CpuSoftmaxCrossEntropy, RejectsEmptyShapesNamingTheField) {
  cpu::CpuBackend backend;
  const float logit = 0.0f;
  const std::int32_t label = 0;
  float loss = 0.0f;
  for (const auto& [batch, classes, field] :
       {std::tuple{0, 10, "batch"}, std::tuple{4, 0, "classes"}, std::tuple{-1, 10, "batch"}}) {
    try {
      backend.softmax_cross_entropy(batch, classes, &logit, &label, &loss, nullptr);
      ADD_FAILURE() << "accepted batch " << batch << ", classes " << classes;
    } catch (const std::invalid_argument& error) {
      EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
    }
  }
}

}  // namespace
}  // namespace kiln
