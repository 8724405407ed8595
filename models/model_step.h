// One step of a reference model, as Caffe's Net: the model's graph, its loss, the recipe's
// optimizer and the batch buffers, planned for one batch size on any backend in one arena, with
// the weights' way in and out. Training (Trainer), the standalone step (--time-layers, the
// benchmarks' op recorder) and prediction all run through it, so plan -> reserve -> bind -> upload
// is written once, here.
//
// Two phases: once constructed it has planned the graph, the optimizer and the batch buffers, and
// a caller reserves its own buffers (the dataset, its orders) in plan(); allocate() then allocates
// the one arena and binds everything to it. The step's parts neither allocate nor read anything
// back, so a CUDA graph can replay them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/graph/graph.h"
#include "runtime/graph/loss.h"
#include "runtime/graph/optimizer.h"
#include "runtime/memory/arena.h"

namespace kiln::models {

// The optimizer a training step updates the parameters with.
struct OptimizerSettings {
  OptimizerKind kind = OptimizerKind::sgd;
  double learning_rate = 0;
};

struct StepSpec {
  std::string_view model;
  std::int64_t batch = 1;
  float dropout = 0;
  // Fuse neighbouring ops where the backend can (TrainOptions::fuse).
  bool fuse = true;
  // None: forward passes only (prediction), with no gradient buffers of the step's own.
  std::optional<OptimizerSettings> optimizer;
};

// The first `rows` of a batch-first tensor.
Tensor first_rows(const Tensor& tensor, std::int64_t rows);
// A shape's extents, as checkpoints store them.
std::vector<std::int64_t> shape_vector(const Shape& shape);

class ModelStep {
 public:
  // Builds and plans the model (std::invalid_argument for an unknown model), its optimizer and the
  // batch buffers; nothing is allocated yet.
  ModelStep(const StepSpec& spec, Backend& backend);
  ~ModelStep();
  ModelStep(const ModelStep&) = delete;
  ModelStep& operator=(const ModelStep&) = delete;

  // For the caller's own reservations, before allocate().
  MemoryPlan& plan() { return plan_; }
  const MemoryPlan& memory_plan() const { return plan_; }
  // Allocates the plan's total once, zeroed, and binds the graph, the optimizer and the batch
  // buffers to it. The returned arena gives the caller's reservations their views.
  const Arena& allocate(Allocator& allocator);
  const Arena& arena() const { return *arena_; }
  // Copies a whole reservation of the caller from the host; returns its view.
  Tensor upload(Reservation reservation, const void* host);
  // The same for the first `bytes` of it.
  Tensor upload(Reservation reservation, const void* host, std::size_t bytes);

  Graph& graph() { return graph_; }
  const Graph& graph() const { return graph_; }
  // The graph's parameters, in model order.
  std::span<Parameter* const> parameters() const { return parameters_; }
  const SoftmaxCrossEntropy& loss_function() const { return loss_; }
  const Optimizer& optimizer() const { return *optimizer_; }
  std::int64_t batch() const { return batch_; }
  Backend& backend() const { return backend_; }
  Allocator& allocator() const { return arena_->allocator(); }

  // The parts of a step, on the first `rows` rows of the batch buffers.
  // Rows order[0..rows) of the uint8 images and labels into the graph's input, as float and int32.
  void gather(const Tensor& images, const Tensor& labels, const std::int32_t* order,
              std::int64_t rows);
  const Tensor& forward(std::int64_t rows, bool training);
  // The last forward pass's mean loss into `value` (one float in the backend's memory; null: the
  // step's own, loss_value()); with `gradient`, its gradient with respect to the logits too.
  void loss(std::int64_t rows, float* value, bool gradient);
  // Adds the last forward pass's correct predictions to `*correct` (in the backend's memory).
  void count_correct(std::int64_t rows, std::int64_t* correct);
  void backward(std::int64_t rows);
  // The optimizer's update, then the step counter.
  void update();
  const float* loss_value() const { return loss_value_.f32(); }
  const StepCounters* counters() const { return counters_; }
  const Tensor& logits() const { return logits_; }

  // The weights: parameter values on the host under their names, in model order.
  std::vector<checkpoint::NamedTensor> weights() const;
  void upload_weights(std::span<const checkpoint::NamedTensor> weights);
  // Drawn from `seed`, as PyTorch's layers draw them (runtime/graph/init.h).
  void initialize_weights(std::uint64_t seed);
  // A weights file of this model (kiln's, or a PyTorch state_dict); CheckpointError naming it.
  void load_weights(const std::filesystem::path& path);
  // The counters the dropout masks and Adam's bias correction read: (seed, steps taken).
  void set_counters(std::uint64_t seed, std::uint64_t step);

 private:
  Backend& backend_;
  std::string model_;
  std::int64_t batch_;
  Graph graph_;
  SoftmaxCrossEntropy loss_;
  std::optional<Optimizer> optimizer_;
  std::vector<Parameter*> parameters_;
  MemoryPlan plan_;
  Reservation r_x_, r_y_, r_dlogits_, r_loss_, r_counters_;
  std::unique_ptr<Arena> arena_;
  Tensor x_, y_, dlogits_, loss_value_, logits_;
  StepCounters* counters_ = nullptr;
};

}  // namespace kiln::models
