// Two whole training steps of each reference model, built as kiln builds it (models/model_step.h:
// the graph of layers, its arena, Philox initialisation, the optimizer), checked against PyTorch
// (tests/golden/training_step_fixtures.py): the same initial values, batches, dropout masks and
// optimizer, so the loss, every gradient and every updated parameter must agree to float32
// precision. The same body runs on any backend: the CPU one with host memory
// (training_step_test.cpp), the CUDA one with device memory (cuda/).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "models/model_step.h"
#include "models/networks.h"
#include "runtime/graph/graph.h"
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

  models::ModelStep step(
      models::StepSpec{
          .model = model,
          .batch = batch,
          .dropout = adam ? static_cast<float>(params["dropout"]) : 0.0f,
          .fuse = true,
          .optimizer = models::OptimizerSettings{adam ? OptimizerKind::adam : OptimizerKind::sgd,
                                                 adam ? 1e-3 : 0.04}},
      backend);
  const auto images_bytes = fixture.bytes(case_name, "images");
  const auto labels_bytes = fixture.bytes(case_name, "labels");
  const auto count = static_cast<std::int64_t>(labels_bytes.size());
  MemoryPlan& plan = step.plan();
  const Reservation images_reservation =
      plan.reserve("images", MemoryCategory::data, DType::u8, Shape{count, 28, 28});
  const Reservation labels_reservation =
      plan.reserve("labels", MemoryCategory::data, DType::u8, Shape{count});
  const Reservation indices_reservation =
      plan.reserve("indices", MemoryCategory::data, DType::i32, Shape{batch});
  step.allocate(allocator);
  const Tensor images = step.upload(images_reservation, images_bytes.data());
  const Tensor labels = step.upload(labels_reservation, labels_bytes.data());
  step.initialize_weights(seed);
  step.set_counters(seed, 0);
  const auto parameters = step.parameters();

  for (int step_index = 0; step_index < 2; ++step_index) {
    const std::string prefix = "step" + std::to_string(step_index);
    SCOPED_TRACE(prefix);
    const auto step_indices = fixture.ints(case_name, prefix + "/indices");
    const Tensor indices = step.upload(indices_reservation, step_indices.data(),
                                       step_indices.size() * sizeof(std::int32_t));
    step.gather(images, labels, indices.i32(), batch);
    step.forward(batch, true);
    step.loss(batch, nullptr, true);
    step.backward(batch);
    step.update();

    const float expected_loss = fixture.floats(case_name, prefix + "/loss")[0];
    float loss = 0;
    allocator.copy_to_host(&loss, step.loss_value(), sizeof loss);
    EXPECT_NEAR(loss, expected_loss, kGradientTolerance * std::abs(expected_loss));
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
  allocator.copy_to_host(&after, step.counters(), sizeof after);
  EXPECT_EQ(after.step, 2u);
}

}  // namespace kiln::testing
