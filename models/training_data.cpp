#include "models/training_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "models/image_size.h"
#include "models/networks.h"
#include "runtime/data/datasets.h"
#include "runtime/data/sampling.h"

namespace kiln::models {

Datasets load_datasets(const std::filesystem::path& folder) {
  Datasets datasets{data::load_split(folder, data::Split::train),
                    data::load_split(folder, data::Split::test)};
  for (const auto& [split, dataset] : {std::pair{data::Split::train, &datasets.train},
                                       std::pair{data::Split::test, &datasets.test}}) {
    require_model_image_size(dataset->images, data::split_files(folder, split).images.string());
  }
  return datasets;
}

TrainingData::TrainingData(const Datasets& datasets, std::int64_t validation_images,
                           std::uint64_t seed)
    : datasets_(datasets) {
  for (const data::Dataset* dataset : {&datasets.train, &datasets.test}) {
    require_model_image_size(dataset->images, "data");
    if (dataset->images.count < 1) throw std::runtime_error("data: a split holds no images");
  }
  const std::int64_t train_file_count = datasets.train.images.count;
  if (validation_images > 0) {
    if (train_file_count <= validation_images) {
      throw std::runtime_error(
          fmt::format("data: {} training images cannot give {} for validation and some to train",
                      train_file_count, validation_images));
    }
    auto split = data::split_train_validation(train_file_count, validation_images, seed);
    train_index_ = std::move(split.train);
    validation_index_ = std::move(split.validation);
  } else {
    train_index_.resize(static_cast<std::size_t>(train_file_count));
    std::iota(train_index_.begin(), train_index_.end(), 0);
  }
}

void TrainingData::reserve(MemoryPlan& plan, const Backend& backend, bool shuffle) {
  shuffle_ = shuffle;
  const auto image_shape = [](std::int64_t count) { return Shape{count, kImageSide, kImageSide}; };
  const std::int64_t train_file_count = datasets_.train.images.count;
  r_train_images_ =
      plan.reserve("train images", MemoryCategory::data, DType::u8, image_shape(train_file_count));
  r_train_labels_ =
      plan.reserve("train labels", MemoryCategory::data, DType::u8, Shape{train_file_count});
  r_test_images_ =
      plan.reserve("test images", MemoryCategory::data, DType::u8, image_shape(test_count()));
  r_test_labels_ =
      plan.reserve("test labels", MemoryCategory::data, DType::u8, Shape{test_count()});
  r_train_split_ =
      plan.reserve("training split", MemoryCategory::data, DType::i32, Shape{train_count()});
  r_epoch_order_ =
      plan.reserve("epoch order", MemoryCategory::data, DType::i32, Shape{train_count()});
  r_shuffle_workspace_ =
      plan.reserve_bytes("shuffle workspace", MemoryCategory::workspace,
                         shuffle ? backend.shuffle_workspace_bytes(train_count()) : 0);
  r_validation_order_ = plan.reserve("validation order", MemoryCategory::data, DType::i32,
                                     Shape{std::max<std::int64_t>(validation_count(), 1)});
  r_test_order_ = plan.reserve("test order", MemoryCategory::data, DType::i32, Shape{test_count()});
}

void TrainingData::upload(ModelStep& step) {
  const auto& [train, test] = datasets_;
  train_images_ = step.upload(r_train_images_, train.images.pixels.data());
  train_labels_ = step.upload(r_train_labels_, train.labels.data());
  test_images_ = step.upload(r_test_images_, test.images.pixels.data());
  test_labels_ = step.upload(r_test_labels_, test.labels.data());
  train_split_ = step.upload(r_train_split_, train_index_.data());
  std::vector<std::int32_t> test_order(static_cast<std::size_t>(test_count()));
  std::iota(test_order.begin(), test_order.end(), 0);
  test_order_ = step.upload(r_test_order_, test_order.data());
  validation_order_ = step.upload(r_validation_order_, validation_index_.data(),
                                  validation_index_.size() * sizeof(std::int32_t));
  shuffle_workspace_ = step.arena().bytes(r_shuffle_workspace_);
  epoch_order_ = step.arena().tensor(r_epoch_order_);
}

void TrainingData::start_epoch(Backend& backend, std::uint64_t seed, int epoch) {
  if (!shuffle_) {
    epoch_order_ = train_split_;
    return;
  }
  backend.shuffle_indices(train_count(), seed, data::kShuffleStream,
                          static_cast<std::uint64_t>(epoch), train_split_.i32(), epoch_order_.i32(),
                          shuffle_workspace_);
}

EvaluationSet TrainingData::validation() const {
  return {train_images_, train_labels_, validation_order_, validation_count()};
}

EvaluationSet TrainingData::test() const {
  return {test_images_, test_labels_, test_order_, test_count()};
}

}  // namespace kiln::models
