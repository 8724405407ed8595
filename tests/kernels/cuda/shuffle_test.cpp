// The GPU shuffle against the CPU reference, bit for bit: counts that are empty, one, odd, the two
// training sets' sizes, and one past a radix-sort tile; several seeds and steps; a source list
// that is not the identity; the order poisoned first so an unwritten index is caught; a workspace
// that is too small refused.
#include "kernels/cuda/shuffle.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/shuffle.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"

namespace kiln {
namespace {

using testing::DeviceBuffer;

using CudaShuffle = testing::GpuStreamTest;

TEST_F(CudaShuffle, DrawsTheReferencePermutation) {
  const std::uint64_t fresh = testing::fresh_seed();
  for (const std::int64_t count : {0, 1, 2, 3, 1001, 48000, 60000, 65537}) {
    for (const std::uint64_t seed : {std::uint64_t{0}, fresh}) {
      for (const std::uint64_t step : {0, 14}) {
        SCOPED_TRACE(::testing::Message()
                     << "count " << count << ", seed " << seed << ", step " << step);
        std::vector<std::int32_t> source(static_cast<std::size_t>(count));
        for (std::size_t i = 0; i < source.size(); ++i) {
          source[i] = static_cast<std::int32_t>(7 * i + 3);
        }
        std::vector<std::int32_t> expected(source.size());
        cpu::shuffle_indices(count, seed, 0x20000, step, source.data(), expected.data());

        const std::size_t workspace_bytes = cuda::shuffle_workspace_bytes(count);
        DeviceBuffer<std::byte> workspace(workspace_bytes + 1);
        DeviceBuffer<std::int32_t> device_source(source.size() + 1);
        DeviceBuffer<std::int32_t> order(source.size() + 1);
        source.push_back(-1);
        device_source.upload(source);
        order.poison();
        cuda::shuffle_indices(count, seed, 0x20000, step, device_source.data(), order.data(),
                              workspace.data(), workspace_bytes, stream_);
        KILN_CUDA_CHECK(cudaStreamSynchronize(stream_));
        std::vector<std::int32_t> got = order.download();
        EXPECT_EQ(got.back(), -1) << "wrote past the end";
        got.pop_back();
        EXPECT_EQ(got, expected);
      }
    }
  }
}

TEST_F(CudaShuffle, RefusesASmallWorkspaceAndABadCount) {
  const std::size_t bytes = cuda::shuffle_workspace_bytes(100);
  DeviceBuffer<std::byte> workspace(bytes);
  DeviceBuffer<std::int32_t> source(100), order(100);
  EXPECT_THROW(cuda::shuffle_indices(100, 0, 1, 0, source.data(), order.data(), workspace.data(),
                                     bytes - 1, stream_),
               std::invalid_argument);
  EXPECT_THROW(cuda::shuffle_workspace_bytes(-1), std::invalid_argument);
}

}  // namespace
}  // namespace kiln
