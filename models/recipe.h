// The training recipes of docs/recipes.md, one per reference model: what the reference PyTorch
// programs train with.
// The trainer takes its defaults from here; flags may override them, never silently.
#pragma once

#include <span>
#include <string_view>

#include "runtime/data/datasets.h"
#include "runtime/graph/optimizer.h"

namespace kiln::models {

using kiln::OptimizerKind;

struct Recipe {
  std::string_view model;  // "mnist-cnn" or "fashion-lenet"
  data::DatasetName dataset;
  OptimizerKind optimizer;
  double learning_rate;  // as PyTorch holds it (a Python float)
  int batch_size;
  int epochs;
  // Training images held out at random for validation (0: none, the test set is the only check).
  int validation_images;
  int log_every_batches;
  // Probability of every dropout layer (0: the model has none).
  float dropout;
};

// Both recipes, mnist-cnn first.
std::span<const Recipe> recipes();

// The recipe of `model`; std::invalid_argument naming the known models if there is none.
const Recipe& recipe_for(std::string_view model);

}  // namespace kiln::models
