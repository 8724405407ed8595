// Two whole training steps of each reference model on the CUDA backend, in device memory,
// against PyTorch: the same fixture and the same body as the CPU backend's test, so every
// kernel is checked composed into a real step of the graph of layers.
#include <gtest/gtest.h>

#include "kernels/cuda/backend.h"
#include "tests/models/training_steps.h"
#include "tests/support/gpu.h"

namespace kiln {
namespace {

using CudaTrainingStep = testing::GpuStreamTest;

TEST_F(CudaTrainingStep, MnistCnnWithAdamAndDropoutMatchesPyTorch) {
  cuda::CudaBackend backend(stream_);
  const auto allocator = make_cuda_allocator(stream_);
  testing::train_two_steps_like_pytorch(backend, *allocator, "mnist-cnn", 1e-5);
}

TEST_F(CudaTrainingStep, FashionLenetWithSgdAndSigmoidHeadMatchesPyTorch) {
  cuda::CudaBackend backend(stream_);
  const auto allocator = make_cuda_allocator(stream_);
  testing::train_two_steps_like_pytorch(backend, *allocator, "fashion-lenet", 1e-6);
}

}  // namespace
}  // namespace kiln
