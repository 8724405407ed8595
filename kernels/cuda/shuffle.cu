// The epoch's shuffle on the GPU: draw a 64-bit Philox key per position, radix-sort (key,
// position) pairs with CUB, gather the source indices in the sorted order.
//
// Sizes we train: 48,000 or 60,000 indices once per epoch, 1.4 MB of keys and positions through an
// 8-pass radix sort (8 bits a pass over 64-bit keys): tens of microseconds, once per epoch, off
// the training step. CUB's radix sort is stable, so equal keys keep their ascending positions:
// the tie rule of the CPU reference's comparison sort, and the same permutation bit for bit.
#include <climits>
#include <cub/device/device_radix_sort.cuh>
#include <stdexcept>
#include <string>

#include "kernels/cuda/check.h"
#include "kernels/cuda/grid.h"
#include "kernels/cuda/shuffle.h"
#include "kernels/permutation_key.h"

namespace kiln::cuda {
namespace {

constexpr int kThreads = 256;
constexpr std::size_t kAlignment = 256;

std::size_t aligned(std::size_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

// The workspace's four arrays, each 256-byte aligned, then CUB's scratch.
struct Layout {
  std::size_t keys_bytes;
  std::size_t positions_bytes;
  std::size_t cub_offset;
};

Layout layout_for(std::int64_t count) {
  const auto n = static_cast<std::size_t>(count);
  const std::size_t keys_bytes = aligned(n * sizeof(std::uint64_t));
  const std::size_t positions_bytes = aligned(n * sizeof(std::int32_t));
  return {keys_bytes, positions_bytes, 2 * keys_bytes + 2 * positions_bytes};
}

std::size_t cub_bytes(std::int64_t count) {
  std::size_t bytes = 0;
  KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, bytes, static_cast<const std::uint64_t*>(nullptr),
      static_cast<std::uint64_t*>(nullptr), static_cast<const std::int32_t*>(nullptr),
      static_cast<std::int32_t*>(nullptr), static_cast<int>(count)));
  return bytes;
}

__global__ void draw_keys_kernel(int count, std::uint64_t seed, std::uint32_t random_stream,
                                 std::uint64_t step, std::uint64_t* keys, std::int32_t* positions) {
  const std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i >= count) return;
  keys[i] = permutation_key(seed, random_stream, step, static_cast<std::uint64_t>(i));
  positions[i] = static_cast<std::int32_t>(i);
}

__global__ void gather_indices_kernel(int count, const std::int32_t* source,
                                      const std::int32_t* permutation, std::int32_t* order) {
  const std::int64_t i = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  if (i < count) order[i] = source[permutation[i]];
}

}  // namespace

std::size_t shuffle_workspace_bytes(std::int64_t count) {
  if (count < 0 || count > INT32_MAX) {
    throw std::invalid_argument("cuda::shuffle_indices: cannot permute " + std::to_string(count) +
                                " indices");
  }
  return layout_for(count).cub_offset + cub_bytes(count);
}

void shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                     std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                     void* workspace, std::size_t workspace_bytes, cudaStream_t stream) {
  const std::size_t needed = shuffle_workspace_bytes(count);
  if (workspace_bytes < needed) {
    throw std::invalid_argument("cuda::shuffle_indices: the workspace holds " +
                                std::to_string(workspace_bytes) + " bytes, " +
                                std::to_string(needed) + " needed");
  }
  if (count == 0) return;
  const Layout layout = layout_for(count);
  auto* base = static_cast<std::byte*>(workspace);
  auto* keys_in = reinterpret_cast<std::uint64_t*>(base);
  auto* keys_out = reinterpret_cast<std::uint64_t*>(base + layout.keys_bytes);
  auto* positions_in = reinterpret_cast<std::int32_t*>(base + 2 * layout.keys_bytes);
  auto* positions_out =
      reinterpret_cast<std::int32_t*>(base + 2 * layout.keys_bytes + layout.positions_bytes);
  std::size_t cub_scratch = needed - layout.cub_offset;

  const int n = static_cast<int>(count);
  const unsigned blocks = blocks_covering(count, kThreads);
  draw_keys_kernel<<<blocks, kThreads, 0, stream>>>(n, seed, random_stream, step, keys_in,
                                                    positions_in);
  KILN_CUDA_CHECK_LAUNCH("draw_keys_kernel");
  KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(base + layout.cub_offset, cub_scratch, keys_in,
                                                  keys_out, positions_in, positions_out, n, 0, 64,
                                                  stream));
  gather_indices_kernel<<<blocks, kThreads, 0, stream>>>(n, source, positions_out, order);
  KILN_CUDA_CHECK_LAUNCH("gather_indices_kernel");
}

}  // namespace kiln::cuda
