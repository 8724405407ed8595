// The graph of layers: shape inference with errors that name the layer, and steps on batches
// smaller than the planned one (an epoch's last, partial batch).
#include "runtime/graph/graph.h"

#include <gtest/gtest.h>

#include <cmath>
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

// A small CNN with every layer kind, built for `planned` images and run on `rows` of them.
struct SmallNet {
  explicit SmallNet(std::int64_t planned) {
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

}  // namespace
}  // namespace kiln
