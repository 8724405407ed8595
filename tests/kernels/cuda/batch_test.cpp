// Batch assembly and accuracy counting against the CPU reference, bit for bit: every pixel value
// 0..255 through the division by 255, repeated indices and the dataset's first and last image,
// image sizes that are odd or zero, the models' batches and a large evaluation batch; argmax ties
// and NaNs (several per row), labels outside the classes, and a count that accumulates across
// calls. Also the GPU's own answer to a negative index, which the reference rejects by throwing.
#include "kernels/cuda/batch.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/batch.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::bitwise_equal;
using testing::DeviceBuffer;

class CudaBatch : public testing::SeededGpuStreamTest {
 protected:
  std::vector<std::uint8_t> random_bytes(std::size_t count, int high) {
    std::uniform_int_distribution<int> byte(0, high);
    std::vector<std::uint8_t> bytes(count);
    for (auto& b : bytes) b = static_cast<std::uint8_t>(byte(rng_));
    return bytes;
  }

  // A dataset of `images` images, the first holding every pixel value in order; a batch of indices
  // with repeats, the first and the last image.
  void check_gather(int images, std::int64_t image_elements, int batch, cudaStream_t stream) {
    SCOPED_TRACE("images " + std::to_string(images) + ", image_elements " +
                 std::to_string(image_elements) + ", batch " + std::to_string(batch));
    auto pixels = random_bytes(static_cast<std::size_t>(images * image_elements), 255);
    for (std::int64_t e = 0; e < image_elements; ++e)
      pixels[e] = static_cast<std::uint8_t>(e % 256);
    const auto labels = random_bytes(static_cast<std::size_t>(images), 9);
    std::uniform_int_distribution<std::int32_t> pick(0, images - 1);
    std::vector<std::int32_t> indices(static_cast<std::size_t>(batch));
    for (auto& i : indices) i = pick(rng_);
    indices[0] = images - 1;
    if (batch > 1) indices[1] = 0;
    if (batch > 2) indices[batch - 1] = indices[batch / 2];  // a repeat

    std::vector<float> x_expected(static_cast<std::size_t>(batch * image_elements));
    std::vector<std::int32_t> y_expected(static_cast<std::size_t>(batch));
    cpu::gather_batch(pixels.data(), labels.data(), image_elements, indices.data(), batch,
                      x_expected.data(), y_expected.data());

    DeviceBuffer<std::uint8_t> pixels_dev(pixels);
    DeviceBuffer<std::uint8_t> labels_dev(labels);
    DeviceBuffer<std::int32_t> indices_dev(indices);
    DeviceBuffer<float> x_dev(x_expected.size());
    DeviceBuffer<std::int32_t> y_dev(y_expected.size());
    x_dev.poison();
    y_dev.poison();
    cuda::gather_batch(pixels_dev.data(), labels_dev.data(), image_elements, indices_dev.data(),
                       batch, x_dev.data(), y_dev.data(), stream);
    EXPECT_TRUE(bitwise_equal(x_dev.download(), x_expected));
    EXPECT_EQ(y_dev.download(), y_expected);
  }

  // Logits quantised to a few values (ties), with NaNs (sometimes several in a row), and labels
  // mostly in range; correct starts at a non-zero count and must be added to.
  void check_count(int batch, int classes, cudaStream_t stream) {
    SCOPED_TRACE("batch " + std::to_string(batch) + ", classes " + std::to_string(classes));
    auto logits =
        testing::uniform_floats(static_cast<std::size_t>(batch) * classes, -1.0f, 1.0f, rng_);
    std::uniform_real_distribution<float> chance(0.0f, 1.0f);
    for (float& v : logits) {
      v = std::round(v * 2.0f) / 2.0f;
      if (chance(rng_) < 0.05f) v = std::numeric_limits<float>::quiet_NaN();
    }
    std::uniform_int_distribution<std::int32_t> label(-1, classes);  // -1 and classes never match
    std::vector<std::int32_t> labels(static_cast<std::size_t>(batch));
    for (auto& l : labels) l = label(rng_);
    // Make many rows correct, so the count is far from zero.
    for (int b = 0; b < batch; b += 2) {
      const float* row = logits.data() + static_cast<std::size_t>(b) * classes;
      int best = 0;
      for (int c = 1; c < classes; ++c) {
        if (row[c] > row[best] || (std::isnan(row[c]) && !std::isnan(row[best]))) best = c;
      }
      labels[static_cast<std::size_t>(b)] = best;
    }

    std::int64_t expected = 12345;
    cpu::count_correct(batch, classes, logits.data(), labels.data(), &expected);
    cpu::count_correct(batch, classes, logits.data(), labels.data(), &expected);

    DeviceBuffer<float> logits_dev(logits);
    DeviceBuffer<std::int32_t> labels_dev(labels);
    DeviceBuffer<std::int64_t> correct_dev(std::vector<std::int64_t>{12345});
    cuda::count_correct(batch, classes, logits_dev.data(), labels_dev.data(), correct_dev.data(),
                        stream);
    cuda::count_correct(batch, classes, logits_dev.data(), labels_dev.data(), correct_dev.data(),
                        stream);
    EXPECT_EQ(correct_dev.download()[0], expected);
  }
};

TEST_F(CudaBatch, GatherMatchesReferenceBitForBit) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  check_gather(100, 784, 32, stream_);   // mnist-cnn
  check_gather(100, 784, 20, stream_);   // fashion-lenet
  check_gather(300, 784, 257, stream_);  // more images than a block's threads
  check_gather(7, 5, 1, stream_);        // odd image size, batch 1
  check_gather(3, 256, 3, nullptr);      // default stream
  check_gather(50, 1, 50, stream_);      // one pixel per image
}

TEST_F(CudaBatch, GatherOfEmptyImagesStillGathersLabels) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  const std::vector<std::uint8_t> labels = {4, 7, 1};
  const std::vector<std::int32_t> indices = {2, 2, 0, 1};
  DeviceBuffer<std::uint8_t> labels_dev(labels);
  DeviceBuffer<std::int32_t> indices_dev(indices);
  DeviceBuffer<std::int32_t> y_dev(4);
  y_dev.poison();
  cuda::gather_batch(nullptr, labels_dev.data(), 0, indices_dev.data(), 4, nullptr, y_dev.data(),
                     stream_);
  EXPECT_EQ(y_dev.download(), (std::vector<std::int32_t>{1, 1, 4, 7}));
}

// The reference throws for a negative index; the kernel marks the row instead (batch.h).
TEST_F(CudaBatch, GatherMarksARowWithANegativeIndex) {
  const std::vector<std::uint8_t> pixels = {0, 51, 255, 102, 7, 9};
  const std::vector<std::uint8_t> labels = {3, 8};
  const std::vector<std::int32_t> indices = {1, -5, 0};
  DeviceBuffer<std::uint8_t> pixels_dev(pixels);
  DeviceBuffer<std::uint8_t> labels_dev(labels);
  DeviceBuffer<std::int32_t> indices_dev(indices);
  DeviceBuffer<float> x_dev(9);
  DeviceBuffer<std::int32_t> y_dev(3);
  cuda::gather_batch(pixels_dev.data(), labels_dev.data(), 3, indices_dev.data(), 3, x_dev.data(),
                     y_dev.data(), stream_);
  const auto x = x_dev.download();
  EXPECT_EQ(y_dev.download(), (std::vector<std::int32_t>{8, -1, 3}));
  for (int e = 3; e < 6; ++e) EXPECT_TRUE(std::isnan(x[e]));
  EXPECT_EQ(x[0], 102.0f / 255.0f);
  EXPECT_EQ(x[8], 1.0f);
}

TEST_F(CudaBatch, CountCorrectMatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const int batch : {1, 20, 31, 32, 33, 1000, 10000}) {
    check_count(batch, 10, stream_);
  }
  check_count(37, 1, stream_);  // one class: every row's argmax is 0
  check_count(300, 7, nullptr);
}

TEST_F(CudaBatch, ZeroBatchLaunchesNothing) {
  DeviceBuffer<std::int64_t> correct(std::vector<std::int64_t>{42});
  cuda::count_correct(0, 10, nullptr, nullptr, correct.data(), stream_);
  cuda::gather_batch(nullptr, nullptr, 784, nullptr, 0, nullptr, nullptr, stream_);
  EXPECT_EQ(correct.download()[0], 42);
}

TEST_F(CudaBatch, RejectsBadArguments) {
  DeviceBuffer<std::uint8_t> bytes(16);
  DeviceBuffer<std::int32_t> ints(4);
  DeviceBuffer<float> floats(64);
  DeviceBuffer<std::int64_t> correct(1);
  const std::uint8_t* b = bytes.data();
  // Checked by Backend (kernels/backend.cpp), once for every engine.
  cuda::CudaBackend backend(stream_);
  EXPECT_THROW(backend.gather_batch(b, b, 4, ints.data(), -1, floats.data(), ints.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.gather_batch(b, b, -4, ints.data(), 1, floats.data(), ints.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.gather_batch(nullptr, b, 4, ints.data(), 1, floats.data(), ints.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.gather_batch(b, b, 4, nullptr, 1, floats.data(), ints.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.gather_batch(b, b, 4, ints.data(), 1, floats.data(), nullptr),
               std::invalid_argument);
  EXPECT_THROW(backend.count_correct(-1, 10, floats.data(), ints.data(), correct.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.count_correct(1, 0, floats.data(), ints.data(), correct.data()),
               std::invalid_argument);
  EXPECT_THROW(backend.count_correct(1, 10, floats.data(), ints.data(), nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
