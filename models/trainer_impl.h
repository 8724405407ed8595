// The Trainer's private state, shared by its files: trainer.cpp (the training loop),
// trainer_evaluate.cpp (losses, evaluation, divergence), trainer_state.cpp (checkpoints, resuming)
// and trainer_report.cpp (the final test, per-class results, predictions). The step itself,
// model and batch buffers, is a ModelStep; the data is TrainingData. Not part of the models
// library's interface.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "models/model_step.h"
#include "models/progress.h"
#include "models/trainer.h"
#include "models/training_data.h"

namespace kiln::models {

struct Trainer::Impl {
  Impl(const TrainOptions& options, const Recipe& recipe, const Settings& settings,
       Backend& backend, const Datasets& datasets, std::FILE* log);

  const TrainOptions& options;
  const Recipe& recipe;
  Progress progress;
  std::FILE* summary_log;  // the final result, printed even when quiet
  TrainingData data;
  ModelStep step;

  // The loop's own buffers in the step's arena: the losses of a log window, read when logged,
  // and [0]: correct predictions of the epoch's training batches; [1]: of an evaluation.
  Tensor losses, correct;
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

  Backend& backend() const { return step.backend(); }
  Allocator& allocator() const { return step.allocator(); }
  std::int64_t window() const { return recipe.log_every_batches; }
};

}  // namespace kiln::models
