// Shuffling index lists, the CPU reference: the permutation of kernels/permutation_key.h, by a
// sort of (key, position) pairs.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::cpu {

// A permutation of 0 .. count-1: the positions sorted by permutation_key(seed, stream, step, i),
// ties by position. std::invalid_argument unless 0 <= count <= INT32_MAX.
std::vector<std::int32_t> random_permutation(std::int64_t count, std::uint64_t seed,
                                             std::uint32_t stream, std::uint64_t step);

// order[i] = source[permutation[i]] for that permutation; order must not alias source.
void shuffle_indices(std::int64_t count, std::uint64_t seed, std::uint32_t stream,
                     std::uint64_t step, const std::int32_t* source, std::int32_t* order);

}  // namespace kiln::cpu
