// A GPU with too little free memory: the trainer asks for its whole arena before any work, so the
// run ends with the one line saying how much it needs and how much is free, never mid-epoch.
#include <gtest/gtest.h>

#include <string>

#include "kernels/cuda/backend.h"
#include "models/trainer.h"
#include "tests/models/synthetic_data.h"
#include "tests/support/gpu.h"

namespace kiln::models {
namespace {

using CudaOutOfMemory = testing::GpuStreamTest;

// Holds all but `leave` bytes of the device's free memory for its lifetime.
class MemoryHog {
 public:
  explicit MemoryHog(std::size_t leave) {
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    KILN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    // cudaMalloc rounds to its own granularity: step down until a block fits.
    for (std::size_t bytes = free_bytes - leave; bytes > leave && block_ == nullptr;
         bytes -= std::size_t{64} << 20) {
      if (cudaMalloc(&block_, bytes) != cudaSuccess) {
        cudaGetLastError();
        block_ = nullptr;
      }
    }
  }
  ~MemoryHog() { cudaFree(block_); }
  MemoryHog(const MemoryHog&) = delete;
  MemoryHog& operator=(const MemoryHog&) = delete;
  bool holding() const { return block_ != nullptr; }

 private:
  void* block_ = nullptr;
};

TEST_F(CudaOutOfMemory, TheTrainerSaysHowMuchItNeedsBeforeAnyStep) {
  cuda::CudaBackend backend(stream_);
  const auto allocator = make_cuda_allocator(stream_);
  const Datasets datasets = synthetic_datasets("mnist-cnn");
  TrainOptions options = quiet_options("mnist-cnn");
  options.batch_size = 200;  // well over 100 MiB of activations: far more than the hog leaves

  const MemoryHog hog(std::size_t{16} << 20);
  ASSERT_TRUE(hog.holding()) << "could not take the device's free memory";
  try {
    Trainer trainer(options, backend, *allocator, datasets, nullptr);
    trainer.run();
    FAIL() << "training ran with 16 MiB of device memory free";
  } catch (const cuda::Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind("device out of memory: ", 0), 0u) << message;
    EXPECT_NE(message.find(" MiB requested, "), std::string::npos) << message;
    EXPECT_NE(message.find(" MiB free"), std::string::npos) << message;
  }
  EXPECT_EQ(allocator->allocations(), 0u) << "the arena is the trainer's first allocation";
}

}  // namespace
}  // namespace kiln::models
