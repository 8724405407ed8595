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
// The calls reach it past the interface's checks (kernels/backend.cpp), as they reach an engine.
class StepRecorder final : public Backend, public LayerObserver {
 public:
  std::string_view name() const override { return "recording"; }
  MemorySpace memory_space() const override { return MemorySpace::host; }

  void set_graph(Graph* graph) { graph_ = graph; }
  void set_layer(std::string layer) { layer_ = std::move(layer); }
  void before(std::size_t layer, Pass /*pass*/) override { layer_ = graph_->layer(layer).name(); }
  void after(std::size_t /*layer*/, Pass /*pass*/) override {}
  std::vector<OpCall> take_calls() { return std::move(calls_); }

  std::size_t conv2d_workspace_bytes(const Conv2dShape& /*shape*/) const override { return 0; }
  // The step is recorded unfused, so that every ReLU and pooling call has a cuDNN counterpart.
  bool fuses_relu_max_pool() const override { return false; }
  std::size_t dropout_reserve_bytes(std::int64_t /*count*/) const override { return 0; }
  std::size_t shuffle_workspace_bytes(std::int64_t /*count*/) const override { return 0; }

 private:
  void conv2d_forward_impl(const Conv2dShape& shape, const float*, const float*, const float*,
                           float*, std::span<std::byte>) override {
    add({.op = Op::conv2d_forward, .conv = shape});
  }
  void conv2d_backward_data_impl(const Conv2dShape& shape, const float*, const float*, float*,
                                 std::span<std::byte>) override {
    add({.op = Op::conv2d_backward_data, .conv = shape});
  }
  void conv2d_backward_filter_impl(const Conv2dShape& shape, const float*, const float*, float*,
                                   std::span<std::byte>) override {
    add({.op = Op::conv2d_backward_filter, .conv = shape});
  }
  void conv2d_backward_bias_impl(const Conv2dShape& shape, const float*, float*) override {
    add({.op = Op::conv2d_backward_bias, .conv = shape});
  }

  void max_pool2d_forward_impl(const Pool2dShape& shape, const float*, float*,
                               std::int32_t*) override {
    add({.op = Op::max_pool2d_forward, .pool = shape});
  }
  void max_pool2d_backward_impl(const Pool2dShape& shape, const float*, const float*, const float*,
                                const std::int32_t*, float*) override {
    add({.op = Op::max_pool2d_backward, .pool = shape});
  }
  void relu_max_pool2d_forward_impl(const Pool2dShape&, const float*, float*,
                                    std::int32_t*) override {
    throw std::logic_error("the recording backend does not fuse");
  }
  void relu_max_pool2d_backward_impl(const Pool2dShape&, const float*, const float*,
                                     const std::int32_t*, float*) override {
    throw std::logic_error("the recording backend does not fuse");
  }

  void relu_forward_impl(std::int64_t count, const float*, float*) override {
    add({.op = Op::relu_forward, .count = count});
  }
  void relu_backward_impl(std::int64_t count, const float*, const float*, float*) override {
    add({.op = Op::relu_backward, .count = count});
  }
  void sigmoid_forward_impl(std::int64_t count, const float*, float*) override {
    add({.op = Op::sigmoid_forward, .count = count});
  }
  void sigmoid_backward_impl(std::int64_t count, const float*, const float*, float*) override {
    add({.op = Op::sigmoid_backward, .count = count});
  }

  void dropout_forward_impl(std::int64_t count, float p, std::uint32_t, const StepCounters*,
                            const float*, float*, std::span<std::byte>) override {
    add({.op = Op::dropout_forward, .count = count, .dropout_probability = p});
  }
  void dropout_backward_impl(std::int64_t count, float p, std::uint32_t, const StepCounters*,
                             const float*, float*, std::span<std::byte>) override {
    add({.op = Op::dropout_backward, .count = count, .dropout_probability = p});
  }

  void softmax_cross_entropy_impl(int batch, int classes, const float*, const std::int32_t*, float*,
                                  float*) override {
    add({.op = Op::softmax_cross_entropy, .batch = batch, .classes = classes});
  }

  void linear_forward_impl(const LinearShape& shape, const float*, const float*, const float*,
                           float*) override {
    add({.op = Op::linear_forward, .linear = shape});
  }
  void linear_backward_data_impl(const LinearShape& shape, const float*, const float*,
                                 float*) override {
    add({.op = Op::linear_backward_data, .linear = shape});
  }
  void linear_backward_weight_impl(const LinearShape& shape, const float*, const float*,
                                   float*) override {
    add({.op = Op::linear_backward_weight, .linear = shape});
  }
  void linear_backward_bias_impl(const LinearShape& shape, const float*, float*) override {
    add({.op = Op::linear_backward_bias, .linear = shape});
  }

  void sgd_step_impl(std::span<const ParameterSlot> parameters, float) override {
    add({.op = Op::sgd_step, .parameter_counts = counts(parameters)});
  }
  void adam_step_impl(std::span<const ParameterSlot> parameters, const AdamConfig&,
                      const StepCounters*) override {
    add({.op = Op::adam_step, .parameter_counts = counts(parameters)});
  }
  // Bookkeeping of the step, not a kernel worth measuring (one integer).
  void advance_step_impl(StepCounters* /*counters*/) override {}

  // Once per epoch, not part of a step.
  void shuffle_indices_impl(std::int64_t, std::uint64_t, std::uint32_t, std::uint64_t,
                            const std::int32_t*, std::int32_t*, std::span<std::byte>) override {}

  void gather_batch_impl(const std::uint8_t*, const std::uint8_t*, std::int64_t image_elements,
                         const std::int32_t*, int batch, float*, std::int32_t*) override {
    add({.op = Op::gather_batch, .count = image_elements, .batch = batch});
  }
  // The trainer's accuracy counter, outside the step this records.
  void count_correct_impl(int, int, const float*, const std::int32_t*, std::int64_t*) override {}

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
    if (first.op == Op::relu_forward && second.op == Op::max_pool2d_forward &&
        first.count == second.pool.input_elements()) {
      result.push_back(
          {.op = Op::relu_max_pool2d_forward, .layer = second.layer, .pool = second.pool});
    } else if (first.op == Op::max_pool2d_backward && second.op == Op::relu_backward &&
               second.count == first.pool.input_elements()) {
      result.push_back(
          {.op = Op::relu_max_pool2d_backward, .layer = first.layer, .pool = first.pool});
    }
  }
  return result;
}

}  // namespace

std::string OpCall::arguments() const {
  switch (op) {
    case Op::conv2d_forward:
    case Op::conv2d_backward_data:
    case Op::conv2d_backward_filter:
    case Op::conv2d_backward_bias:
      return conv.to_string();
    case Op::max_pool2d_forward:
    case Op::max_pool2d_backward:
    case Op::relu_max_pool2d_forward:
    case Op::relu_max_pool2d_backward:
      return pool.to_string();
    case Op::linear_forward:
    case Op::linear_backward_data:
    case Op::linear_backward_weight:
    case Op::linear_backward_bias:
      return linear.to_string();
    case Op::relu_forward:
    case Op::relu_backward:
    case Op::sigmoid_forward:
    case Op::sigmoid_backward:
      return fmt::format("{} elements", count);
    case Op::dropout_forward:
    case Op::dropout_backward:
      return fmt::format("{} elements, p {}", count, dropout_probability);
    case Op::softmax_cross_entropy:
      return fmt::format("{} rows of {} classes", batch, classes);
    case Op::sgd_step:
    case Op::adam_step:
      return fmt::format("{} tensors", fmt::join(parameter_counts, " + "));
    case Op::gather_batch:
      return fmt::format("{} images of {} pixels", batch, count);
    case Op::advance_step:
    case Op::shuffle_indices:
    case Op::count_correct:
      break;
  }
  throw std::logic_error(fmt::format("{} is not recorded", op_name(op)));
}

OpCost OpCall::cost() const {
  const std::int64_t parameters =
      std::accumulate(parameter_counts.begin(), parameter_counts.end(), std::int64_t{0});
  switch (op) {
    case Op::conv2d_forward:
      return conv2d_forward_cost(conv);
    case Op::conv2d_backward_data:
      return conv2d_backward_data_cost(conv);
    case Op::conv2d_backward_filter:
      return conv2d_backward_filter_cost(conv);
    case Op::conv2d_backward_bias:
      return conv2d_backward_bias_cost(conv);
    case Op::max_pool2d_forward:
      return max_pool2d_forward_cost(pool);
    case Op::max_pool2d_backward:
      return max_pool2d_backward_cost(pool);
    case Op::relu_max_pool2d_forward:
      return relu_max_pool2d_forward_cost(pool);
    case Op::relu_max_pool2d_backward:
      return relu_max_pool2d_backward_cost(pool);
    case Op::relu_forward:
      return relu_forward_cost(count);
    case Op::relu_backward:
      return relu_backward_cost(count);
    case Op::sigmoid_forward:
      return sigmoid_forward_cost(count);
    case Op::sigmoid_backward:
      return sigmoid_backward_cost(count);
    case Op::dropout_forward:
      return dropout_forward_cost(count);
    case Op::dropout_backward:
      return dropout_backward_cost(count);
    case Op::softmax_cross_entropy:
      return softmax_cross_entropy_cost(batch, classes);
    case Op::linear_forward:
      return linear_forward_cost(linear);
    case Op::linear_backward_data:
      return linear_backward_data_cost(linear);
    case Op::linear_backward_weight:
      return linear_backward_weight_cost(linear);
    case Op::linear_backward_bias:
      return linear_backward_bias_cost(linear);
    case Op::sgd_step:
      return sgd_step_cost(parameters);
    case Op::adam_step:
      return adam_step_cost(parameters);
    case Op::gather_batch:
      return gather_batch_cost(batch, count);
    case Op::advance_step:
    case Op::shuffle_indices:
    case Op::count_correct:
      break;
  }
  throw std::logic_error(fmt::format("{} is not recorded", op_name(op)));
}

std::vector<OpCall> record_training_step(std::string_view model, int batch) {
  StepRecorder recorder;
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
      return kept.op == call.op && kept.arguments() == call.arguments();
    });
    if (!seen) distinct.push_back(std::move(call));
  }
  return distinct;
}

}  // namespace kiln::bench
