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

std::filesystem::path dataset_dir(const std::filesystem::path& data_root, DatasetName name) {
  return data_root / dataset_dir_name(name);
}

DatasetFiles split_files(const std::filesystem::path& folder, Split split) {
  // The original distribution's names: "t10k" is the 10000-image test split.
  const std::string prefix = split == Split::train ? "train" : "t10k";
  const auto raw_or_gzip = [&](const std::string& name) {
    const std::filesystem::path raw = folder / name;
    return std::filesystem::exists(raw) ? raw : folder / (name + ".gz");
  };
  return {raw_or_gzip(prefix + "-images-idx3-ubyte"), raw_or_gzip(prefix + "-labels-idx1-ubyte")};
}

Dataset load_split(const std::filesystem::path& folder, Split split) {
  const DatasetFiles files = split_files(folder, split);
  return load_idx_dataset(files.images, files.labels, kReferenceDatasetClasses);
}

}  // namespace kiln::data
