// GPU tests derive from GpuTest: without a usable GPU they are skipped with the reason (never
// passed vacuously), or fail with it under KILN_REQUIRE_GPU=1, where a GPU is expected (the GPU
// check sets it: there a skip would hide a machine that cannot run CUDA). GpuStreamTest adds a
// stream of the test's own, SeededGpuStreamTest a seeded random generator besides. DeviceBuffer
// owns device memory for a test's inputs and outputs.
#pragma once

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string_view>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/device.h"
#include "tests/support/random.h"

namespace kiln::testing {

inline bool gpu_required() {
  const char* value = std::getenv("KILN_REQUIRE_GPU");
  return value != nullptr && std::string_view(value) == "1";
}

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto& status = cuda::device_status();
    if (status.available) return;
    if (gpu_required()) {
      GTEST_FAIL() << "KILN_REQUIRE_GPU=1 requires a GPU: " << status.reason;
    }
    GTEST_SKIP() << "GPU test skipped: " << status.reason;
  }
};

// In a test that captures a CUDA graph: KILN_SYNC_LAUNCHES=1 makes every launch call
// cudaDeviceSynchronize, which is illegal inside a capture, so such a test skips under it.
#define KILN_SKIP_CAPTURE_UNDER_SYNC_LAUNCHES()                                     \
  do {                                                                              \
    if (::kiln::cuda::sync_after_launch()) {                                        \
      GTEST_SKIP() << "KILN_SYNC_LAUNCHES=1 synchronises, which a capture forbids"; \
    }                                                                               \
  } while (0)

// A GpuTest with a stream of its own. cudaStreamCreate makes a blocking stream: work on it is
// ordered after DeviceBuffer's copies and memsets on the legacy default stream.
class GpuStreamTest : public GpuTest {
 protected:
  void SetUp() override {
    GpuTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    KILN_CUDA_CHECK(cudaStreamCreate(&stream_));
  }
  void TearDown() override {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }

  cudaStream_t stream_ = nullptr;
};

// A GpuStreamTest with a fresh random generator, for tests on random inputs: they print the seed
// (SCOPED_TRACE(seed_trace(seed_))) so that a failure can be rerun with KILN_TEST_SEED.
class SeededGpuStreamTest : public GpuStreamTest {
 protected:
  void SetUp() override {
    GpuStreamTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    seed_ = fresh_seed();
    rng_.seed(seed_);
  }

  std::uint64_t seed_ = 0;
  std::mt19937_64 rng_;
};

template <typename T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    KILN_CUDA_CHECK(cudaMalloc(&data_, bytes()));
  }
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

  void upload(const std::vector<T>& host) {
    ASSERT_EQ(host.size(), count_);
    KILN_CUDA_CHECK(cudaMemcpy(data_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> host(count_);
    KILN_CUDA_CHECK(cudaDeviceSynchronize());
    KILN_CUDA_CHECK(cudaMemcpy(host.data(), data_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }
  // Fills with NaN bit patterns (0xFF bytes) so an output the kernel fails to write is caught.
  void poison() { KILN_CUDA_CHECK(cudaMemset(data_, 0xFF, bytes())); }

 private:
  std::size_t count_;
  T* data_ = nullptr;
};

}  // namespace kiln::testing
