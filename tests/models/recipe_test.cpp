// The recipes say what docs/recipes.md says, and an unknown model is refused with the known names.
#include "models/recipe.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::models {
namespace {

TEST(Recipe, MnistCnnTrainsWithAdamOnMnist) {
  const Recipe& recipe = recipe_for("mnist-cnn");
  EXPECT_EQ(recipe.dataset, data::DatasetName::mnist);
  EXPECT_EQ(recipe.optimizer, OptimizerKind::adam);
  EXPECT_EQ(recipe.learning_rate, 1e-3);
  EXPECT_EQ(recipe.batch_size, 32);
  EXPECT_EQ(recipe.epochs, 15);
  EXPECT_EQ(recipe.validation_images, 0);
  EXPECT_EQ(recipe.log_every_batches, 200);
}

TEST(Recipe, FashionLenetTrainsWithSgdOnFashionMnistWithAValidationSplit) {
  const Recipe& recipe = recipe_for("fashion-lenet");
  EXPECT_EQ(recipe.dataset, data::DatasetName::fashion_mnist);
  EXPECT_EQ(recipe.optimizer, OptimizerKind::sgd);
  EXPECT_EQ(recipe.learning_rate, 0.04);
  EXPECT_EQ(recipe.batch_size, 20);
  EXPECT_EQ(recipe.epochs, 15);
  EXPECT_EQ(recipe.validation_images, 12000);
}

TEST(Recipe, ListsBothModelsInOrder) {
  ASSERT_EQ(recipes().size(), 2u);
  EXPECT_EQ(recipes()[0].model, "mnist-cnn");
  EXPECT_EQ(recipes()[1].model, "fashion-lenet");
}

TEST(Recipe, UnknownModelIsRefusedNamingTheKnownOnes) {
  try {
    recipe_for("resnet50");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_EQ(std::string(error.what()),
              "unknown model 'resnet50' (known: mnist-cnn, fashion-lenet)");
  }
}

}  // namespace
}  // namespace kiln::models
