// Batch assembly and accuracy counting against PyTorch (fixtures/batch.safetensors), both exact:
// the pixels bit for bit as ToTensor divides them, the argmax of every row, the count of matches.
#include "kernels/cpu/batch.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"
#include "tests/support/fixtures.h"
#include "tests/support/invalid_argument.h"

namespace kiln {
namespace {

using testing::expect_invalid;
using testing::Fixture;

TEST(CpuBatch, GatherMatchesPyTorchBitForBit) {
  const Fixture fixture("batch");
  const auto names = fixture.cases_where("kind", "gather");
  ASSERT_EQ(names.size(), 3u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const auto images = fixture.bytes(name, "images");
    const auto labels = fixture.bytes(name, "labels");
    const auto indices = fixture.ints(name, "indices");
    const auto expected_x = fixture.floats(name, "x");
    const auto expected_y = fixture.ints(name, "y");
    const auto image_shape = fixture.shape(name, "images");
    const std::int64_t image_elements = image_shape.at(1) * image_shape.at(2);
    const int batch = static_cast<int>(indices.size());

    // Poisoned outputs: whatever is not written shows up as NaN or -1.
    std::vector<float> x(expected_x.size(), std::numeric_limits<float>::quiet_NaN());
    std::vector<std::int32_t> y(expected_y.size(), -1);
    cpu::gather_batch(images.data(), labels.data(), image_elements, indices.data(), batch, x.data(),
                      y.data());
    ASSERT_EQ(x.size(), static_cast<std::size_t>(batch * image_elements));
    EXPECT_EQ(std::memcmp(x.data(), expected_x.data(), x.size() * sizeof(float)), 0);
    EXPECT_EQ(y, expected_y);
  }
}

TEST(CpuBatch, CountCorrectMatchesPyTorch) {
  const Fixture fixture("batch");
  const auto names = fixture.cases_where("kind", "count");
  ASSERT_EQ(names.size(), 3u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const int batch = fixture.params(name).at("batch").get<int>();
    const int classes = fixture.params(name).at("classes").get<int>();
    const auto logits = fixture.floats(name, "logits");
    const auto labels = fixture.ints(name, "labels");
    const auto argmax = fixture.ints(name, "argmax");
    const std::int32_t expected = fixture.ints(name, "correct").at(0);

    // count_correct adds to what is there.
    std::int64_t correct = 1000;
    cpu::count_correct(batch, classes, logits.data(), labels.data(), &correct);
    EXPECT_EQ(correct, 1000 + expected);

    // Row by row, each class as the label: only torch.argmax's choice (the first maximum) counts.
    for (int row = 0; row < batch; ++row) {
      for (std::int32_t label = 0; label < classes; ++label) {
        std::int64_t hit = 0;
        cpu::count_correct(1, classes, logits.data() + row * classes, &label, &hit);
        ASSERT_EQ(hit, label == argmax[row] ? 1 : 0) << "row " << row << ", label " << label;
      }
    }
  }
}

// torch.argmax counts NaN as the maximum, the first NaN winning:
// argmax([1, nan, nan, 5]) = 1, argmax([nan, 2, nan, 1]) = 0, argmax([-inf] * 4) = 0.
TEST(CpuBatch, CountCorrectTreatsNanAsTheMaximumLikeTorchArgmax) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> logits = {1, nan, nan, 5, nan, 2, nan, 1, -inf, -inf, -inf, -inf};
  const std::vector<std::int32_t> argmax = {1, 0, 0};
  std::int64_t correct = 0;
  cpu::count_correct(3, 4, logits.data(), argmax.data(), &correct);
  EXPECT_EQ(correct, 3);
  const std::vector<std::int32_t> others = {2, 2, 3};
  cpu::count_correct(3, 4, logits.data(), others.data(), &correct);
  EXPECT_EQ(correct, 3);
}

TEST(CpuBatch, CountCorrectNeverMatchesALabelOutsideTheClasses) {
  const std::vector<float> logits = {0.0f, 1.0f, 0.5f};
  for (const std::int32_t label : {-1, 3, 1000}) {
    std::int64_t correct = 0;
    cpu::count_correct(1, 3, logits.data(), &label, &correct);
    EXPECT_EQ(correct, 0) << "label " << label;
  }
}

TEST(CpuBatch, EmptyBatchWritesAndCountsNothing) {
  std::int64_t correct = 7;
  cpu::count_correct(0, 10, nullptr, nullptr, &correct);
  EXPECT_EQ(correct, 7);
  cpu::gather_batch(nullptr, nullptr, 784, nullptr, 0, nullptr, nullptr);
}

// The dataset's size is not an argument, so an index past its end cannot be caught: indices
// must be valid (the fixture checks the first and the last image). A negative one is caught by
// the reference; the batch, image_elements and classes by Backend (kernels/backend.cpp), once for
// every engine.
TEST(CpuBatch, RejectsBadArguments) {
  cpu::CpuBackend backend;
  const std::vector<std::uint8_t> images(2 * 6, 9), labels = {1, 2};
  const std::vector<std::int32_t> indices = {1, -1};
  std::vector<float> x(12);
  std::vector<std::int32_t> y(2);
  std::int64_t correct = 0;
  expect_invalid(
      [&] {
        backend.gather_batch(images.data(), labels.data(), 6, indices.data(), 2, x.data(),
                             y.data());
      },
      "indices[1] is negative");
  expect_invalid(
      [&] {
        backend.gather_batch(images.data(), labels.data(), 6, indices.data(), -1, x.data(),
                             y.data());
      },
      "batch must not be negative");
  expect_invalid(
      [&] {
        backend.gather_batch(images.data(), labels.data(), -6, indices.data(), 1, x.data(),
                             y.data());
      },
      "image_elements must not be negative");
  expect_invalid([&] { backend.count_correct(-1, 3, x.data(), indices.data(), &correct); },
                 "batch must not be negative");
  expect_invalid([&] { backend.count_correct(1, 0, x.data(), indices.data(), &correct); },
                 "classes must be positive");
}

}  // namespace
}  // namespace kiln
