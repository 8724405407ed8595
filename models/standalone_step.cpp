#include "models/standalone_step.h"

#include <fmt/format.h>

#include <numeric>
#include <stdexcept>
#include <vector>

#include "models/networks.h"
#include "models/recipe.h"
#include "runtime/graph/init.h"

namespace kiln::models {

StandaloneStep::StandaloneStep(std::string_view model, int batch, Backend& backend,
                               Allocator& allocator, std::span<const std::uint8_t> images,
                               std::span<const std::uint8_t> labels, bool fuse)
    : backend_(backend),
      batch_(batch),
      optimizer_(recipe_for(model).optimizer, recipe_for(model).learning_rate) {
  constexpr std::int64_t kImageElements = std::int64_t{kImageSide} * kImageSide;
  if (batch < 1 || images.size() != static_cast<std::size_t>(batch * kImageElements) ||
      labels.size() != static_cast<std::size_t>(batch)) {
    throw std::invalid_argument(
        fmt::format("a step of batch {} needs {} pixels and {} labels, got "
                    "{} and {}",
                    batch, batch * kImageElements, batch, images.size(), labels.size()));
  }
  build_model(model, graph_, recipe_for(model).dropout);
  const Shape input{batch, 1, kImageSide, kImageSide};
  graph_.set_fusion(fuse);
  graph_.plan(backend, input, plan_);
  loss_.check(graph_.output_shape());
  const std::vector<Parameter*> parameters = graph_.parameters();
  optimizer_.plan(parameters, plan_);
  const Shape images_shape{batch, kImageSide, kImageSide};
  const auto r_images = plan_.reserve("images", MemoryCategory::data, DType::u8, images_shape);
  const auto r_labels = plan_.reserve("labels", MemoryCategory::data, DType::u8, Shape{batch});
  const auto r_indices = plan_.reserve("order", MemoryCategory::data, DType::i32, Shape{batch});
  const auto r_x = plan_.reserve("batch images", MemoryCategory::step_state, DType::f32, input);
  const auto r_y =
      plan_.reserve("batch labels", MemoryCategory::step_state, DType::i32, Shape{batch});
  const auto r_loss = plan_.reserve("step loss", MemoryCategory::step_state, DType::f32, Shape{1});
  const auto r_dlogits = plan_.reserve("logit gradients", MemoryCategory::step_state, DType::f32,
                                       graph_.output_shape());
  const auto r_counters =
      plan_.reserve_bytes("step counters", MemoryCategory::step_state, sizeof(StepCounters));
  arena_ = std::make_unique<Arena>(allocator, plan_);
  graph_.bind(*arena_);
  optimizer_.bind(*arena_, parameters);
  images_ = arena_->tensor(r_images);
  labels_ = arena_->tensor(r_labels);
  indices_ = arena_->tensor(r_indices);
  x_ = arena_->tensor(r_x);
  y_ = arena_->tensor(r_y);
  loss_value_ = arena_->tensor(r_loss);
  dlogits_ = arena_->tensor(r_dlogits);
  counters_ = reinterpret_cast<StepCounters*>(arena_->bytes(r_counters).data());

  initialize_parameters(parameters, 0, allocator);
  std::vector<std::int32_t> order(static_cast<std::size_t>(batch));
  std::iota(order.begin(), order.end(), 0);
  allocator.copy_from_host(images_.data, images.data(), images.size());
  allocator.copy_from_host(labels_.data, labels.data(), labels.size());
  allocator.copy_from_host(indices_.data, order.data(), order.size() * sizeof(std::int32_t));
  const StepCounters counters{};
  allocator.copy_from_host(counters_, &counters, sizeof counters);
}

StandaloneStep::~StandaloneStep() = default;

void StandaloneStep::gather() {
  backend_.gather_batch(images_.u8(), labels_.u8(), std::int64_t{kImageSide} * kImageSide,
                        indices_.i32(), batch_, x_.f32(), y_.i32());
}

void StandaloneStep::forward() { logits_ = graph_.forward(backend_, counters_, true, x_); }

void StandaloneStep::loss() { loss_.forward(backend_, logits_, y_, loss_value_.f32(), dlogits_); }

void StandaloneStep::backward() { graph_.backward(backend_, counters_, dlogits_); }

void StandaloneStep::update() { optimizer_.step(backend_, counters_); }

}  // namespace kiln::models
