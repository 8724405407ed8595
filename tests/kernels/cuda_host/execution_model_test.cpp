// The host emulation of CUDA's execution model (kernels/cuda/host/) on small kernels of its own:
// that barriers, warp operations, atomics and streams behave as on a GPU, and that each detector
// fires on a deliberately broken kernel: a skipped __syncthreads, a warp operation whose mask is
// wrong, a shared-memory race (racecheck build, ThreadSanitizer), an out-of-bounds access
// (sanitize build, AddressSanitizer) and a launch configuration a GPU refuses.
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/host/device_runtime.h"
#include "kernels/cuda/host/runtime.h"
#include "kernels/cuda/launch.h"
#include "tests/support/gpu.h"

namespace kiln {
namespace {

using cuda::launch_kernel;
using testing::DeviceBuffer;

constexpr unsigned kFullMask = 0xffffffffu;

// out[i] = in[blockDim.x - 1 - i] through shared memory: wrong without the barrier.
__global__ void reverse_kernel(const int* in, int* out) {
  __shared__ int staged[256];
  staged[threadIdx.x] = in[threadIdx.x];
  __syncthreads();
  out[threadIdx.x] = staged[blockDim.x - 1 - threadIdx.x];
}

// Lane 0's value to every lane, a butterfly sum, a ballot of odd lanes, and an atomic count.
__global__ void warp_kernel(int* broadcast, int* sums, unsigned* ballots, int* count) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int value = static_cast<int>(threadIdx.x) * 10;
  broadcast[threadIdx.x] = __shfl_sync(kFullMask, value, 0);
  int sum = value;
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(kFullMask, sum, offset);
  sums[threadIdx.x] = sum;
  ballots[threadIdx.x] = __ballot_sync(kFullMask, lane % 2);
  atomicAdd(count, 1);
}

// Threads past the first 16 leave before the barrier the others wait at.
__global__ void skipped_barrier_kernel(int* out) {
  if (threadIdx.x >= 16) return;
  __syncthreads();
  out[threadIdx.x] = 1;
}

// Lane 31 leaves, yet the full mask names it.
__global__ void missing_lane_kernel(int* out) {
  if (threadIdx.x == 31) return;
  out[threadIdx.x] = __shfl_sync(kFullMask, static_cast<int>(threadIdx.x), 0);
}

// Lanes 0-15 shuffle among themselves but read lane 20.
__global__ void lane_outside_mask_kernel(int* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_sync(0x0000ffffu, static_cast<int>(threadIdx.x), 20);
}

// Every lane votes with a mask naming only the low half.
__global__ void mask_without_caller_kernel(unsigned* out) {
  out[threadIdx.x] = __ballot_sync(0x0000ffffu, 1);
}

// Thread 0 writes a shared value that the others read with no barrier in between.
__global__ void racy_kernel(int* out) {
  __shared__ int cell;
  if (threadIdx.x == 0) cell = 42;
  out[threadIdx.x] = cell;
}

// One thread too many for the buffer (global) and for the shared array.
__global__ void out_of_bounds_global_kernel(float* out) { out[threadIdx.x] = 1.0f; }
__global__ void out_of_bounds_shared_kernel(float* out) {
  __shared__ float staged[32];
  staged[threadIdx.x] = 1.0f;
  __syncthreads();
  out[0] = staged[0];
}

__global__ void store_kernel(int* out, int value) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *out = value;
}

class HostExecutionModel : public testing::GpuStreamTest {
 protected:
  void TearDown() override {
    // A fault is sticky, as on a GPU; the next test starts from a clean device.
    cudaDeviceReset();
    testing::GpuStreamTest::TearDown();
  }

  // The fault the stream's work ended in, after checking that the synchronisation reports it.
  static std::string fault_after_sync(cudaStream_t stream) {
    EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorLaunchFailure);
    return cuda::host::last_fault();
  }
};

// The faults: each test ends with a block abandoned mid-kernel, which ThreadSanitizer's fiber
// support misattributes, so the racecheck build leaves them to the plain and sanitize builds.
class HostKernelFaults : public HostExecutionModel {
 protected:
  void SetUp() override {
#if defined(__SANITIZE_THREAD__)
    GTEST_SKIP() << "kernel faults are tested in the plain and sanitize builds";
#endif
    HostExecutionModel::SetUp();
  }
};

TEST_F(HostExecutionModel, BarrierOrdersSharedMemory) {
  std::vector<int> in(256);
  for (int i = 0; i < 256; ++i) in[static_cast<std::size_t>(i)] = i * 3;
  DeviceBuffer<int> in_dev(in);
  DeviceBuffer<int> out(256);
  launch_kernel<reverse_kernel>(1, 256, 0, stream_, in_dev.data(), out.data());
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const auto result = out.download();
  for (int i = 0; i < 256; ++i) ASSERT_EQ(result[static_cast<std::size_t>(i)], (255 - i) * 3);
}

TEST_F(HostExecutionModel, WarpOperationsAndAtomics) {
  constexpr int kThreads = 64;
  DeviceBuffer<int> broadcast(kThreads);
  DeviceBuffer<int> sums(kThreads);
  DeviceBuffer<unsigned> ballots(kThreads);
  DeviceBuffer<int> count(std::vector<int>{0});
  launch_kernel<warp_kernel>(3, kThreads, 0, stream_, broadcast.data(), sums.data(), ballots.data(),
                             count.data());
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  const auto b = broadcast.download();
  const auto s = sums.download();
  const auto v = ballots.download();
  for (int t = 0; t < kThreads; ++t) {
    const int warp_base = t / 32 * 32;
    EXPECT_EQ(b[static_cast<std::size_t>(t)], warp_base * 10);
    // sum of 10 * (warp_base + lane) over 32 lanes
    EXPECT_EQ(s[static_cast<std::size_t>(t)], 10 * (32 * warp_base + 31 * 32 / 2));
    EXPECT_EQ(v[static_cast<std::size_t>(t)], 0xaaaaaaaau);
  }
  EXPECT_EQ(count.download()[0], 3 * kThreads);
}

TEST_F(HostExecutionModel, StreamWorkRunsWhenTheHostWaits) {
  DeviceBuffer<int> value(std::vector<int>{0});
  launch_kernel<store_kernel>(1, 1, 0, stream_, value.data(), 7);
  // Reading device memory without waiting is a bug the GPU punishes; the emulation too: the
  // kernel has not run yet.
  EXPECT_EQ(*value.data(), 0);
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
  EXPECT_EQ(*value.data(), 7);
}

TEST_F(HostKernelFaults, SkippedBarrierIsReported) {
  DeviceBuffer<int> out(64);
  launch_kernel<skipped_barrier_kernel>(1, 64, 0, stream_, out.data());
  const std::string fault = fault_after_sync(stream_);
  EXPECT_NE(fault.find("skipped_barrier_kernel"), std::string::npos) << fault;
  EXPECT_NE(fault.find("waits at __syncthreads, which thread (16,0,0) skipped"), std::string::npos)
      << fault;
}

TEST_F(HostKernelFaults, LaneMissingFromWarpOperationIsReported) {
  DeviceBuffer<int> out(32);
  launch_kernel<missing_lane_kernel>(1, 32, 0, stream_, out.data());
  const std::string fault = fault_after_sync(stream_);
  EXPECT_NE(fault.find("for lane 31, which has exited"), std::string::npos) << fault;
}

TEST_F(HostKernelFaults, ShuffleFromLaneOutsideMaskIsReported) {
  DeviceBuffer<int> out(32);
  launch_kernel<lane_outside_mask_kernel>(1, 32, 0, stream_, out.data());
  const std::string fault = fault_after_sync(stream_);
  EXPECT_NE(fault.find("reads lane 20, which is not in the mask"), std::string::npos) << fault;
}

TEST_F(HostKernelFaults, MaskWithoutCallingLaneIsReported) {
  DeviceBuffer<unsigned> out(32);
  launch_kernel<mask_without_caller_kernel>(1, 32, 0, stream_, out.data());
  const std::string fault = fault_after_sync(stream_);
  EXPECT_NE(fault.find("lane 16), warp operation with mask 0x0000ffff: the mask does not name"),
            std::string::npos)
      << fault;
}

TEST_F(HostKernelFaults, FaultIsStickyUntilReset) {
  DeviceBuffer<int> out(64);
  launch_kernel<skipped_barrier_kernel>(1, 64, 0, stream_, out.data());
  EXPECT_EQ(cudaDeviceSynchronize(), cudaErrorLaunchFailure);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  EXPECT_THROW(KILN_CUDA_CHECK(cudaDeviceSynchronize()), cuda::Error);
  EXPECT_EQ(cudaDeviceReset(), cudaSuccess);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

TEST_F(HostExecutionModel, LaunchConfigurationsAGpuRefusesAreRejected) {
  DeviceBuffer<int> out(1);
  launch_kernel<store_kernel>(1, 1025, 0, stream_, out.data(), 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  launch_kernel<store_kernel>(dim3(1, 65536), 1, 0, stream_, out.data(), 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  launch_kernel<store_kernel>(dim3(1), dim3(2, 2, 65), 0, stream_, out.data(), 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  launch_kernel<store_kernel>(0, 1, 0, stream_, out.data(), 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
  launch_kernel<store_kernel>(1, 1, std::size_t{64} << 10, stream_, out.data(), 1);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  // The error is not sticky: the next launch runs.
  launch_kernel<store_kernel>(1, 1024, 0, stream_, out.data(), 5);
  KILN_CUDA_CHECK_LAUNCH("store_kernel");
  EXPECT_EQ(out.download()[0], 5);
}

// The detectors below need an instrumented build; elsewhere they skip and say which.
TEST_F(HostExecutionModel, SharedMemoryRaceIsReported) {
#if defined(__SANITIZE_THREAD__)
  // A fresh process: a forked child would inherit TSan's fibers of earlier tests as dead threads.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DeviceBuffer<int> out(64);
  EXPECT_DEATH(
      {
        launch_kernel<racy_kernel>(1, 64, 0, stream_, out.data());
        static_cast<void>(cudaStreamSynchronize(stream_));
      },
      "ThreadSanitizer: data race(.|\n)*#0 racy_kernel(.|\n)*'thread \\(1,0,0\\) of block "
      "\\(0,0,0\\)(.|\n)*'thread \\(0,0,0\\) of block \\(0,0,0\\)");
#else
  GTEST_SKIP() << "racecheck needs the ThreadSanitizer build (host_racecheck_* tests)";
#endif
}

TEST_F(HostExecutionModel, OutOfBoundsGlobalAccessIsReported) {
#if defined(__SANITIZE_ADDRESS__)
  DeviceBuffer<float> out(64);
  EXPECT_DEATH(
      {
        launch_kernel<out_of_bounds_global_kernel>(1, 65, 0, stream_, out.data());
        static_cast<void>(cudaStreamSynchronize(stream_));
      },
      "heap-buffer-overflow(.|\n)*out_of_bounds_global_kernel");
#else
  GTEST_SKIP() << "memcheck needs the AddressSanitizer build (the sanitize preset)";
#endif
}

TEST_F(HostExecutionModel, OutOfBoundsSharedAccessIsReported) {
#if defined(__SANITIZE_ADDRESS__)
  DeviceBuffer<float> out(1);
  EXPECT_DEATH(
      {
        launch_kernel<out_of_bounds_shared_kernel>(1, 33, 0, stream_, out.data());
        static_cast<void>(cudaStreamSynchronize(stream_));
      },
      // UBSan's bounds check sees the array's type first; ASan's redzone catches what it cannot.
      "(index 32 out of bounds for type 'float \\[32\\]'|global-buffer-overflow)(.|\n)*"
      "out_of_bounds_shared_kernel");
#else
  GTEST_SKIP() << "memcheck needs the AddressSanitizer build (the sanitize preset)";
#endif
}

}  // namespace
}  // namespace kiln
