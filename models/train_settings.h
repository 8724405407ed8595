// The settings a run trains with: the recipe's, then those of the training state it resumes, then
// the flags; and the output paths checked before any training. Private to the trainer's files.
#pragma once

#include "models/recipe.h"
#include "models/trainer.h"
#include "runtime/checkpoint/checkpoint.h"

namespace kiln::models {

// `state`: the training state being resumed, or null. UsageError for flags that disagree with
// the state or make no sense; std::runtime_error for an output path that cannot be written.
Settings settle_settings(const TrainOptions& options, const Recipe& recipe,
                         const checkpoint::TrainingState* state);

inline const char* optimizer_name(OptimizerKind kind) {
  return kind == OptimizerKind::adam ? "adam" : "sgd";
}

}  // namespace kiln::models
