// Classifies single images with saved weights: the model's graph planned for one image, in eval
// mode, on any backend. What `train_mnist_gpu predict` runs.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "models/model_step.h"
#include "models/networks.h"

namespace kiln::models {

class Predictor {
 public:
  // Loads `weights` (kiln's, or a PyTorch state_dict in safetensors) into `model`; a file of
  // another model or shape is a CheckpointError naming it.
  Predictor(std::string_view model, const std::filesystem::path& weights, Backend& backend,
            Allocator& allocator);
  ~Predictor();

  // The softmax of the model's output for one 28x28 uint8 image (0 = background), in double.
  // For fashion-lenet that is the softmax of its sigmoid outputs, the distribution its loss
  // scores.
  std::array<double, kClasses> probabilities(std::span<const std::uint8_t> image);

 private:
  ModelStep step_;
  Tensor image_, label_, index_;
};

// The three most probable classes, most probable first (ties: the lower class first).
std::array<int, 3> top_three(const std::array<double, kClasses>& probabilities);

}  // namespace kiln::models
