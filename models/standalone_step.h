// One training step of a reference model on its own, for tools that look at a step rather than
// train (train_mnist_gpu --time-layers, the benchmarks' op recorder): the model's ModelStep with
// the recipe's dropout and optimizer, planned for one batch size on any backend, with one batch of
// source images, run as the trainer runs a step (gather, forward, loss, backward, update) but in
// parts, so that each part can be timed or observed on its own.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "models/model_step.h"

namespace kiln::models {

class StandaloneStep {
 public:
  // Plans and allocates everything (fusing neighbours where the backend can, if `fuse`, as the
  // trainer's --fuse does), initialises the parameters from seed 0 and uploads `images`
  // (batch * 28 * 28 pixels) and `labels` (batch), the source of every gather.
  // std::invalid_argument for an unknown model or a batch that does not match the images.
  StandaloneStep(std::string_view model, int batch, Backend& backend, Allocator& allocator,
                 std::span<const std::uint8_t> images, std::span<const std::uint8_t> labels,
                 bool fuse);

  Graph& graph() { return step_.graph(); }
  const MemoryPlan& memory_plan() const { return step_.memory_plan(); }

  // The batch's images and labels into the graph's input, as the trainer assembles a batch.
  void gather() { step_.gather(images_, labels_, order_.i32(), step_.batch()); }
  // The graph's forward pass in training mode.
  void forward() { step_.forward(step_.batch(), true); }
  // The loss and its gradient with respect to the logits.
  void loss() { step_.loss(step_.batch(), nullptr, true); }
  // Every parameter's gradient.
  void backward() { step_.backward(step_.batch()); }
  // The recipe's optimizer update, then the step counter.
  void update() { step_.update(); }

 private:
  ModelStep step_;
  Tensor images_, labels_, order_;
};

}  // namespace kiln::models
