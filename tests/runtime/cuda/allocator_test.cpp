// The device allocator: blocks come zeroed and copy both ways; a request the GPU cannot satisfy is
// one error that says how much was asked and how much is free, and leaves the device usable.
#include "runtime/memory/allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/support/gpu.h"

namespace kiln {
namespace {

using CudaAllocator = testing::GpuStreamTest;

TEST_F(CudaAllocator, BlocksAreZeroedAndCopiesRoundTrip) {
  auto allocator = make_cuda_allocator(stream_);
  constexpr std::size_t kCount = 1000;  // not a multiple of the 256-byte alignment
  auto* first = static_cast<std::int32_t*>(allocator->allocate(kCount * sizeof(std::int32_t)));
  auto* second = static_cast<std::int32_t*>(allocator->allocate(kCount * sizeof(std::int32_t)));
  EXPECT_EQ(allocator->allocations(), 2u);

  std::vector<std::int32_t> host(kCount, -1);
  allocator->copy_to_host(host.data(), first, kCount * sizeof(std::int32_t));
  EXPECT_EQ(host, std::vector<std::int32_t>(kCount, 0));

  std::vector<std::int32_t> values(kCount);
  for (std::size_t i = 0; i < kCount; ++i) values[i] = static_cast<std::int32_t>(i * 7 - 300);
  allocator->copy_from_host(first, values.data(), kCount * sizeof(std::int32_t));
  allocator->copy(second, first, kCount * sizeof(std::int32_t));
  allocator->copy_to_host(host.data(), second, kCount * sizeof(std::int32_t));
  EXPECT_EQ(host, values);
  allocator->release(second);
  allocator->release(first);
}

TEST_F(CudaAllocator, ARequestLargerThanTheDeviceSaysHowMuchWasAskedAndIsFree) {
  std::size_t free_bytes = 0;
  std::size_t total_bytes = 0;
  KILN_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  auto allocator = make_cuda_allocator(stream_);
  const std::size_t request = total_bytes + (std::size_t{1} << 30);
  try {
    allocator->allocate(request);
    FAIL() << "allocating " << request << " bytes on a device of " << total_bytes << " succeeded";
  } catch (const cuda::Error& error) {
    char requested[64];
    std::snprintf(requested, sizeof requested, "device out of memory: %.1f MiB requested, ",
                  static_cast<double>(request) / (1 << 20));
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(requested, 0), 0u) << message;
    EXPECT_NE(message.find(" MiB free"), std::string::npos) << message;
  }
  EXPECT_EQ(allocator->allocations(), 0u);
  // The failed request left no sticky error behind: the device still works.
  void* block = allocator->allocate(1 << 20);
  EXPECT_NE(block, nullptr);
  allocator->release(block);
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

}  // namespace
}  // namespace kiln
