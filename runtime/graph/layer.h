// A layer of the graph: one op family of kernels/backend.h with its parameters, its shape rule
// and the memory it needs, and nothing about its neighbours. The graph (graph.h) infers shapes
// through it at build time, reserves its memory in the run's plan, binds it to the arena, then
// calls forward and backward each step with tensors whose first extent is the batch at hand.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/backend.h"
#include "runtime/memory/arena.h"
#include "runtime/tensor.h"

namespace kiln {

// A shape that does not fit a layer: "<layer> (<kind>): <what>, got [N, C, H, W]".
class ShapeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A learned tensor under the reference PyTorch module's name ("layer1.0.weight"), in PyTorch's
// layout. Its memory is set when the graph is placed in an arena; the optimizer's moments only for
// Adam.
struct Parameter {
  std::string name;
  Shape shape;
  double init_bound = 0;  // initial values are uniform in [-init_bound, init_bound]
  Tensor value;
  Tensor grad;
  Tensor exp_avg;
  Tensor exp_avg_sq;
};

// What a step passes down to each layer.
struct RunContext {
  Backend& backend;
  const StepCounters* counters;    // in the backend's memory: keys the dropout masks
  std::span<std::byte> workspace;  // the graph's shared scratch
  bool training = true;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  const std::string& name() const { return name_; }
  // As PyTorch prints the module: "Conv2d(1, 32, kernel_size=3, stride=1, padding=1)".
  virtual std::string describe() const = 0;
  // The output shape for an input shape (batch first); ShapeError when the input does not fit.
  virtual Shape output_shape(const Shape& input) const = 0;
  // True when the output is the input under another shape (Flatten): no memory of its own.
  virtual bool output_is_view() const { return false; }

  // Scratch this layer needs from the shared workspace for the largest input.
  virtual std::size_t workspace_bytes(const Backend& /*backend*/, const Shape& /*input*/) const {
    return 0;
  }
  // Reserves what the layer keeps from forward to backward (pooling's argmax, cuDNN dropout's
  // mask), for the largest input and as `backend` needs it, and takes its views once the arena
  // exists.
  virtual void plan(const Backend& /*backend*/, const Shape& /*input*/, MemoryPlan& /*plan*/) {}
  virtual void bind(const Arena& /*arena*/) {}

  // Fusion, decided at plan time: the graph offers each layer its predecessor (null when fusion
  // is off or the predecessor is taken already). A layer that can compute the predecessor's op in
  // its own pass over memory on `backend` (MaxPool2d over a ReLU) takes it over and returns true;
  // the graph then reserves no output for the predecessor and skips it, so this layer's forward
  // gets the predecessor's input and its backward returns the gradient with respect to that.
  virtual bool fuse_predecessor(const Layer* /*predecessor*/, const Backend& /*backend*/) {
    return false;
  }

  // Layers drawing random numbers (dropout) take distinct Philox streams, numbered by the graph.
  virtual int random_streams() const { return 0; }
  virtual void set_first_random_stream(std::uint32_t /*stream*/) {}

  std::span<Parameter> parameters() { return parameters_; }

  // Computes the output into y (of output_shape(x.shape)) and returns it, or returns a view of x
  // when there is nothing to compute (Flatten; Dropout in evaluation).
  virtual Tensor forward(const RunContext& context, const Tensor& x, const Tensor& y) = 0;
  // From the forward pass's x and returned y and the gradient dy of the loss with respect to y:
  // accumulates nothing, overwrites the parameters' gradients, and writes the gradient with
  // respect to x into dx and returns it (or a view of dy). An empty dx means no one needs it
  // (the first layer), and the layer skips that work.
  virtual Tensor backward(const RunContext& context, const Tensor& x, const Tensor& y,
                          const Tensor& dy, const Tensor& dx) = 0;

 protected:
  Parameter& add_parameter(std::string suffix, Shape shape, double init_bound);
  [[noreturn]] void fail_shape(std::string_view what, const Shape& got) const;
  // Checks x has rank 4 with `channels` channels (any when 0) and returns nothing; ShapeError
  // otherwise.
  void expect_image_batch(const Shape& input, std::int64_t channels) const;

 private:
  std::string name_;
  std::vector<Parameter> parameters_;
};

}  // namespace kiln
