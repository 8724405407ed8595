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
#include "kernels/shapes.h"

namespace kiln::bench {

enum class OpKind {
  conv2d_forward,
  conv2d_backward_data,
  conv2d_backward_filter,
  conv2d_backward_bias,
  max_pool2d_forward,
  max_pool2d_backward,
  // A ReLU and the max pooling it feeds as one op (Backend::relu_max_pool2d_*), as training runs
  // them with --fuse on. The step is recorded unfused (every ReLU and pooling has its cuDNN
  // counterpart); these are added after each such pair, with the pooling's shape and layer.
  relu_max_pool2d_forward,
  relu_max_pool2d_backward,
  relu_forward,
  relu_backward,
  sigmoid_forward,
  sigmoid_backward,
  dropout_forward,
  dropout_backward,
  softmax_cross_entropy,
  linear_forward,
  linear_backward_data,
  linear_backward_weight,
  linear_backward_bias,
  sgd_step,
  adam_step,
  gather_batch,
};

// The op's name in kernels/backend.h: "conv2d_forward", ...
std::string_view op_name(OpKind kind);

// One call, with the arguments that shape its work; only those of its kind are set.
struct OpCall {
  OpKind kind{};
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
  // two calls with the same kind and arguments do the same work.
  std::string arguments() const;
  OpCost cost() const;
};

// Every op of one training step of `model` ("mnist-cnn" or "fashion-lenet") at `batch`, in call
// order, each distinct (op, arguments) once under the first layer that called it.
// std::invalid_argument for an unknown model.
std::vector<OpCall> record_training_step(std::string_view model, int batch);

}  // namespace kiln::bench
