#include "runtime/data/datasets.h"

#include <array>
#include <string>

namespace kiln::data {
namespace {

constexpr std::array<std::string_view, kReferenceDatasetClasses> kMnistClasses = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
constexpr std::array<std::string_view, kReferenceDatasetClasses> kFashionMnistClasses = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

}  // namespace

std::string_view dataset_dir_name(DatasetName name) {
  return name == DatasetName::mnist ? "mnist" : "fashion-mnist";
}

std::span<const std::string_view> class_names(DatasetName name) {
  if (name == DatasetName::mnist) return kMnistClasses;
  return kFashionMnistClasses;
}

DatasetFiles dataset_files(const std::filesystem::path& data_dir, DatasetName name, Split split) {
  // The original distribution's names: "t10k" is the 10000-image test split.
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const std::filesystem::path dir = data_dir / dataset_dir_name(name);
  return {dir / (prefix + "-images-idx3-ubyte.gz"), dir / (prefix + "-labels-idx1-ubyte.gz")};
}

Dataset load_dataset(const std::filesystem::path& data_dir, DatasetName name, Split split) {
  const DatasetFiles files = dataset_files(data_dir, name, split);
  return load_idx_dataset(files.images, files.labels, kReferenceDatasetClasses);
}

}  // namespace kiln::data
