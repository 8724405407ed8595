// The real MNIST and Fashion-MNIST files under $KILN_DATA_DIR (ctest sets it to <repo>/data):
// sizes, the exact number of images in each class, and the pixel range. Tests skip, saying how to
// fetch the files, when they are absent.
#include "runtime/data/datasets.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/temp_dir.h"

namespace kiln::data {
namespace {

namespace fs = std::filesystem;
using ClassCounts = std::array<std::int64_t, kReferenceDatasetClasses>;

// The published per-class counts of MNIST; Fashion-MNIST is balanced by construction.
constexpr ClassCounts kMnistTrainCounts = {5923, 6742, 5958, 6131, 5842,
                                           5421, 5918, 6265, 5851, 5949};
constexpr ClassCounts kMnistTestCounts = {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009};
constexpr ClassCounts kFashionTrainCounts = {6000, 6000, 6000, 6000, 6000,
                                             6000, 6000, 6000, 6000, 6000};
constexpr ClassCounts kFashionTestCounts = {1000, 1000, 1000, 1000, 1000,
                                            1000, 1000, 1000, 1000, 1000};

// Loads one split and checks it, or skips the test when its files are not on this machine.
void expect_split(DatasetName name, Split split, std::int64_t count,
                  const ClassCounts& class_counts) {
  const char* data_dir = std::getenv("KILN_DATA_DIR");
  if (data_dir == nullptr) {
    GTEST_SKIP() << "KILN_DATA_DIR is not set: run through ctest, or set it to the data folder "
                    "that scripts/fetch_data.sh fills";
  }
  const fs::path folder = dataset_dir(data_dir, name);
  const DatasetFiles files = split_files(folder, split);
  for (const fs::path& file : {files.images, files.labels}) {
    if (!fs::exists(file)) {
      GTEST_SKIP() << file.string() << " is absent: fetch it with scripts/fetch_data.sh";
    }
  }

  const Dataset dataset = load_split(folder, split);
  EXPECT_EQ(dataset.num_classes, kReferenceDatasetClasses);
  EXPECT_EQ(dataset.images.count, count);
  EXPECT_EQ(dataset.images.rows, 28);
  EXPECT_EQ(dataset.images.cols, 28);
  ASSERT_EQ(static_cast<std::int64_t>(dataset.images.pixels.size()), count * 28 * 28);
  ASSERT_EQ(static_cast<std::int64_t>(dataset.labels.size()), count);

  ClassCounts counted{};
  for (std::uint8_t label : dataset.labels) ++counted[label];
  EXPECT_EQ(counted, class_counts);

  const auto [darkest, brightest] =
      std::minmax_element(dataset.images.pixels.begin(), dataset.images.pixels.end());
  EXPECT_EQ(*darkest, 0);
  EXPECT_EQ(*brightest, 255);
}

TEST(MnistDataset, TrainSplit) {
  expect_split(DatasetName::mnist, Split::train, 60000, kMnistTrainCounts);
}

TEST(MnistDataset, TestSplit) {
  expect_split(DatasetName::mnist, Split::test, 10000, kMnistTestCounts);
}

TEST(FashionMnistDataset, TrainSplit) {
  expect_split(DatasetName::fashion_mnist, Split::train, 60000, kFashionTrainCounts);
}

TEST(FashionMnistDataset, TestSplit) {
  expect_split(DatasetName::fashion_mnist, Split::test, 10000, kFashionTestCounts);
}

// These need no files.

TEST(DatasetNames, FolderNamesMatchTheDataScript) {
  EXPECT_EQ(dataset_dir_name(DatasetName::mnist), "mnist");
  EXPECT_EQ(dataset_dir_name(DatasetName::fashion_mnist), "fashion-mnist");
}

TEST(DatasetNames, DataScriptFolders) {
  EXPECT_EQ(dataset_dir("d", DatasetName::mnist), fs::path("d/mnist"));
  EXPECT_EQ(dataset_dir("d", DatasetName::fashion_mnist), fs::path("d/fashion-mnist"));
}

TEST(DatasetNames, SplitsUseTheOriginalFileNamesGzippedWhenNoRawFileExists) {
  const DatasetFiles train = split_files("d", Split::train);
  EXPECT_EQ(train.images, fs::path("d/train-images-idx3-ubyte.gz"));
  EXPECT_EQ(train.labels, fs::path("d/train-labels-idx1-ubyte.gz"));
  const DatasetFiles test = split_files("d", Split::test);
  EXPECT_EQ(test.images, fs::path("d/t10k-images-idx3-ubyte.gz"));
  EXPECT_EQ(test.labels, fs::path("d/t10k-labels-idx1-ubyte.gz"));
}

TEST(DatasetNames, RawFilesArePreferredWhereTheyExist) {
  const testing::TempDir dir;
  dir.write("t10k-labels-idx1-ubyte", std::vector<unsigned char>{0});
  const DatasetFiles test = split_files(dir.path(), Split::test);
  EXPECT_EQ(test.images, dir.path() / "t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(test.labels, dir.path() / "t10k-labels-idx1-ubyte");
}

TEST(DatasetNames, ClassNamesOfEachDataset) {
  const auto mnist = class_names(DatasetName::mnist);
  ASSERT_EQ(mnist.size(), 10u);
  for (int digit = 0; digit < 10; ++digit) EXPECT_EQ(mnist[digit], std::to_string(digit));

  const auto fashion = class_names(DatasetName::fashion_mnist);
  const std::array<std::string_view, 10> expected = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  EXPECT_TRUE(std::equal(fashion.begin(), fashion.end(), expected.begin(), expected.end()));
}

}  // namespace
}  // namespace kiln::data
