// ReLU-pool fusion on the CUDA backend, in device memory: a whole mnist-cnn training step gives
// the same bits with fusion on and off (the body of the CPU backend's test), so the fused kernels
// are checked composed into a real step of the graph.
#include <gtest/gtest.h>

#include "kernels/cuda/backend.h"
#include "tests/models/fusion_steps.h"
#include "tests/support/gpu.h"

namespace kiln {
namespace {

class CudaFusion : public testing::GpuStreamTest {};

TEST_F(CudaFusion, MnistCnnStepsAreBitwiseTheSameWithFusionOnAndOff) {
  cuda::CudaBackend backend(stream_);
  const auto allocator = make_cuda_allocator(stream_);
  testing::expect_fusion_changes_no_bit(backend, *allocator);
}

}  // namespace
}  // namespace kiln
