// The graph of layers: shape inference with errors that name the layer, and steps on batches
// smaller than the planned one (an epoch's last, partial batch).
#include "runtime/graph/graph.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/backend.h"
#include "runtime/graph/init.h"
#include "runtime/graph/layers/activation.h"
#include "runtime/graph/layers/conv2d.h"
#include "runtime/graph/layers/dropout.h"
#include "runtime/graph/layers/flatten.h"
#include "runtime/graph/layers/linear.h"
#include "runtime/graph/layers/max_pool2d.h"

namespace kiln {
namespace {

std::string plan_error(Graph& graph, const Shape& input) {
  cpu::CpuBackend backend;
  MemoryPlan plan;
  try {
    graph.plan(backend, input, plan);
  } catch (const ShapeError& error) {
    return error.what();
  }
  return "";
}

TEST(GraphShapes, LinearWithoutFlattenNamesTheLayerAndTheShape) {
  Graph graph;
  graph.add<Conv2d>("conv1", 1, 6, 5);
  graph.add<Linear>("ff1", 160, 56);
  EXPECT_EQ(plan_error(graph, Shape{20, 1, 28, 28}),
            "ff1 (Linear): expects [N, 160] (flatten images first), got [20, 6, 24, 24]");
}

TEST(GraphShapes, ChannelMismatchNamesTheLayer) {
  Graph graph;
  graph.add<Conv2d>("conv1", 1, 6, 5);
  graph.add<Conv2d>("conv2", 7, 10, 5);
  EXPECT_EQ(plan_error(graph, Shape{2, 1, 28, 28}),
            "conv2 (Conv2d): expects 7 input channels, got [2, 6, 24, 24]");
}

TEST(GraphShapes, AKernelLargerThanTheImageIsAnError) {
  Graph graph;
  graph.add<MaxPool2d>("pool", 2, 2);
  graph.add<Conv2d>("conv", 1, 1, 5);
  EXPECT_EQ(plan_error(graph, Shape{1, 1, 6, 6}),
            "conv (Conv2d): a 5x5 kernel with padding 0 does not fit the input, got [1, 1, 3, 3]");
}

TEST(GraphShapes, PaddedPoolingRoundsAsPyTorchDoes) {
  Graph graph;
  graph.add<MaxPool2d>("pool", 2, 2, 1);
  graph.add<Flatten>("flatten");
  cpu::CpuBackend backend;
  MemoryPlan plan;
  graph.plan(backend, Shape{3, 128, 7, 7}, plan);
  EXPECT_EQ(graph.output_shape(), (Shape{3, 128 * 4 * 4}));
  EXPECT_THROW(MaxPool2d("bad", 2, 2, 2), std::invalid_argument);
}

// A small CNN with every layer kind, built for `planned` images and run on `rows` of them; its
// ReLU and pooling are fused unless `fuse` is false.
struct SmallNet {
  explicit SmallNet(std::int64_t planned, bool fuse = true) {
    graph.set_fusion(fuse);
    graph.add<Conv2d>("conv", 3, 4, 3, 1, 1);
    graph.add<ReLU>("relu");
    graph.add<MaxPool2d>("pool", 2, 2, 1);
    graph.add<Dropout>("drop", 0.25f);
    graph.add<Flatten>("flatten");
    graph.add<Linear>("fc", 4 * 4 * 4, 5);
    graph.add<Sigmoid>("sigmoid");
    graph.plan(backend, Shape{planned, 3, 7, 7}, plan);
    x = plan.reserve("x", MemoryCategory::step_state, DType::f32, Shape{planned, 3, 7, 7});
    dy = plan.reserve("dy", MemoryCategory::step_state, DType::f32, graph.output_shape());
    arena = std::make_unique<Arena>(*allocator, plan);
    graph.bind(*arena);
    initialize_parameters(graph.parameters(), 3, *allocator);
  }

  // Forward and backward over the first `rows` images of fixed inputs; the outputs and the
  // gradients of every parameter, concatenated.
  std::vector<float> run(std::int64_t rows, bool training) {
    Tensor input = arena->tensor(x);
    input.shape = input.shape.with_batch(rows);
    for (std::int64_t i = 0; i < input.elements(); ++i) input.f32()[i] = std::sin(0.37f * i);
    const StepCounters counters{11, 2};
    const Tensor out = graph.forward(backend, &counters, training, input);
    std::vector<float> result(out.f32(), out.f32() + out.elements());
    if (!training) return result;
    Tensor gradient = arena->tensor(dy);
    gradient.shape = out.shape;
    for (std::int64_t i = 0; i < gradient.elements(); ++i) gradient.f32()[i] = std::cos(0.1f * i);
    graph.backward(backend, &counters, gradient);
    for (const Parameter* parameter : graph.parameters()) {
      result.insert(result.end(), parameter->grad.f32(),
                    parameter->grad.f32() + parameter->grad.elements());
    }
    return result;
  }

  cpu::CpuBackend backend;
  std::unique_ptr<Allocator> allocator = make_host_allocator();
  Graph graph;
  MemoryPlan plan;
  Reservation x, dy;
  std::unique_ptr<Arena> arena;
};

TEST(Graph, APartialBatchGivesWhatAGraphPlannedForItGives) {
  SmallNet planned_for_eight(8);
  SmallNet planned_for_three(3);
  for (const bool training : {true, false}) {
    SCOPED_TRACE(training);
    EXPECT_EQ(planned_for_eight.run(3, training), planned_for_three.run(3, training));
  }
}

TEST(Graph, EvaluationSkipsDropoutAndTrainingDoesNot) {
  SmallNet net(4);
  const auto evaluation = net.run(4, false);
  EXPECT_EQ(evaluation, net.run(4, false));
  const auto training = net.run(4, true);
  EXPECT_NE(evaluation,
            std::vector<float>(training.begin(),
                               training.begin() + static_cast<long>(evaluation.size())));
}

TEST(Graph, SummaryListsEveryLayerWithItsShapeAndParameters) {
  SmallNet net(2);
  const std::string summary = net.graph.summary();
  for (const char* expected :
       {"conv", "Conv2d(3, 4, kernel_size=3, stride=1, padding=1)", "[N, 4, 7, 7]",
        "MaxPool2d(kernel_size=2, stride=2, padding=1)", "[N, 4, 4, 4]", "Dropout(p=0.25)",
        "[N, 64]", "Linear(in_features=64, out_features=5)", "325", "total parameters: 437"}) {
    EXPECT_NE(summary.find(expected), std::string::npos) << expected << " in\n" << summary;
  }
}

// The CPU backend fuses a ReLU into the pooling after it: the same outputs and gradients, bit for
// bit, without the ReLU's output in the arena.
TEST(Graph, FusingReluIntoPoolingChangesNoResultAndSavesItsOutput) {
  SmallNet fused(4, true);
  SmallNet unfused(4, false);
  EXPECT_TRUE(fused.graph.fused_into_next(1));
  EXPECT_FALSE(unfused.graph.fused_into_next(1));
  for (std::size_t i = 0; i < fused.graph.layer_count(); ++i) {
    EXPECT_EQ(fused.graph.fused_into_next(i), i == 1) << i;
  }
  for (const bool training : {true, false}) {
    const auto expected = unfused.run(3, training);
    const auto actual = fused.run(3, training);
    ASSERT_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < actual.size(); ++i) {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(actual[i]), std::bit_cast<std::uint32_t>(expected[i]))
          << "value " << i << (training ? ", training" : ", evaluation");
    }
  }
  EXPECT_TRUE(fused.graph.last_output(1).empty()) << "a fused-away layer keeps no output";
  // The ReLU's output, [4, 4, 7, 7] floats, rounded up to the plan's 256-byte alignment.
  const std::size_t relu_output_bytes = (4 * 4 * 7 * 7 * 4 + 255) / 256 * 256;
  EXPECT_EQ(unfused.plan.bytes_in(MemoryCategory::activations) -
                fused.plan.bytes_in(MemoryCategory::activations),
            relu_output_bytes);
  EXPECT_NE(fused.graph.summary().find("ReLU() fused into pool"), std::string::npos)
      << fused.graph.summary();
  EXPECT_EQ(unfused.graph.summary().find("fused"), std::string::npos) << unfused.graph.summary();
}

// A ReLU as the graph's first layer, fused: the fused pooling takes the graph's input, so it is
// the first layer to run and no gradient is computed for that input.
TEST(Graph, AFusedFirstLayerTakesTheGraphsInput) {
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  std::vector<float> results[2];
  for (const bool fuse : {false, true}) {
    Graph graph;
    graph.set_fusion(fuse);
    graph.add<ReLU>("relu");
    graph.add<MaxPool2d>("pool", 3, 2, 1);
    graph.add<Flatten>("flatten");
    graph.add<Linear>("fc", 2 * 3 * 3, 4);
    MemoryPlan plan;
    graph.plan(backend, Shape{2, 2, 5, 5}, plan);
    const Reservation x =
        plan.reserve("x", MemoryCategory::step_state, DType::f32, Shape{2, 2, 5, 5});
    const Reservation dy = plan.reserve("dy", MemoryCategory::step_state, DType::f32, Shape{2, 4});
    Arena arena(*allocator, plan);
    graph.bind(arena);
    initialize_parameters(graph.parameters(), 5, *allocator);
    EXPECT_EQ(graph.fused_into_next(0), fuse);
    const Tensor input = arena.tensor(x);
    for (std::int64_t i = 0; i < input.elements(); ++i) input.f32()[i] = std::sin(0.7f * i);
    const StepCounters counters{1, 0};
    const Tensor out = graph.forward(backend, &counters, true, input);
    const Tensor gradient = arena.tensor(dy);
    for (std::int64_t i = 0; i < gradient.elements(); ++i) gradient.f32()[i] = std::cos(0.3f * i);
    graph.backward(backend, &counters, gradient);
    auto& result = results[fuse ? 1 : 0];
    result.assign(out.f32(), out.f32() + out.elements());
    for (const Parameter* parameter : graph.parameters()) {
      result.insert(result.end(), parameter->grad.f32(),
                    parameter->grad.f32() + parameter->grad.elements());
    }
  }
  EXPECT_EQ(results[1], results[0]);
}

}  // namespace
}  // namespace kiln
