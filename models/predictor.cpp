#include "models/predictor.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace kiln::models {

Predictor::Predictor(std::string_view model, const std::filesystem::path& weights, Backend& backend,
                     Allocator& allocator)
    : step_(StepSpec{.model = model, .batch = 1, .dropout = 0, .fuse = true, .optimizer = {}},
            backend) {  // no dropout: identity in evaluation anyway
  MemoryPlan& plan = step_.plan();
  const Reservation image =
      plan.reserve("image", MemoryCategory::data, DType::u8, Shape{1, kImageSide, kImageSide});
  const Reservation label = plan.reserve("label", MemoryCategory::data, DType::u8, Shape{1});
  const Reservation index = plan.reserve("index", MemoryCategory::data, DType::i32, Shape{1});
  const Arena& arena = step_.allocate(allocator);
  image_ = arena.tensor(image);
  label_ = arena.tensor(label);
  index_ = arena.tensor(index);
  step_.load_weights(weights);
}

Predictor::~Predictor() = default;

std::array<double, kClasses> Predictor::probabilities(std::span<const std::uint8_t> image) {
  if (image.size() != static_cast<std::size_t>(kImageElements)) {
    throw std::invalid_argument(
        fmt::format("an image of {} pixels, not {}x{}", image.size(), kImageSide, kImageSide));
  }
  step_.allocator().copy_from_host(image_.data, image.data(), image.size());
  step_.gather(image_, label_, index_.i32(), 1);
  const Tensor& logits = step_.forward(1, false);
  std::array<float, kClasses> scores{};
  step_.allocator().copy_to_host(scores.data(), logits.data, sizeof scores);
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
