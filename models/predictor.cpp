#include "models/predictor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace kiln::models {

Predictor::Predictor(std::string_view model, const std::filesystem::path& weights, Backend& backend,
                     Allocator& allocator)
    : backend_(backend), allocator_(allocator) {
  build_model(model, graph_, 0.0f);  // dropout is the identity in evaluation anyway
  graph_.plan(backend, Shape{1, 1, kImageSide, kImageSide}, plan_);
  image_ =
      plan_.reserve("image", MemoryCategory::data, DType::u8, Shape{1, kImageSide, kImageSide});
  label_ = plan_.reserve("label", MemoryCategory::data, DType::u8, Shape{1});
  index_ = plan_.reserve("index", MemoryCategory::data, DType::i32, Shape{1});
  x_ = plan_.reserve("x", MemoryCategory::step_state, DType::f32,
                     Shape{1, 1, kImageSide, kImageSide});
  y_ = plan_.reserve("y", MemoryCategory::step_state, DType::i32, Shape{1});
  counters_ = plan_.reserve_bytes("counters", MemoryCategory::step_state, sizeof(StepCounters));
  arena_ = std::make_unique<Arena>(allocator, plan_);
  graph_.bind(*arena_);

  load_parameters(weights, model, graph_.parameters(), allocator);
}

Predictor::~Predictor() = default;

std::array<double, kClasses> Predictor::probabilities(std::span<const std::uint8_t> image) {
  if (image.size() != static_cast<std::size_t>(kImageSide) * kImageSide) {
    throw std::invalid_argument(
        fmt::format("an image of {} pixels, not {}x{}", image.size(), kImageSide, kImageSide));
  }
  const Tensor pixels = arena_->tensor(image_);
  allocator_.copy_from_host(pixels.data, image.data(), image.size());
  const Tensor x = arena_->tensor(x_);
  auto* counters = static_cast<StepCounters*>(arena_->tensor(counters_).data);
  backend_.gather_batch(pixels.u8(), arena_->tensor(label_).u8(), kImageSide * kImageSide,
                        arena_->tensor(index_).i32(), 1, x.f32(), arena_->tensor(y_).i32());
  const Tensor logits = graph_.forward(backend_, counters, false, x);
  std::array<float, kClasses> scores{};
  allocator_.copy_to_host(scores.data(), logits.data, sizeof scores);
  return softmax(scores);
}

std::array<int, 3> top_three(const std::array<double, kClasses>& probabilities) {
  std::array<int, kClasses> order{};
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return probabilities[static_cast<std::size_t>(a)] > probabilities[static_cast<std::size_t>(b)];
  });
  return {order[0], order[1], order[2]};
}

}  // namespace kiln::models
