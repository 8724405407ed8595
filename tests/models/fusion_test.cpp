// ReLU-pool fusion on the CPU backend: a whole mnist-cnn training step gives the same bits with
// fusion on and off, and fusion leaves the ReLU outputs out of the arena.
#include <gtest/gtest.h>

#include "kernels/cpu/backend.h"
#include "tests/models/fusion_steps.h"

namespace kiln {
namespace {

TEST(Fusion, MnistCnnStepsAreBitwiseTheSameWithFusionOnAndOff) {
  cpu::CpuBackend backend;
  const auto allocator = make_host_allocator();
  testing::expect_fusion_changes_no_bit(backend, *allocator);
}

}  // namespace
}  // namespace kiln
