#include "models/standalone_step.h"

#include <fmt/format.h>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "models/networks.h"
#include "models/recipe.h"

namespace kiln::models {
namespace {

// The recipe's step of `model`, once the batch is known to match the images.
StepSpec recipe_step(std::string_view model, int batch, std::span<const std::uint8_t> images,
                     std::span<const std::uint8_t> labels, bool fuse) {
  const Recipe& recipe = recipe_for(model);  // an unknown model is named first
  if (batch < 1 || images.size() != static_cast<std::size_t>(batch * kImageElements) ||
      labels.size() != static_cast<std::size_t>(batch)) {
    throw std::invalid_argument(
        fmt::format("a step of batch {} needs {} pixels and {} labels, got "
                    "{} and {}",
                    batch, batch * kImageElements, batch, images.size(), labels.size()));
  }
  return StepSpec{.model = model,
                  .batch = batch,
                  .dropout = recipe.dropout,
                  .fuse = fuse,
                  .optimizer = OptimizerSettings{recipe.optimizer, recipe.learning_rate}};
}

}  // namespace

StandaloneStep::StandaloneStep(std::string_view model, int batch, Backend& backend,
                               Allocator& allocator, std::span<const std::uint8_t> images,
                               std::span<const std::uint8_t> labels, bool fuse)
    : step_(recipe_step(model, batch, images, labels, fuse), backend) {
  MemoryPlan& plan = step_.plan();
  const auto r_images =
      plan.reserve("images", MemoryCategory::data, DType::u8, Shape{batch, kImageSide, kImageSide});
  const auto r_labels = plan.reserve("labels", MemoryCategory::data, DType::u8, Shape{batch});
  const auto r_order = plan.reserve("order", MemoryCategory::data, DType::i32, Shape{batch});
  step_.allocate(allocator);
  step_.initialize_weights(0);
  std::vector<std::int32_t> order(static_cast<std::size_t>(batch));
  std::iota(order.begin(), order.end(), 0);
  images_ = step_.upload(r_images, images.data(), images.size());
  labels_ = step_.upload(r_labels, labels.data(), labels.size());
  order_ = step_.upload(r_order, order.data(), order.size() * sizeof(std::int32_t));
  step_.set_counters(0, 0);
}

}  // namespace kiln::models
