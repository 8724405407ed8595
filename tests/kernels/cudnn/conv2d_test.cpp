// cuDNN's convolutions, through CudnnBackend, against the CPU reference on fresh random inputs:
// the awkward shapes and the model layers of tests/support/conv_cases.h, with its tolerances.
// cuDNN sums dbias in float where the reference sums in double, so dbias gets the rule of the
// other passes' sums (atol 1e-5 sqrt(K), K = batch * out_height * out_width). Outputs are
// poisoned before every run; deterministic algorithms must give the same bits twice; a batch
// smaller than the planned one (an epoch's last) runs in the planned workspace.
#include "kernels/cudnn/conv2d.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cudnn/check.h"
#include "kernels/cudnn/descriptors.h"
#include "tests/support/conv_cases.h"
#include "tests/support/cudnn_test.h"
#include "tests/support/gpu.h"

namespace kiln {
namespace {

using testing::ConvInputs;
using testing::ConvOutputs;
using testing::DeviceBuffer;

// Inputs on the device and poisoned outputs, run through the backend's four passes.
class DeviceConv {
 public:
  DeviceConv(const Conv2dShape& shape, const ConvInputs& in, std::size_t workspace_bytes)
      : shape_(shape),
        x_(in.x),
        weight_(in.weight),
        bias_(in.bias),
        dy_(in.dy),
        y_(in.dy.size()),
        y_plain_(in.dy.size()),
        dx_(in.x.size()),
        dweight_(in.weight.size()),
        dbias_(in.bias.size()),
        workspace_bytes_(workspace_bytes),
        workspace_(workspace_bytes + 1) {}

  ConvOutputs run(Backend& backend) {
    for (auto* output : {&y_, &y_plain_, &dx_, &dweight_, &dbias_}) output->poison();
    // The poison (on the legacy default stream) must land before the backend's stream writes.
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    const std::span<std::byte> workspace(workspace_.data(), workspace_bytes_);
    backend.conv2d_forward(shape_, x_.data(), weight_.data(), bias_.data(), y_.data(), workspace);
    backend.conv2d_forward(shape_, x_.data(), weight_.data(), nullptr, y_plain_.data(), workspace);
    backend.conv2d_backward_data(shape_, dy_.data(), weight_.data(), dx_.data(), workspace);
    backend.conv2d_backward_filter(shape_, x_.data(), dy_.data(), dweight_.data(), workspace);
    backend.conv2d_backward_bias(shape_, dy_.data(), dbias_.data());
    return {.y = y_.download(),
            .y_plain = y_plain_.download(),
            .dx = dx_.download(),
            .dweight = dweight_.download(),
            .dbias = dbias_.download()};
  }

 private:
  Conv2dShape shape_;
  DeviceBuffer<float> x_;
  DeviceBuffer<float> weight_;
  DeviceBuffer<float> bias_;
  DeviceBuffer<float> dy_;
  DeviceBuffer<float> y_;
  DeviceBuffer<float> y_plain_;
  DeviceBuffer<float> dx_;
  DeviceBuffer<float> dweight_;
  DeviceBuffer<float> dbias_;
  std::size_t workspace_bytes_;
  DeviceBuffer<std::byte> workspace_;  // one byte more, so it is never a zero-byte allocation
};

void expect_matches_reference(const Conv2dShape& shape, const ConvOutputs& gpu,
                              const ConvOutputs& cpu) {
  const double bias_atol =
      1e-5 * std::sqrt(static_cast<double>(testing::backward_filter_terms(shape)));
  testing::expect_conv_matches_reference(shape, gpu, cpu, {.atol = bias_atol, .rtol = 1e-4});
}

class CudnnConv2d : public testing::CudnnTest {
 protected:
  void check_shapes(const std::vector<testing::NamedShape>& shapes) {
    SCOPED_TRACE(testing::seed_trace(seed_));
    for (const auto& [name, shape] : shapes) {
      SCOPED_TRACE(name + ": " + shape.to_string());
      const ConvInputs in = testing::random_conv_inputs(shape, rng_);
      DeviceConv device(shape, in, backend_->conv2d_workspace_bytes(shape));
      const ConvOutputs first = device.run(*backend_);
      expect_matches_reference(shape, first, testing::run_conv_reference(shape, in));
      EXPECT_TRUE(testing::conv_outputs_bitwise_equal(first, device.run(*backend_)))
          << "deterministic algorithms, second run";
    }
  }
};

TEST_F(CudnnConv2d, AwkwardShapesMatchReference) { check_shapes(testing::kAwkwardConvShapes); }

TEST_F(CudnnConv2d, ModelLayersMatchReference) { check_shapes(testing::kModelConvShapes); }

// Planned at the recipe's batch, run at an epoch's last, smaller batch in the same workspace: the
// smaller shape gets its own algorithms, chosen to fit.
TEST_F(CudnnConv2d, PartialBatchRunsInThePlannedWorkspace) {
  SCOPED_TRACE(testing::seed_trace(seed_));
  for (const auto& [name, planned] : testing::kModelConvShapes) {
    SCOPED_TRACE(name);
    Conv2dShape partial = planned;
    partial.batch = planned.batch - 7;
    const ConvInputs in = testing::random_conv_inputs(partial, rng_);
    DeviceConv device(partial, in, backend_->conv2d_workspace_bytes(planned));
    expect_matches_reference(partial, device.run(*backend_),
                             testing::run_conv_reference(partial, in));
  }
}

// Each pass checks the workspace against its own need, so each is given one byte short of that,
// whichever pass needs the most. The tensors are separate buffers: a pass that failed to refuse
// would only write an output, never overwrite its own inputs.
TEST_F(CudnnConv2d, EachPassRefusesAWorkspaceOneByteShortOfItsOwnNeed) {
  const Conv2dShape shape = testing::kModelConvShapes[1].shape;
  cudnn::Handle handle;
  KILN_CUDNN_CHECK(cudnnSetStream(handle.get(), stream_));
  const cudnn::Conv2dPlan plan(handle.get(), shape, {}, backend_->conv2d_workspace_bytes(shape));
  const auto elements = [](std::int64_t count) { return static_cast<std::size_t>(count); };
  DeviceBuffer<float> x(elements(shape.input_elements()));
  DeviceBuffer<float> weight(elements(shape.weight_elements()));
  DeviceBuffer<float> y(elements(shape.output_elements()));
  DeviceBuffer<std::byte> workspace(plan.workspace_bytes() + 1);
  const auto short_of = [&](std::size_t need) {
    return std::span<std::byte>(workspace.data(), need - 1);
  };
  int passes_checked = 0;
  if (const std::size_t need = plan.forward_workspace_bytes(); need > 0) {
    ++passes_checked;
    EXPECT_THROW(
        plan.forward(handle.get(), x.data(), weight.data(), nullptr, y.data(), short_of(need)),
        std::invalid_argument);
  }
  if (const std::size_t need = plan.backward_data_workspace_bytes(); need > 0) {
    ++passes_checked;
    EXPECT_THROW(
        plan.backward_data(handle.get(), y.data(), weight.data(), x.data(), short_of(need)),
        std::invalid_argument);
  }
  if (const std::size_t need = plan.backward_filter_workspace_bytes(); need > 0) {
    ++passes_checked;
    EXPECT_THROW(
        plan.backward_filter(handle.get(), x.data(), y.data(), weight.data(), short_of(need)),
        std::invalid_argument);
  }
  if (passes_checked == 0) {
    GTEST_SKIP() << "cuDNN chose algorithms that need no workspace for " << shape.to_string();
  }
}

TEST_F(CudnnConv2d, InvalidShapesAreRejected) {
  for (const Conv2dShape& shape : {testing::conv(0, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0),
                                   testing::conv(1, 1, 2, 5, 1, 3, 3, 1, 1, 0, 0)}) {
    SCOPED_TRACE(shape.to_string());
    EXPECT_THROW(backend_->conv2d_workspace_bytes(shape), std::invalid_argument);
  }
}

}  // namespace
}  // namespace kiln
