// Two whole training steps of each reference model on the CPU backend against PyTorch.
#include <gtest/gtest.h>

#include "kernels/cpu/backend.h"
#include "tests/models/training_steps.h"

namespace kiln {
namespace {

TEST(TrainingStep, MnistCnnWithAdamAndDropoutMatchesPyTorch) {
  cpu::CpuBackend backend;
  testing::HostMemory memory;
  testing::train_mnist_cnn_two_steps(backend, memory);
}

TEST(TrainingStep, FashionLenetWithSgdAndSigmoidHeadMatchesPyTorch) {
  cpu::CpuBackend backend;
  testing::HostMemory memory;
  testing::train_fashion_lenet_two_steps(backend, memory);
}

}  // namespace
}  // namespace kiln
