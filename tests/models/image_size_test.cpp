// The one check that images are the models' 28x28: any other rows or cols is a DataError, one line
// naming where the images came from and both sizes; 28x28 passes whatever the count. The trainer
// checks the datasets it is given with it.
#include "models/image_size.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "kernels/cpu/backend.h"
#include "models/trainer.h"
#include "runtime/data/idx.h"
#include "tests/models/synthetic_data.h"

namespace kiln::models {
namespace {

data::ImageSet images_of(std::int64_t count, std::int64_t rows, std::int64_t cols) {
  return {.count = count, .rows = rows, .cols = cols, .pixels = {}};
}

std::string message_for(const data::ImageSet& images, const std::string& source) {
  try {
    require_model_image_size(images, source);
  } catch (const data::DataError& error) {
    return error.what();
  }
  return "";
}

TEST(ImageSize, TwentyEightByTwentyEightPasses) {
  EXPECT_NO_THROW(require_model_image_size(images_of(3, 28, 28), "data"));
  EXPECT_NO_THROW(require_model_image_size(images_of(0, 28, 28), "data"));
}

TEST(ImageSize, OtherSizesNameTheSourceAndBothSizes) {
  EXPECT_EQ(message_for(images_of(10, 32, 32), "d/t10k-images-idx3-ubyte"),
            "d/t10k-images-idx3-ubyte: images are 32x32; the models take 28x28");
  EXPECT_EQ(message_for(images_of(1, 28, 27), "data"),
            "data: images are 28x27; the models take 28x28");
  EXPECT_EQ(message_for(images_of(1, 27, 28), "data"),
            "data: images are 27x28; the models take 28x28");
  EXPECT_EQ(message_for(images_of(1, 0, 0), "x.idx"),
            "x.idx: images are 0x0; the models take 28x28");
}

TEST(ImageSize, TheTrainerRefusesDatasetsOfAnotherSize) {
  Datasets datasets = synthetic_datasets("mnist-cnn");
  datasets.test.images.rows = 14;
  datasets.test.images.cols = 56;  // the same pixel count as 28x28
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  try {
    Trainer(quiet_options("mnist-cnn"), backend, *allocator, datasets, nullptr);
    FAIL() << "no error";
  } catch (const data::DataError& error) {
    EXPECT_STREQ(error.what(), "data: images are 14x56; the models take 28x28");
  }
}

}  // namespace
}  // namespace kiln::models
