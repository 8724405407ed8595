// What a training run keeps of its data in the backend's memory, uploaded once as uint8: both
// splits' images and labels, the indices of the training and validation splits into the training
// file, the test order, and the epoch's order with the shuffle's workspace. Reserved in the run's
// ModelStep plan, so that one arena holds the model and its data. Private to the trainer's files.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "models/model_step.h"
#include "models/trainer.h"

namespace kiln::models {

// Images to evaluate: rows order[0..count) of images and labels.
struct EvaluationSet {
  Tensor images;
  Tensor labels;
  Tensor order;
  std::int64_t count = 0;
};

class TrainingData {
 public:
  // Checks the splits (28x28 images, at least one of each) and holds `validation_images` of the
  // training file out for validation, drawn from `seed`; std::runtime_error naming the problem.
  TrainingData(const Datasets& datasets, std::int64_t validation_images, std::uint64_t seed);

  // Reserves the data in `plan`; with `shuffle`, room for shuffling the epoch's order too.
  void reserve(MemoryPlan& plan, const Backend& backend, bool shuffle);
  // Once `step` has allocated its arena: the views, and the data uploaded.
  void upload(ModelStep& step);

  std::int64_t train_count() const { return static_cast<std::int64_t>(train_index_.size()); }
  std::int64_t validation_count() const {
    return static_cast<std::int64_t>(validation_index_.size());
  }
  std::int64_t test_count() const { return datasets_.test.images.count; }
  std::span<const std::uint8_t> test_labels() const { return datasets_.test.labels; }

  // Epoch `epoch`'s order of training images: the split's, shuffled by (seed, epoch) on the
  // backend unless the run does not shuffle.
  void start_epoch(Backend& backend, std::uint64_t seed, int epoch);
  const Tensor& train_images() const { return train_images_; }
  const Tensor& train_labels() const { return train_labels_; }
  const Tensor& epoch_order() const { return epoch_order_; }
  EvaluationSet validation() const;
  EvaluationSet test() const;

 private:
  const Datasets& datasets_;
  std::vector<std::int32_t> train_index_;  // ascending indices into the training file
  std::vector<std::int32_t> validation_index_;
  bool shuffle_ = true;
  Reservation r_train_images_, r_train_labels_, r_test_images_, r_test_labels_;
  Reservation r_train_split_, r_epoch_order_, r_shuffle_workspace_, r_validation_order_,
      r_test_order_;
  Tensor train_images_, train_labels_, test_images_, test_labels_;
  Tensor train_split_, epoch_order_, validation_order_, test_order_;
  std::span<std::byte> shuffle_workspace_;
};

}  // namespace kiln::models
