// The Trainer's private state, shared by its three files: trainer.cpp (planning, the training
// loop, evaluation), trainer_state.cpp (weights, checkpoints, resuming) and trainer_report.cpp
// (the final test, per-class results, predictions). Not part of the models library's interface.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "models/networks.h"
#include "models/progress.h"
#include "models/trainer.h"

namespace kiln::models {

inline constexpr std::int64_t kImageElements = std::int64_t{kImageSide} * kImageSide;

inline const char* optimizer_name(OptimizerKind kind) {
  return kind == OptimizerKind::adam ? "adam" : "sgd";
}

inline std::vector<std::int64_t> shape_vector(const Shape& shape) {
  std::vector<std::int64_t> extents;
  for (int axis = 0; axis < shape.rank(); ++axis) extents.push_back(shape[axis]);
  return extents;
}

// The first `rows` of a batch-first tensor.
inline Tensor first_rows(const Tensor& tensor, std::int64_t rows) {
  Tensor view = tensor;
  view.shape = tensor.shape.with_batch(rows);
  return view;
}

struct Trainer::Impl {
  Impl(const TrainOptions& options, Backend& backend, Allocator& allocator,
       const Datasets& datasets, std::FILE* log)
      : options(options),
        recipe(recipe_for(options.model)),
        backend(backend),
        allocator(allocator),
        datasets(datasets),
        progress(options.quiet ? nullptr : log),
        summary_log(log) {}

  const TrainOptions& options;
  const Recipe& recipe;
  Backend& backend;
  Allocator& allocator;
  const Datasets& datasets;
  Progress progress;
  std::FILE* summary_log;  // the final result, printed even when quiet

  SoftmaxCrossEntropy loss;
  std::optional<Optimizer> optimizer;
  std::vector<std::int32_t> train_images_index;  // ascending indices into the training file
  std::vector<std::int32_t> validation_index;

  // Reservations, then their views.
  Reservation r_train_images, r_train_labels, r_test_images, r_test_labels;
  Reservation r_train_split, r_epoch_order, r_validation_order, r_test_order, r_shuffle_workspace;
  Reservation r_x, r_y, r_dlogits, r_step_loss, r_losses, r_correct, r_counters;
  std::unique_ptr<Arena> arena;
  Tensor train_images, train_labels, test_images, test_labels;
  Tensor train_split, epoch_order, validation_order, test_order;
  std::span<std::byte> shuffle_workspace;
  Tensor x, y, dlogits, step_loss, losses, correct;
  StepCounters* counters = nullptr;
  DirectStepRunner direct_runner;  // when options.step_runner is null
  StepRunner* step_runner = nullptr;

  // Where the run stands.
  int epoch = 0;                // from 0, the one in progress
  std::int64_t next_batch = 0;  // of the epoch in progress
  std::int64_t steps = 0;
  double epoch_loss_sum = 0;  // of the batches' mean losses, in batch order
  std::int64_t epoch_batches = 0;
  std::int64_t epoch_images = 0;
  std::int64_t window_used = 0;  // losses written since the last read
  double best_validation_loss = std::numeric_limits<double>::infinity();
  int best_epoch = 0;
  std::vector<checkpoint::NamedTensor>
      best_weights;                // when the recipe keeps the best on validation
  std::vector<float> losses_host;  // where read_losses reads them to
  double trained_seconds = 0;      // this run's, for the final summary
  std::int64_t trained_images = 0;
  bool weights_saved = false;

  std::int64_t train_count() const { return static_cast<std::int64_t>(train_images_index.size()); }
  std::int64_t window() const { return recipe.log_every_batches; }
};

struct Trainer::EvaluationSet {
  Tensor images;
  Tensor labels;
  Tensor order;
  std::int64_t count;
};

}  // namespace kiln::models
