// ReLU-pool fusion checked on a whole model: two training steps of mnist-cnn (Adam, dropout, its
// three conv -> ReLU -> max-pool blocks, the third with padded pooling) from the same weights and
// batches, with fusion on and off. Fusion must change no bit of the losses, gradients or updated
// weights, and must leave the three ReLU outputs out of the arena. The same body runs on any
// backend that fuses: the CPU one (fusion_test.cpp) and the CUDA one (cuda/).
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "models/networks.h"
#include "runtime/graph/graph.h"
#include "runtime/graph/init.h"
#include "runtime/graph/loss.h"
#include "runtime/graph/optimizer.h"
#include "runtime/memory/arena.h"
#include "tests/models/training_steps.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln::testing {

struct MnistCnnSteps {
  std::vector<float> losses;                  // per step
  std::vector<std::vector<float>> gradients;  // per parameter, of the last step
  std::vector<std::vector<float>> values;     // per parameter, after the last step
  std::size_t activation_bytes = 0;
  int fused_layers = 0;
};

inline constexpr int kFusionTestBatch = 6;

inline MnistCnnSteps train_mnist_cnn_steps(Backend& backend, Allocator& allocator, bool fuse) {
  constexpr int kBatch = kFusionTestBatch;
  const Shape image_batch{kBatch, 1, 28, 28};
  Graph graph;
  graph.set_fusion(fuse);
  models::build_model("mnist-cnn", graph, 0.3f);
  MemoryPlan plan;
  graph.plan(backend, image_batch, plan);
  Optimizer optimizer(OptimizerKind::adam, 1e-3);
  const auto parameters = graph.parameters();
  optimizer.plan(parameters, plan);
  const auto [x, y, dlogits, loss, counters_bytes] =
      reserve_step_buffers(plan, kBatch, graph.output_shape());

  Arena arena(allocator, plan);
  graph.bind(arena);
  optimizer.bind(arena, parameters);
  initialize_parameters(parameters, 7, allocator);
  auto* counters = static_cast<StepCounters*>(arena.tensor(counters_bytes).data);
  const StepCounters start{7, 0};
  allocator.copy_from_host(counters, &start, sizeof start);

  MnistCnnSteps result;
  std::mt19937_64 rng(5);  // the same batches for both runs
  const SoftmaxCrossEntropy criterion;
  for (int step = 0; step < 2; ++step) {
    const auto images =
        uniform_floats(static_cast<std::size_t>(image_batch.elements()), 0.0f, 1.0f, rng);
    std::vector<std::int32_t> labels(kBatch);
    for (int i = 0; i < kBatch; ++i) labels[static_cast<std::size_t>(i)] = (i * 3 + step) % 10;
    allocator.copy_from_host(arena.tensor(x).data, images.data(), arena.tensor(x).bytes());
    allocator.copy_from_host(arena.tensor(y).data, labels.data(), arena.tensor(y).bytes());
    const Tensor logits = graph.forward(backend, counters, true, arena.tensor(x));
    criterion.forward(backend, logits, arena.tensor(y), arena.tensor(loss).f32(),
                      arena.tensor(dlogits));
    graph.backward(backend, counters, arena.tensor(dlogits));
    optimizer.step(backend, counters);
    result.losses.push_back(download<float>(allocator, arena.tensor(loss))[0]);
  }
  for (const Parameter* parameter : parameters) {
    result.gradients.push_back(download<float>(allocator, parameter->grad));
    result.values.push_back(download<float>(allocator, parameter->value));
  }
  result.activation_bytes = plan.bytes_in(MemoryCategory::activations);
  for (std::size_t i = 0; i < graph.layer_count(); ++i) {
    result.fused_layers += graph.fused_into_next(i) ? 1 : 0;
  }
  return result;
}

inline void expect_fusion_changes_no_bit(Backend& backend, Allocator& allocator) {
  const MnistCnnSteps unfused = train_mnist_cnn_steps(backend, allocator, false);
  const MnistCnnSteps fused = train_mnist_cnn_steps(backend, allocator, true);
  EXPECT_EQ(unfused.fused_layers, 0);
  EXPECT_EQ(fused.fused_layers, 3) << "layer1.1, layer2.1 and layer3.1 (not layer4.1: dropout)";
  EXPECT_TRUE(bitwise_equal(fused.losses, unfused.losses));
  ASSERT_EQ(fused.gradients.size(), unfused.gradients.size());
  for (std::size_t p = 0; p < fused.gradients.size(); ++p) {
    SCOPED_TRACE("parameter " + std::to_string(p));
    EXPECT_TRUE(bitwise_equal(fused.gradients[p], unfused.gradients[p]));
    EXPECT_TRUE(bitwise_equal(fused.values[p], unfused.values[p]));
  }
  // The three ReLU outputs (each a multiple of the plan's 256-byte alignment at batch 6).
  const std::size_t relu_outputs =
      std::size_t{kFusionTestBatch} * (32 * 28 * 28 + 64 * 14 * 14 + 128 * 7 * 7) * sizeof(float);
  EXPECT_EQ(unfused.activation_bytes - fused.activation_bytes, relu_outputs);
}

}  // namespace kiln::testing
