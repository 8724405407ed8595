// The cuDNN engine is a routing base (kernels/routing_backend.h): it runs the ops of
// kernels/cudnn/ops.h itself, says so through implements(), routes every other op to the
// CudaBackend it owns, and still refuses to fuse ReLU into pooling rather than route it.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cudnn/ops.h"
#include "tests/support/cudnn_test.h"

namespace kiln {
namespace {

class CudnnRouting : public testing::CudnnTest {};

TEST_F(CudnnRouting, ImplementsTheOpsOfItsFamiliesOnly) {
  for (const Op op : kOps) {
    EXPECT_EQ(backend_->implements(op), cudnn::runs_on_cudnn(op)) << op_name(op);
    EXPECT_TRUE(backend_->custom().implements(op)) << op_name(op);
  }
}

TEST_F(CudnnRouting, RoutesLinearToTheCustomKernelsBitForBit) {
  const LinearShape shape{.batch = 3, .in_features = 5, .out_features = 4};
  const std::vector<float> x = testing::uniform_floats(15, -1.0f, 1.0f, rng_);
  const std::vector<float> weight = testing::uniform_floats(20, -1.0f, 1.0f, rng_);
  const std::vector<float> bias = testing::uniform_floats(4, -1.0f, 1.0f, rng_);
  testing::DeviceBuffer<float> x_dev(x), weight_dev(weight), bias_dev(bias);
  testing::DeviceBuffer<float> routed(12), direct(12);
  backend_->linear_forward(shape, x_dev.data(), weight_dev.data(), bias_dev.data(), routed.data());
  backend_->custom().linear_forward(shape, x_dev.data(), weight_dev.data(), bias_dev.data(),
                                    direct.data());
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_EQ(routed.download(), direct.download()) << testing::seed_trace(seed_);
}

TEST_F(CudnnRouting, RefusesToFuseInsteadOfRoutingTheFusedOps) {
  EXPECT_FALSE(backend_->fuses_relu_max_pool());
  const Pool2dShape shape{.batch = 1,
                          .channels = 1,
                          .in_height = 4,
                          .in_width = 4,
                          .kernel_height = 2,
                          .kernel_width = 2,
                          .stride_height = 2,
                          .stride_width = 2};
  testing::DeviceBuffer<float> x(16), y(4), dx(16);
  testing::DeviceBuffer<std::int32_t> argmax(4);
  EXPECT_THROW(backend_->relu_max_pool2d_forward(shape, x.data(), y.data(), argmax.data()),
               std::logic_error);
  EXPECT_THROW(
      backend_->relu_max_pool2d_backward(shape, y.data(), y.data(), argmax.data(), dx.data()),
      std::logic_error);
}

}  // namespace
}  // namespace kiln
