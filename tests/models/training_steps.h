// Two whole training steps of each reference model, built as kiln builds it (models/networks.h:
// the graph of layers, its arena, Philox initialisation, the optimizer), checked against PyTorch
// (tests/golden/training_step_fixtures.py): the same initial values, batches, dropout masks and
// optimizer, so the loss, every gradient and every updated parameter must agree to float32
// precision. The same body runs on any backend: the CPU one with host memory
// (training_step_test.cpp), the CUDA one with device memory (cuda/).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/networks.h"
#include "runtime/graph/graph.h"
#include "runtime/graph/init.h"
#include "runtime/graph/loss.h"
#include "runtime/graph/optimizer.h"
#include "runtime/memory/arena.h"
#include "tests/support/compact_tensors.h"
#include "tests/support/fixtures.h"
#include "tests/support/tolerance.h"

namespace kiln::testing {

// Gradients and losses: sums over the batch in another order than PyTorch's, well within this.
inline constexpr double kGradientTolerance = 1e-5;

template <typename T>
std::vector<T> download(Allocator& allocator, const Tensor& tensor) {
  std::vector<T> host(static_cast<std::size_t>(tensor.elements()));
  allocator.copy_to_host(host.data(), tensor.data, tensor.bytes());
  return host;
}

// What a training step needs beside the graph and the optimizer, for a batch of MNIST images.
struct StepBuffers {
  Reservation x;         // the images, float32 [batch, 1, 28, 28]
  Reservation y;         // their labels, int32
  Reservation dlogits;   // the loss's gradient
  Reservation loss;      // one float
  Reservation counters;  // StepCounters
};

inline StepBuffers reserve_step_buffers(MemoryPlan& plan, std::int64_t batch, const Shape& logits) {
  return {plan.reserve("x", MemoryCategory::step_state, DType::f32, Shape{batch, 1, 28, 28}),
          plan.reserve("y", MemoryCategory::step_state, DType::i32, Shape{batch}),
          plan.reserve("dlogits", MemoryCategory::step_state, DType::f32, logits),
          plan.reserve("loss", MemoryCategory::step_state, DType::f32, Shape{1}),
          plan.reserve_bytes("counters", MemoryCategory::step_state, sizeof(StepCounters))};
}

// The fixture stores large tensors as a sample of their elements.
inline std::vector<float> as_stored(const Fixture& fixture, const std::string& model,
                                    const std::string& name, const std::vector<float>& values) {
  if (!fixture.has(model, "sample_indices/" + name)) return values;
  return sample_at(fixture.ints(model, "sample_indices/" + name), values, model + "/" + name);
}

// `model`: "mnist-cnn" (Adam, dropout) or "fashion-lenet" (SGD, sigmoid head); the fixture's
// case name is the same with an underscore. Parameters after an Adam step may differ where a
// gradient near zero rounds to the other sign (Adam moves by about lr * sign), so they get
// `parameter_tolerance`.
inline void train_two_steps_like_pytorch(Backend& backend, Allocator& allocator,
                                         const std::string& model, double parameter_tolerance) {
  const Fixture fixture("training_step");
  std::string case_name = model;
  case_name[case_name.find('-')] = '_';
  SCOPED_TRACE(case_name);
  const auto params = fixture.params(case_name);
  const int batch = params["batch"];
  const std::uint64_t seed = params["seed"];
  const bool adam = model == "mnist-cnn";

  Graph graph;
  models::build_model(model, graph, adam ? static_cast<float>(params["dropout"]) : 0.0f);
  MemoryPlan plan;
  graph.plan(backend, Shape{batch, 1, 28, 28}, plan);
  Optimizer optimizer(adam ? OptimizerKind::adam : OptimizerKind::sgd, adam ? 1e-3 : 0.04);
  const auto parameters = graph.parameters();
  optimizer.plan(parameters, plan);
  const auto images_bytes = fixture.bytes(case_name, "images");
  const auto labels_bytes = fixture.bytes(case_name, "labels");
  const auto count = static_cast<std::int64_t>(labels_bytes.size());
  const Reservation images =
      plan.reserve("images", MemoryCategory::data, DType::u8, Shape{count, 28, 28});
  const Reservation labels = plan.reserve("labels", MemoryCategory::data, DType::u8, Shape{count});
  const Reservation indices =
      plan.reserve("indices", MemoryCategory::data, DType::i32, Shape{batch});
  const auto [x, y, dlogits, loss, counters_bytes] =
      reserve_step_buffers(plan, batch, graph.output_shape());

  Arena arena(allocator, plan);
  graph.bind(arena);
  optimizer.bind(arena, parameters);
  allocator.copy_from_host(arena.tensor(images).data, images_bytes.data(), images_bytes.size());
  allocator.copy_from_host(arena.tensor(labels).data, labels_bytes.data(), labels_bytes.size());
  initialize_parameters(parameters, seed, allocator);
  auto* counters = static_cast<StepCounters*>(arena.tensor(counters_bytes).data);
  const StepCounters start{seed, 0};
  allocator.copy_from_host(counters, &start, sizeof start);

  const SoftmaxCrossEntropy criterion;
  for (int step = 0; step < 2; ++step) {
    const std::string prefix = "step" + std::to_string(step);
    SCOPED_TRACE(prefix);
    const auto step_indices = fixture.ints(case_name, prefix + "/indices");
    allocator.copy_from_host(arena.tensor(indices).data, step_indices.data(),
                             step_indices.size() * sizeof(std::int32_t));
    backend.gather_batch(arena.tensor(images).u8(), arena.tensor(labels).u8(), 28 * 28,
                         arena.tensor(indices).i32(), batch, arena.tensor(x).f32(),
                         arena.tensor(y).i32());
    const Tensor logits = graph.forward(backend, counters, true, arena.tensor(x));
    criterion.forward(backend, logits, arena.tensor(y), arena.tensor(loss).f32(),
                      arena.tensor(dlogits));
    graph.backward(backend, counters, arena.tensor(dlogits));
    optimizer.step(backend, counters);

    const float expected_loss = fixture.floats(case_name, prefix + "/loss")[0];
    EXPECT_NEAR(download<float>(allocator, arena.tensor(loss))[0], expected_loss,
                kGradientTolerance * std::abs(expected_loss));
    for (const Parameter* parameter : parameters) {
      SCOPED_TRACE(parameter->name);
      EXPECT_TRUE(close_in_l2(as_stored(fixture, case_name, parameter->name,
                                        download<float>(allocator, parameter->grad)),
                              fixture.floats(case_name, prefix + "/grad/" + parameter->name),
                              kGradientTolerance));
      EXPECT_TRUE(close_in_l2(as_stored(fixture, case_name, parameter->name,
                                        download<float>(allocator, parameter->value)),
                              fixture.floats(case_name, prefix + "/after/" + parameter->name),
                              parameter_tolerance));
    }
  }
  StepCounters after;
  allocator.copy_to_host(&after, counters, sizeof after);
  EXPECT_EQ(after.step, 2u);
}

}  // namespace kiln::testing
