// The cuBLAS-backed linear layer against the CPU reference on fresh random inputs: odd shapes
// and the models' own, with and without bias, on a non-default stream. Summation orders differ
// (cuBLAS tiles K), so values agree to float rounding: within 1e-5 relative L2.
#include "kernels/cuda/linear.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/linear.h"
#include "kernels/cuda/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tolerance.h"

namespace kiln {
namespace {

using testing::close_in_l2;
using testing::DeviceBuffer;

class CudaLinear : public testing::SeededGpuStreamTest {
 protected:
  void SetUp() override {
    testing::SeededGpuStreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    cublas_.emplace(stream_, /*allow_tf32=*/false);
  }
  void TearDown() override {
    cublas_.reset();
    testing::SeededGpuStreamTest::TearDown();
  }

  std::vector<float> random(std::int64_t count) {
    return testing::uniform_floats(static_cast<std::size_t>(count), -1.0f, 1.0f, rng_);
  }

  std::optional<cuda::CublasHandle> cublas_;
};

// batch, in, out: odd sizes, a single output, and the layers of both models (fc1 also at 256).
const std::vector<LinearShape> kShapes = {{1, 7, 3},       {3, 160, 56},    {5, 13, 1},
                                          {32, 2048, 625}, {32, 625, 10},   {20, 160, 56},
                                          {20, 56, 10},    {256, 2048, 625}};

TEST_F(CudaLinear, MatchesReference) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const LinearShape& shape : kShapes) {
    for (const bool with_bias : {true, false}) {
      SCOPED_TRACE(shape.to_string() + (with_bias ? " with bias" : " without bias"));
      const auto x = random(std::int64_t{shape.batch} * shape.in_features);
      const auto weight = random(std::int64_t{shape.out_features} * shape.in_features);
      const auto bias = random(shape.out_features);
      const auto dy = random(std::int64_t{shape.batch} * shape.out_features);

      std::vector<float> y(dy.size()), dx(x.size()), dweight(weight.size()), dbias(bias.size());
      cpu::linear_forward(shape, x.data(), weight.data(), with_bias ? bias.data() : nullptr,
                          y.data());
      cpu::linear_backward_data(shape, dy.data(), weight.data(), dx.data());
      cpu::linear_backward_weight(shape, x.data(), dy.data(), dweight.data());
      cpu::linear_backward_bias(shape, dy.data(), dbias.data());

      DeviceBuffer<float> x_dev(x), weight_dev(weight), bias_dev(bias), dy_dev(dy);
      DeviceBuffer<float> y_dev(y.size()), dx_dev(dx.size()), dweight_dev(dweight.size()),
          dbias_dev(dbias.size());
      for (auto* out : {&y_dev, &dx_dev, &dweight_dev, &dbias_dev}) out->poison();
      cuda::linear_forward(*cublas_, shape, x_dev.data(), weight_dev.data(),
                           with_bias ? bias_dev.data() : nullptr, y_dev.data());
      cuda::linear_backward_data(*cublas_, shape, dy_dev.data(), weight_dev.data(), dx_dev.data());
      cuda::linear_backward_weight(*cublas_, shape, x_dev.data(), dy_dev.data(),
                                   dweight_dev.data());
      cuda::linear_backward_bias(shape, dy_dev.data(), dbias_dev.data(), stream_);

      EXPECT_TRUE(close_in_l2(y_dev.download(), y, 1e-5)) << "forward";
      EXPECT_TRUE(close_in_l2(dx_dev.download(), dx, 1e-5)) << "backward_data";
      EXPECT_TRUE(close_in_l2(dweight_dev.download(), dweight, 1e-5)) << "backward_weight";
      // Both sum the batch in order in double: the same value, rounded once.
      EXPECT_TRUE(testing::bitwise_equal(dbias_dev.download(), dbias)) << "backward_bias";
    }
  }
}

TEST_F(CudaLinear, RunsAreBitwiseRepeatable) {
  const LinearShape shape{32, 2048, 625};
  const auto x = random(std::int64_t{shape.batch} * shape.in_features);
  const auto weight = random(std::int64_t{shape.out_features} * shape.in_features);
  DeviceBuffer<float> x_dev(x), weight_dev(weight), first(std::size_t{32} * 625),
      second(std::size_t{32} * 625);
  cuda::linear_forward(*cublas_, shape, x_dev.data(), weight_dev.data(), nullptr, first.data());
  cuda::linear_forward(*cublas_, shape, x_dev.data(), weight_dev.data(), nullptr, second.data());
  EXPECT_TRUE(testing::bitwise_equal(first.download(), second.download()));
}

// The handle keeps the workspace it was given, so the three GEMMs of fc1 captured into a CUDA
// graph (global mode: any allocation inside the capture is an error) replay to the same bits as
// direct calls. Before CublasHandle, a cublasSetStream per call reset that workspace.
TEST_F(CudaLinear, CapturedGemmsReplayToTheDirectBits) {
  KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES();
  SCOPED_TRACE(testing::seed_trace(seed_));
  const LinearShape shape{32, 2048, 625};
  DeviceBuffer<float> x(random(std::int64_t{shape.batch} * shape.in_features));
  DeviceBuffer<float> weight(random(std::int64_t{shape.out_features} * shape.in_features));
  DeviceBuffer<float> dy(random(std::int64_t{shape.batch} * shape.out_features));
  DeviceBuffer<float> y(dy.size()), dx(x.size()), dweight(weight.size());
  const auto run = [&] {
    cuda::linear_forward(*cublas_, shape, x.data(), weight.data(), nullptr, y.data());
    cuda::linear_backward_data(*cublas_, shape, dy.data(), weight.data(), dx.data());
    cuda::linear_backward_weight(*cublas_, shape, x.data(), dy.data(), dweight.data());
  };
  run();
  const std::vector<std::vector<float>> direct = {y.download(), dx.download(), dweight.download()};

  cudaGraph_t graph = nullptr;
  KILN_CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeGlobal));
  run();
  KILN_CUDA_CHECK(cudaStreamEndCapture(stream_, &graph));
  cudaGraphExec_t exec = nullptr;
  KILN_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (auto* output : {&y, &dx, &dweight}) output->poison();
  KILN_CUDA_CHECK(cudaGraphLaunch(exec, stream_));
  const std::vector<std::vector<float>> replayed = {y.download(), dx.download(),
                                                    dweight.download()};
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  for (std::size_t i = 0; i < direct.size(); ++i) {
    EXPECT_TRUE(testing::bitwise_equal(replayed[i], direct[i])) << "output " << i;
  }
}

TEST_F(CudaLinear, BadShapeIsRejectedBeforeAnyLaunch) {
  // Checked by Backend (kernels/backend.cpp), once for every engine, before the engine's code.
  cuda::CudaBackend backend(stream_);
  EXPECT_THROW(backend.linear_forward(LinearShape{0, 3, 4}, nullptr, nullptr, nullptr, nullptr),
               std::invalid_argument);
  EXPECT_THROW(backend.linear_backward_bias(LinearShape{2, 3, -1}, nullptr, nullptr),
               std::invalid_argument);
}

}  // namespace
}  // namespace kiln
