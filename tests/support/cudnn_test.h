// cuDNN tests derive from CudnnTest: a GPU test (skipped without a GPU) with its own stream, a
// CudnnBackend on it and a fresh random generator whose seed the tests print on failure.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "kernels/cudnn/backend.h"
#include "tests/support/gpu.h"

namespace kiln::testing {

class CudnnTest : public SeededGpuStreamTest {
 protected:
  void SetUp() override {
    SeededGpuStreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    backend_ = std::make_unique<cudnn::CudnnBackend>(stream_);
  }
  void TearDown() override {
    backend_.reset();  // before the stream it works on
    SeededGpuStreamTest::TearDown();
  }

  std::unique_ptr<cudnn::CudnnBackend> backend_;
};

}  // namespace kiln::testing
