// Two whole training steps against PyTorch, as tests/models/cuda does, with cuDNN in the step.
// cuDNN's dropout draws its own masks, not the fixture's Philox ones, so a model with dropout is
// compared only with dropout left on kiln's kernels (mnist-cnn through an engine mix);
// fashion-lenet has none and runs wholly on CudnnBackend. The tolerances are the custom backend's
// times ten: cuDNN's log-softmax is float where kiln's is double.
#include <gtest/gtest.h>

#include "kernels/cudnn/backend.h"
#include "kernels/engine_mix.h"
#include "runtime/memory/allocator.h"
#include "tests/models/training_steps.h"
#include "tests/support/gpu.h"

namespace kiln {
namespace {

using CudnnTrainingStep = testing::GpuStreamTest;

TEST_F(CudnnTrainingStep, FashionLenetOnCudnnMatchesPyTorch) {
  cudnn::CudnnBackend backend(stream_);
  const auto allocator = make_cuda_allocator(stream_);
  testing::train_two_steps_like_pytorch(backend, *allocator, "fashion-lenet", 1e-5);
}

TEST_F(CudnnTrainingStep, MnistCnnWithEverythingButDropoutOnCudnnMatchesPyTorch) {
  cudnn::CudnnBackend cudnn(stream_);
  FamilyRouting routing;
  for (const OpFamily family : kOpFamilies) routing.route(family, family != OpFamily::dropout);
  EngineMix backend(cudnn.custom(), cudnn, routing);
  const auto allocator = make_cuda_allocator(stream_);
  testing::train_two_steps_like_pytorch(backend, *allocator, "mnist-cnn", 1e-4);
}

}  // namespace
}  // namespace kiln
