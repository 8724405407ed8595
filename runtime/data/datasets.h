// The two reference datasets as the data script lays them out on disk:
//   <data_dir>/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
//   <data_dir>/fashion-mnist/ (the same four names)
// Both are 28x28 greyscale images in 10 classes: 60000 for training, 10000 for testing.
#pragma once

#include <filesystem>
#include <span>
#include <string_view>

#include "runtime/data/idx.h"

namespace kiln::data {

enum class DatasetName { mnist, fashion_mnist };
enum class Split { train, test };

inline constexpr int kReferenceDatasetClasses = 10;

// The dataset's folder under the data directory: "mnist" or "fashion-mnist".
std::string_view dataset_dir_name(DatasetName name);

// What each label means, indexed by label: "0".."9" for MNIST, "T-shirt/top".."Ankle boot" for
// Fashion-MNIST.
std::span<const std::string_view> class_names(DatasetName name);

struct DatasetFiles {
  std::filesystem::path images;
  std::filesystem::path labels;
};

// Where one split's two files are, whether or not they exist.
DatasetFiles dataset_files(const std::filesystem::path& data_dir, DatasetName name, Split split);

// Reads one split; a missing or damaged file is a DataError naming it.
Dataset load_dataset(const std::filesystem::path& data_dir, DatasetName name, Split split);

}  // namespace kiln::data
