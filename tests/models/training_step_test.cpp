// Two whole training steps of each reference model on the CPU backend against PyTorch.
#include <gtest/gtest.h>

#include "kernels/cpu/backend.h"
#include "tests/models/training_steps.h"

namespace kiln {
namespace {

TEST(TrainingStep, MnistCnnWithAdamAndDropoutMatchesPyTorch) {
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  testing::train_two_steps_like_pytorch(backend, *allocator, "mnist-cnn", 1e-5);
}

TEST(TrainingStep, FashionLenetWithSgdAndSigmoidHeadMatchesPyTorch) {
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  testing::train_two_steps_like_pytorch(backend, *allocator, "fashion-lenet", 1e-6);
}

}  // namespace
}  // namespace kiln
