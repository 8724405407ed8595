// cuDNN tests derive from CudnnTest: a GPU test (skipped without a GPU) with its own stream, a
// CudnnBackend on it and a fresh random generator whose seed the tests print on failure.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>

#include "kernels/cudnn/backend.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"

namespace kiln::testing {

class CudnnTest : public GpuStreamTest {
 protected:
  void SetUp() override {
    GpuStreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    seed_ = fresh_seed();
    rng_.seed(seed_);
    backend_ = std::make_unique<cudnn::CudnnBackend>(stream_);
  }
  void TearDown() override {
    backend_.reset();  // before the stream it works on
    GpuStreamTest::TearDown();
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::unique_ptr<cudnn::CudnnBackend> backend_;
};

}  // namespace kiln::testing
