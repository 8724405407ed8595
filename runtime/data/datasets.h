// The two reference datasets. A dataset folder holds the four IDX files under their original
// names, raw or gzipped: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]. The data script puts
// them in data/mnist/ and data/fashion-mnist/. Both are 28x28 greyscale images in 10 classes:
// 60000 for training, 10000 for testing.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

#include "runtime/data/idx.h"

namespace kiln::data {

enum class DatasetName { mnist, fashion_mnist };
enum class Split { train, test };

inline constexpr int kReferenceDatasetClasses = 10;

// The dataset's folder under the data script's root: "mnist" or "fashion-mnist".
std::string_view dataset_dir_name(DatasetName name);

// Where the data script puts the dataset: <data_root>/<dataset_dir_name>.
std::filesystem::path dataset_dir(const std::filesystem::path& data_root, DatasetName name);

// What each label means, indexed by label: "0".."9" for MNIST, "T-shirt/top".."Ankle boot" for
// Fashion-MNIST.
std::span<const std::string_view> class_names(DatasetName name);

struct DatasetFiles {
  std::filesystem::path images;
  std::filesystem::path labels;
};

// One split's two files in a dataset folder: the raw file where it exists, else the .gz one
// (named even when it does not exist, so that loading it reports what is missing).
DatasetFiles split_files(const std::filesystem::path& folder, Split split);

// Reads one split of a dataset folder; a missing or damaged file is a DataError naming it.
Dataset load_split(const std::filesystem::path& folder, Split split);

}  // namespace kiln::data
