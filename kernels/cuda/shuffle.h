// Shuffling index lists on the GPU: the CPU reference's permutation (kernels/cpu/shuffle.h), bit
// for bit, so an epoch's batches are the same wherever its order was drawn.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace kiln::cuda {

// Scratch that shuffle_indices needs for `count` indices (keys and positions, twice, and CUB's).
std::size_t shuffle_workspace_bytes(std::int64_t count);

// order[i] = source[permutation[i]], the permutation sorting positions by
// permutation_key(seed, random_stream, step, i), ties by position. Device pointers; order must not
// alias source. std::invalid_argument for a count outside [0, INT32_MAX] or a workspace smaller
// than shuffle_workspace_bytes(count).
void shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t random_stream,
                     std::uint64_t step, const std::int32_t* source, std::int32_t* order,
                     void* workspace, std::size_t workspace_bytes, cudaStream_t stream);

}  // namespace kiln::cuda
