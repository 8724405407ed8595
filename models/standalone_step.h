// One training step of a reference model on its own, for tools that look at a step rather than
// train (train_mnist_gpu --time-layers, the benchmarks' op recorder): the model's graph, loss and
// recipe optimizer planned for one batch size on any backend, with one batch of source images, run
// as the trainer runs a step (gather, forward, loss, backward, update) but in parts, so that each
// part can be timed or observed on its own.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "runtime/graph/graph.h"
#include "runtime/graph/loss.h"
#include "runtime/graph/optimizer.h"
#include "runtime/memory/arena.h"

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
  ~StandaloneStep();
  StandaloneStep(const StandaloneStep&) = delete;
  StandaloneStep& operator=(const StandaloneStep&) = delete;

  Graph& graph() { return graph_; }
  const MemoryPlan& memory_plan() const { return plan_; }

  // The batch's images and labels into the graph's input, as the trainer assembles a batch.
  void gather();
  // The graph's forward pass in training mode.
  void forward();
  // The loss and its gradient with respect to the logits.
  void loss();
  // Every parameter's gradient.
  void backward();
  // The recipe's optimizer update, then the step counter.
  void update();

 private:
  Backend& backend_;
  int batch_;
  Graph graph_;
  SoftmaxCrossEntropy loss_;
  Optimizer optimizer_;
  MemoryPlan plan_;
  std::unique_ptr<Arena> arena_;
  Tensor images_, labels_, indices_, x_, y_, loss_value_, dlogits_, logits_;
  StepCounters* counters_ = nullptr;
};

}  // namespace kiln::models
