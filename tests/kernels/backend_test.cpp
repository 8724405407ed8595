// The interface's checks (kernels/backend.cpp) run for every engine before its code: here through
// the CPU reference, whose own functions no longer check what Backend has. The element-wise ops
// check all their pointers alike (ReLU's CUDA kernel once checked none, sigmoid's all of them).
#include "kernels/backend.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "kernels/cpu/backend.h"

namespace kiln {
namespace {

TEST(BackendChecks, ElementwiseOpsCheckCountAndEveryPointer) {
  cpu::CpuBackend backend;
  std::vector<float> data(4, 0.5f);
  float* d = data.data();
  EXPECT_THROW(backend.relu_forward(-1, d, d), std::invalid_argument);
  EXPECT_THROW(backend.relu_forward(4, nullptr, d), std::invalid_argument);
  EXPECT_THROW(backend.relu_forward(4, d, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.relu_backward(4, nullptr, d, d), std::invalid_argument);
  EXPECT_THROW(backend.relu_backward(4, d, nullptr, d), std::invalid_argument);
  EXPECT_THROW(backend.relu_backward(4, d, d, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.sigmoid_forward(4, nullptr, d), std::invalid_argument);
  EXPECT_THROW(backend.sigmoid_backward(4, d, d, nullptr), std::invalid_argument);
  // Nothing to read or write: no pointer is needed.
  backend.relu_forward(0, nullptr, nullptr);
  backend.sigmoid_backward(0, nullptr, nullptr, nullptr);
  backend.relu_forward(4, d, d);
  EXPECT_EQ(data, std::vector<float>(4, 0.5f));
}

TEST(BackendChecks, NamesTheOpAndTheArgument) {
  cpu::CpuBackend backend;
  float value = 0;
  try {
    backend.relu_backward(1, &value, nullptr, &value);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& error) {
    EXPECT_STREQ(error.what(), "relu_backward: dy must not be null");
  }
}

TEST(BackendChecks, OtherFamiliesAreCheckedBeforeTheEngineRuns) {
  cpu::CpuBackend backend;
  std::vector<float> data(16, 0.0f);
  float* d = data.data();
  std::int32_t label = 0;
  StepCounters counters{};
  EXPECT_THROW(backend.dropout_forward(4, 1.0f, 0, &counters, d, d, {}), std::invalid_argument);
  EXPECT_THROW(backend.dropout_backward(4, 0.5f, 0, &counters, nullptr, d, {}),
               std::invalid_argument);
  EXPECT_THROW(backend.softmax_cross_entropy(0, 4, d, &label, d, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.softmax_cross_entropy(1, 4, d, nullptr, d, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.linear_forward({.batch = 1, .in_features = 2, .out_features = 2}, d, nullptr,
                                      nullptr, d),
               std::invalid_argument);
  EXPECT_THROW(backend.max_pool2d_forward({}, d, d, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.count_correct(1, 0, d, &label, nullptr), std::invalid_argument);
  EXPECT_THROW(backend.shuffle_indices(2, 0, 0, 0, nullptr, &label, {}), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
