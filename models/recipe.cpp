#include "models/recipe.h"

#include <array>
#include <stdexcept>
#include <string>

namespace kiln::models {
namespace {

constexpr std::array kRecipes = {
    // mnist-cnn's reference program: Adam (lr 1e-3), batch 32, 15 epochs, log every 200 batches.
    Recipe{.model = "mnist-cnn",
           .dataset = data::DatasetName::mnist,
           .optimizer = OptimizerKind::adam,
           .learning_rate = 1e-3,
           .batch_size = 32,
           .epochs = 15,
           .validation_images = 0,
           .log_every_batches = 200,
           .dropout = 0.3f},
    // fashion-lenet's reference program: plain SGD (lr 0.04), batch 20, 15 epochs, 48,000 / 12,000
    // train/validation split.
    Recipe{.model = "fashion-lenet",
           .dataset = data::DatasetName::fashion_mnist,
           .optimizer = OptimizerKind::sgd,
           .learning_rate = 0.04,
           .batch_size = 20,
           .epochs = 15,
           .validation_images = 12000,
           .log_every_batches = 200,
           .dropout = 0.0f},
};

}  // namespace

std::span<const Recipe> recipes() { return kRecipes; }

const Recipe& recipe_for(std::string_view model) {
  for (const Recipe& recipe : kRecipes) {
    if (recipe.model == model) return recipe;
  }
  throw std::invalid_argument("unknown model '" + std::string(model) +
                              "' (known: mnist-cnn, fashion-lenet)");
}

}  // namespace kiln::models
