// The CUDA graph runner's schedule, on the host: each variant's first step runs directly, so
// that one-off work (cuBLAS's and cuDNN's lazy initialisation, a new cuDNN plan for a short last
// batch) never lands inside a capture. No CUDA call happens before a variant's second step, so
// this runs without a GPU; tests/models/cuda/trainer_test.cpp checks the capture and replays.
#include "runtime/step_runner.h"

#include <gtest/gtest.h>

namespace kiln {
namespace {

TEST(CudaGraphStepRunner, RunsEachVariantsFirstStepDirectly) {
  CudaGraphStepRunner runner(nullptr);
  int steps = 0;
  const auto step = [&] { ++steps; };
  runner.run(32, step);
  runner.run(8, step);  // an epoch's short last batch: a variant of its own
  EXPECT_EQ(steps, 2);
  EXPECT_EQ(runner.graphs(), 0u);
}

}  // namespace
}  // namespace kiln
