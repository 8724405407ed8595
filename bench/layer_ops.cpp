#include "bench/layer_ops.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

#include "kernels/backend.h"
#include "models/networks.h"
#include "models/standalone_step.h"
#include "runtime/graph/layer_observer.h"
#include "runtime/memory/allocator.h"

namespace kiln::bench {
namespace {

// Records every call it gets under the layer being run, computes nothing and needs no scratch.
// Host memory, so a step can run against it on any machine; its arena is real but never read.
class RecordingBackend final : public Backend, public LayerObserver {
 public:
  std::string_view name() const override { return "recording"; }
  MemorySpace memory_space() const override { return MemorySpace::host; }

  void set_graph(Graph* graph) { graph_ = graph; }
  void set_layer(std::string layer) { layer_ = std::move(layer); }
  void before(std::size_t layer, Pass /*pass*/) override { layer_ = graph_->layer(layer).name(); }
  void after(std::size_t /*layer*/, Pass /*pass*/) override {}
  std::vector<OpCall> take_calls() { return std::move(calls_); }

  std::size_t conv2d_workspace_bytes(const Conv2dShape& /*shape*/) const override { return 0; }
  void conv2d_forward(const Conv2dShape& shape, const float*, const float*, const float*, float*,
                      std::span<std::byte>) override {
    add({.kind = OpKind::conv2d_forward, .conv = shape});
  }
  void conv2d_backward_data(const Conv2dShape& shape, const float*, const float*, float*,
                            std::span<std::byte>) override {
    add({.kind = OpKind::conv2d_backward_data, .conv = shape});
  }
  void conv2d_backward_filter(const Conv2dShape& shape, const float*, const float*, float*,
                              std::span<std::byte>) override {
    add({.kind = OpKind::conv2d_backward_filter, .conv = shape});
  }
  void conv2d_backward_bias(const Conv2dShape& shape, const float*, float*) override {
    add({.kind = OpKind::conv2d_backward_bias, .conv = shape});
  }

  void max_pool2d_forward(const Pool2dShape& shape, const float*, float*, std::int32_t*) override {
    add({.kind = OpKind::max_pool2d_forward, .pool = shape});
  }
  void max_pool2d_backward(const Pool2dShape& shape, const float*, const float*, const float*,
                           const std::int32_t*, float*) override {
    add({.kind = OpKind::max_pool2d_backward, .pool = shape});
  }
  // The step is recorded unfused, so that every ReLU and pooling call has a cuDNN counterpart.
  bool fuses_relu_max_pool() const override { return false; }
  void relu_max_pool2d_forward(const Pool2dShape&, const float*, float*, std::int32_t*) override {
    throw std::logic_error("the recording backend does not fuse");
  }
  void relu_max_pool2d_backward(const Pool2dShape&, const float*, const float*, const std::int32_t*,
                                float*) override {
    throw std::logic_error("the recording backend does not fuse");
  }

  void relu_forward(std::int64_t count, const float*, float*) override {
    add({.kind = OpKind::relu_forward, .count = count});
  }
  void relu_backward(std::int64_t count, const float*, const float*, float*) override {
    add({.kind = OpKind::relu_backward, .count = count});
  }
  void sigmoid_forward(std::int64_t count, const float*, float*) override {
    add({.kind = OpKind::sigmoid_forward, .count = count});
  }
  void sigmoid_backward(std::int64_t count, const float*, const float*, float*) override {
    add({.kind = OpKind::sigmoid_backward, .count = count});
  }

  std::size_t dropout_reserve_bytes(std::int64_t /*count*/) const override { return 0; }
  void dropout_forward(std::int64_t count, float p, std::uint32_t, const StepCounters*,
                       const float*, float*, std::span<std::byte>) override {
    add({.kind = OpKind::dropout_forward, .count = count, .dropout_probability = p});
  }
  void dropout_backward(std::int64_t count, float p, std::uint32_t, const StepCounters*,
                        const float*, float*, std::span<std::byte>) override {
    add({.kind = OpKind::dropout_backward, .count = count, .dropout_probability = p});
  }

  void softmax_cross_entropy(int batch, int classes, const float*, const std::int32_t*, float*,
                             float*) override {
    add({.kind = OpKind::softmax_cross_entropy, .batch = batch, .classes = classes});
  }

  void linear_forward(const LinearShape& shape, const float*, const float*, const float*,
                      float*) override {
    add({.kind = OpKind::linear_forward, .linear = shape});
  }
  void linear_backward_data(const LinearShape& shape, const float*, const float*, float*) override {
    add({.kind = OpKind::linear_backward_data, .linear = shape});
  }
  void linear_backward_weight(const LinearShape& shape, const float*, const float*,
                              float*) override {
    add({.kind = OpKind::linear_backward_weight, .linear = shape});
  }
  void linear_backward_bias(const LinearShape& shape, const float*, float*) override {
    add({.kind = OpKind::linear_backward_bias, .linear = shape});
  }

  void sgd_step(std::span<const ParameterSlot> parameters, float) override {
    add({.kind = OpKind::sgd_step, .parameter_counts = counts(parameters)});
  }
  void adam_step(std::span<const ParameterSlot> parameters, const AdamConfig&,
                 const StepCounters*) override {
    add({.kind = OpKind::adam_step, .parameter_counts = counts(parameters)});
  }
  // Bookkeeping of the step, not a kernel worth measuring (one integer).
  void advance_step(StepCounters* /*counters*/) override {}

  // Once per epoch, not part of a step.
  std::size_t shuffle_workspace_bytes(std::int64_t /*count*/) const override { return 0; }
  void shuffle_indices(std::int64_t, std::uint64_t, std::uint32_t, std::uint64_t,
                       const std::int32_t*, std::int32_t*, std::span<std::byte>) override {}

  void gather_batch(const std::uint8_t*, const std::uint8_t*, std::int64_t image_elements,
                    const std::int32_t*, int batch, float*, std::int32_t*) override {
    add({.kind = OpKind::gather_batch, .count = image_elements, .batch = batch});
  }
  // The trainer's accuracy counter, outside the step this records.
  void count_correct(int, int, const float*, const std::int32_t*, std::int64_t*) override {}

 private:
  static std::vector<std::int64_t> counts(std::span<const ParameterSlot> parameters) {
    std::vector<std::int64_t> result;
    for (const ParameterSlot& slot : parameters) result.push_back(slot.count);
    return result;
  }
  void add(OpCall call) {
    call.layer = layer_;
    calls_.push_back(std::move(call));
  }

  Graph* graph_ = nullptr;
  std::string layer_;
  std::vector<OpCall> calls_;
};

// After each ReLU feeding a max pooling of its whole output (forward: relu then pool; backward:
// pool then relu), the one fused call that replaces the pair when training fuses.
std::vector<OpCall> with_fused_pairs(const std::vector<OpCall>& calls) {
  std::vector<OpCall> result;
  for (std::size_t i = 0; i < calls.size(); ++i) {
    result.push_back(calls[i]);
    if (i == 0) continue;
    const OpCall& first = calls[i - 1];
    const OpCall& second = calls[i];
    if (first.kind == OpKind::relu_forward && second.kind == OpKind::max_pool2d_forward &&
        first.count == second.pool.input_elements()) {
      result.push_back(
          {.kind = OpKind::relu_max_pool2d_forward, .layer = second.layer, .pool = second.pool});
    } else if (first.kind == OpKind::max_pool2d_backward && second.kind == OpKind::relu_backward &&
               second.count == first.pool.input_elements()) {
      result.push_back(
          {.kind = OpKind::relu_max_pool2d_backward, .layer = first.layer, .pool = first.pool});
    }
  }
  return result;
}

}  // namespace

std::string_view op_name(OpKind kind) {
  switch (kind) {
    case OpKind::conv2d_forward:
      return "conv2d_forward";
    case OpKind::conv2d_backward_data:
      return "conv2d_backward_data";
    case OpKind::conv2d_backward_filter:
      return "conv2d_backward_filter";
    case OpKind::conv2d_backward_bias:
      return "conv2d_backward_bias";
    case OpKind::max_pool2d_forward:
      return "max_pool2d_forward";
    case OpKind::max_pool2d_backward:
      return "max_pool2d_backward";
    case OpKind::relu_max_pool2d_forward:
      return "relu_max_pool2d_forward";
    case OpKind::relu_max_pool2d_backward:
      return "relu_max_pool2d_backward";
    case OpKind::relu_forward:
      return "relu_forward";
    case OpKind::relu_backward:
      return "relu_backward";
    case OpKind::sigmoid_forward:
      return "sigmoid_forward";
    case OpKind::sigmoid_backward:
      return "sigmoid_backward";
    case OpKind::dropout_forward:
      return "dropout_forward";
    case OpKind::dropout_backward:
      return "dropout_backward";
    case OpKind::softmax_cross_entropy:
      return "softmax_cross_entropy";
    case OpKind::linear_forward:
      return "linear_forward";
    case OpKind::linear_backward_data:
      return "linear_backward_data";
    case OpKind::linear_backward_weight:
      return "linear_backward_weight";
    case OpKind::linear_backward_bias:
      return "linear_backward_bias";
    case OpKind::sgd_step:
      return "sgd_step";
    case OpKind::adam_step:
      return "adam_step";
    case OpKind::gather_batch:
      return "gather_batch";
  }
  throw std::logic_error("unknown op kind");
}

std::string OpCall::arguments() const {
  switch (kind) {
    case OpKind::conv2d_forward:
    case OpKind::conv2d_backward_data:
    case OpKind::conv2d_backward_filter:
    case OpKind::conv2d_backward_bias:
      return conv.to_string();
    case OpKind::max_pool2d_forward:
    case OpKind::max_pool2d_backward:
    case OpKind::relu_max_pool2d_forward:
    case OpKind::relu_max_pool2d_backward:
      return pool.to_string();
    case OpKind::linear_forward:
    case OpKind::linear_backward_data:
    case OpKind::linear_backward_weight:
    case OpKind::linear_backward_bias:
      return linear.to_string();
    case OpKind::relu_forward:
    case OpKind::relu_backward:
    case OpKind::sigmoid_forward:
    case OpKind::sigmoid_backward:
      return fmt::format("{} elements", count);
    case OpKind::dropout_forward:
    case OpKind::dropout_backward:
      return fmt::format("{} elements, p {}", count, dropout_probability);
    case OpKind::softmax_cross_entropy:
      return fmt::format("{} rows of {} classes", batch, classes);
    case OpKind::sgd_step:
    case OpKind::adam_step:
      return fmt::format("{} tensors", fmt::join(parameter_counts, " + "));
    case OpKind::gather_batch:
      return fmt::format("{} images of {} pixels", batch, count);
  }
  throw std::logic_error("unknown op kind");
}

OpCost OpCall::cost() const {
  const std::int64_t parameters =
      std::accumulate(parameter_counts.begin(), parameter_counts.end(), std::int64_t{0});
  switch (kind) {
    case OpKind::conv2d_forward:
      return conv2d_forward_cost(conv);
    case OpKind::conv2d_backward_data:
      return conv2d_backward_data_cost(conv);
    case OpKind::conv2d_backward_filter:
      return conv2d_backward_filter_cost(conv);
    case OpKind::conv2d_backward_bias:
      return conv2d_backward_bias_cost(conv);
    case OpKind::max_pool2d_forward:
      return max_pool2d_forward_cost(pool);
    case OpKind::max_pool2d_backward:
      return max_pool2d_backward_cost(pool);
    case OpKind::relu_max_pool2d_forward:
      return relu_max_pool2d_forward_cost(pool);
    case OpKind::relu_max_pool2d_backward:
      return relu_max_pool2d_backward_cost(pool);
    case OpKind::relu_forward:
      return relu_forward_cost(count);
    case OpKind::relu_backward:
      return relu_backward_cost(count);
    case OpKind::sigmoid_forward:
      return sigmoid_forward_cost(count);
    case OpKind::sigmoid_backward:
      return sigmoid_backward_cost(count);
    case OpKind::dropout_forward:
      return dropout_forward_cost(count);
    case OpKind::dropout_backward:
      return dropout_backward_cost(count);
    case OpKind::softmax_cross_entropy:
      return softmax_cross_entropy_cost(batch, classes);
    case OpKind::linear_forward:
      return linear_forward_cost(linear);
    case OpKind::linear_backward_data:
      return linear_backward_data_cost(linear);
    case OpKind::linear_backward_weight:
      return linear_backward_weight_cost(linear);
    case OpKind::linear_backward_bias:
      return linear_backward_bias_cost(linear);
    case OpKind::sgd_step:
      return sgd_step_cost(parameters);
    case OpKind::adam_step:
      return adam_step_cost(parameters);
    case OpKind::gather_batch:
      return gather_batch_cost(batch, count);
  }
  throw std::logic_error("unknown op kind");
}

std::vector<OpCall> record_training_step(std::string_view model, int batch) {
  RecordingBackend recorder;
  const auto allocator = make_host_allocator();
  const std::size_t pixels =
      static_cast<std::size_t>(batch) * models::kImageSide * models::kImageSide;
  const std::vector<std::uint8_t> images(pixels);
  const std::vector<std::uint8_t> labels(static_cast<std::size_t>(batch));
  models::StandaloneStep step(model, batch, recorder, *allocator, images, labels, false);
  recorder.set_graph(&step.graph());
  step.graph().set_observer(&recorder);
  recorder.set_layer("data");
  step.gather();
  step.forward();
  recorder.set_layer("loss");
  step.loss();
  step.backward();
  recorder.set_layer("optimizer");
  step.update();

  std::vector<OpCall> distinct;
  for (OpCall& call : with_fused_pairs(recorder.take_calls())) {
    const bool seen = std::any_of(distinct.begin(), distinct.end(), [&](const OpCall& kept) {
      return kept.kind == call.kind && kept.arguments() == call.arguments();
    });
    if (!seen) distinct.push_back(std::move(call));
  }
  return distinct;
}

}  // namespace kiln::bench
