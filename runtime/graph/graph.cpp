#include "runtime/graph/graph.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace kiln {
namespace {

// "[N, 32, 28, 28]": the batch extent is whatever the step brings.
std::string with_batch_symbol(const Shape& shape) {
  std::string text = "[N";
  for (int axis = 1; axis < shape.rank(); ++axis) text += fmt::format(", {}", shape[axis]);
  return text + "]";
}

Tensor buffer_view(const Tensor& buffer, const Shape& shape) {
  Tensor view = buffer;
  view.shape = shape;
  return view;
}

}  // namespace

void Graph::plan(const Backend& backend, const Shape& input, MemoryPlan& plan) {
  if (layers_.empty()) throw std::logic_error("a graph needs at least one layer");
  input_shape_ = input;
  output_shapes_.clear();
  output_reservations_.clear();
  parameter_reservations_.clear();
  // Fusion first: whether a layer keeps an output depends on whether its successor takes it over.
  // A layer that took over its predecessor is not offered to its own successor in turn.
  fused_into_next_.assign(layers_.size(), false);
  for (std::size_t i = 1; i < layers_.size(); ++i) {
    const bool offered = fusion_ && !(i >= 2 && fused_into_next_[i - 2]);
    fused_into_next_[i - 1] =
        layers_[i]->fuse_predecessor(offered ? layers_[i - 1].get() : nullptr, backend);
  }

  std::uint32_t next_stream = 1;  // 0 is no stream; initialisation uses kInitStream and up
  std::size_t workspace_bytes = 0;
  std::int64_t largest_gradient = input.elements();
  Shape shape = input;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer* layer = layers_[i].get();
    const Shape output = layer->output_shape(shape);  // first: it says what does not fit
    workspace_bytes = std::max(workspace_bytes, layer->workspace_bytes(backend, shape));
    layer->plan(backend, shape, plan);
    if (layer->random_streams() > 0) {
      layer->set_first_random_stream(next_stream);
      next_stream += static_cast<std::uint32_t>(layer->random_streams());
    }
    for (Parameter& parameter : layer->parameters()) {
      parameter_reservations_.push_back(
          plan.reserve(parameter.name, MemoryCategory::parameters, DType::f32, parameter.shape));
      parameter_reservations_.push_back(plan.reserve(
          parameter.name + ".grad", MemoryCategory::gradients, DType::f32, parameter.shape));
    }
    shape = output;
    output_shapes_.push_back(shape);
    output_reservations_.push_back(layer->output_is_view() || fused_into_next_[i]
                                       ? Reservation{}
                                       : plan.reserve(layer->name() + ".output",
                                                      MemoryCategory::activations, DType::f32,
                                                      shape));
    largest_gradient = std::max(largest_gradient, shape.elements());
  }
  for (auto& reservation : gradient_reservations_) {
    reservation = plan.reserve("activation gradient", MemoryCategory::activation_gradients,
                               DType::f32, Shape{largest_gradient});
  }
  workspace_reservation_ =
      plan.reserve_bytes("convolution workspace", MemoryCategory::workspace, workspace_bytes);
}

void Graph::bind(const Arena& arena) {
  outputs_.clear();
  std::size_t next_parameter = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    layer.bind(arena);
    for (Parameter& parameter : layer.parameters()) {
      parameter.value = arena.tensor(parameter_reservations_[next_parameter++]);
      parameter.grad = arena.tensor(parameter_reservations_[next_parameter++]);
    }
    outputs_.push_back(output_reservations_[i].index == Reservation{}.index
                           ? Tensor{}
                           : arena.tensor(output_reservations_[i]));
  }
  for (int i = 0; i < 2; ++i) gradient_buffers_[i] = arena.tensor(gradient_reservations_[i]);
  workspace_ = arena.bytes(workspace_reservation_);
  last_forward_.assign(layers_.size(), Step{});
  forward_ranges_.clear();
  backward_ranges_.clear();
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    // A fused pair is one range, named by both: "layer1.1+layer1.2 forward".
    const std::string name = i > 0 && fused_into_next_[i - 1]
                                 ? layers_[i - 1]->name() + "+" + layers_[i]->name()
                                 : layers_[i]->name();
    forward_ranges_.emplace_back(name + " forward");
    backward_ranges_.emplace_back(name + " backward");
  }
}

Tensor Graph::forward(Backend& backend, const StepCounters* counters, bool training,
                      const Tensor& x) {
  if (x.shape.with_batch(input_shape_[0]) != input_shape_ || x.shape[0] > input_shape_[0]) {
    throw std::invalid_argument(fmt::format("graph input {} does not fit the planned {}",
                                            x.shape.to_string(), input_shape_.to_string()));
  }
  const RunContext context{backend, counters, workspace_, training};
  Tensor current = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (fused_into_next_[i]) {  // the next layer computes it, from the same input
      last_forward_[i] = {current, Tensor{}};
      continue;
    }
    Layer& layer = *layers_[i];
    const NvtxRange range{forward_ranges_[i]};
    const Tensor y = buffer_view(outputs_[i], layer.output_shape(current.shape));
    if (observer_ != nullptr) observer_->before(i, Pass::forward);
    last_forward_[i] = {current, layer.forward(context, current, y)};
    if (observer_ != nullptr) observer_->after(i, Pass::forward);
    current = last_forward_[i].output;
  }
  return current;
}

void Graph::backward(Backend& backend, const StepCounters* counters, const Tensor& doutput) {
  const RunContext context{backend, counters, workspace_, true};
  Tensor gradient = doutput;
  for (std::size_t i = layers_.size(); i-- > 0;) {
    if (fused_into_next_[i]) continue;  // the next layer's backward went through it already
    const NvtxRange range{backward_ranges_[i]};
    const Step& step = last_forward_[i];
    // Write into whichever buffer does not hold the incoming gradient; none for the graph's input.
    const bool takes_graph_input = i == 0 || (i == 1 && fused_into_next_[0]);
    Tensor dx;
    if (!takes_graph_input) {
      const Tensor& free =
          gradient.data == gradient_buffers_[0].data ? gradient_buffers_[1] : gradient_buffers_[0];
      dx = buffer_view(free, step.input.shape);
    }
    if (observer_ != nullptr) observer_->before(i, Pass::backward);
    gradient = layers_[i]->backward(context, step.input, step.output, gradient, dx);
    if (observer_ != nullptr) observer_->after(i, Pass::backward);
  }
}

std::vector<Parameter*> Graph::parameters() {
  std::vector<Parameter*> all;
  for (const auto& layer : layers_) {
    for (Parameter& parameter : layer->parameters()) all.push_back(&parameter);
  }
  return all;
}

std::int64_t Graph::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& layer : layers_) {
    for (const Parameter& parameter : layer->parameters()) count += parameter.shape.elements();
  }
  return count;
}

std::string Graph::summary() const {
  std::string text =
      fmt::format("{:<12} {:<52} {:<18} {:>10}\n", "layer", "module", "output shape", "parameters");
  text += fmt::format("{:<12} {:<52} {}\n", "(input)", "", with_batch_symbol(input_shape_));
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    std::int64_t count = 0;
    for (const Parameter& parameter : layers_[i]->parameters()) count += parameter.shape.elements();
    const std::string module =
        fused_into_next_[i]
            ? fmt::format("{} fused into {}", layers_[i]->describe(), layers_[i + 1]->name())
            : layers_[i]->describe();
    text += fmt::format("{:<12} {:<52} {:<18} {:>10}\n", layers_[i]->name(), module,
                        with_batch_symbol(output_shapes_[i]),
                        count > 0 ? fmt::format("{}", count) : "-");
  }
  text += fmt::format("total parameters: {} ({:.2f} MiB of float32)\n", parameter_count(),
                      static_cast<double>(parameter_count()) * 4 / (1 << 20));
  return text;
}

}  // namespace kiln
