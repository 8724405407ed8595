// The ops a reference model's training step calls, read off the model itself: its graph is built,
// planned at a batch size and run for one step (gather, forward, loss, backward, the recipe's
// optimizer update) against a backend that records each call and computes nothing. Benchmarks
// take their rows from this list, so they measure the shapes training really runs, never a
// hand-written table that could drift from the models.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/op_costs.h"
#include "kernels/ops.h"
#include "kernels/shapes.h"

namespace kiln::bench {

// One call, with the arguments that shape its work; only those of its op are set. The op is one
// of kernels/ops.h; a ReLU and the max pooling it feeds appear a second time as the one fused op
// (Backend::relu_max_pool2d_*) that training runs with --fuse on: the step is recorded unfused
// (every ReLU and pooling has its cuDNN counterpart) and the fused call is added after each such
// pair, with the pooling's shape and layer.
struct OpCall {
  Op op{};
  // The graph's layer ("layer1.0"), or "data" (the gather), "loss" or "optimizer".
  std::string layer{};
  Conv2dShape conv{};    // conv2d_*
  Pool2dShape pool{};    // max_pool2d_*, relu_max_pool2d_*
  LinearShape linear{};  // linear_*
  // Elements of relu_*, sigmoid_* and dropout_*; pixels per image of gather_batch.
  std::int64_t count = 0;
  int batch = 0;    // softmax_cross_entropy, gather_batch
  int classes = 0;  // softmax_cross_entropy
  float dropout_probability = 0;
  std::vector<std::int64_t> parameter_counts{};  // sgd_step, adam_step: one per parameter tensor

  // The arguments that shape the work, e.g. "[32, 1, 28, 28] -> 32, 3x3, stride 1, pad 1";
  // two calls with the same op and arguments do the same work.
  std::string arguments() const;
  OpCost cost() const;
};

// Every op of one training step of `model` ("mnist-cnn" or "fashion-lenet") at `batch`, in call
// order, each distinct (op, arguments) once under the first layer that called it.
// std::invalid_argument for an unknown model.
std::vector<OpCall> record_training_step(std::string_view model, int batch);

}  // namespace kiln::bench
