// Which images a run trains on, and in what order: the seeded train/validation split and each
// epoch's shuffle. Both are the permutation of kernels/permutation_key.h, a pure function of
// (seed, stream, epoch), so a resumed run sees the same batches and the backend that holds the
// data draws each epoch's order where the data lives (Backend::shuffle_indices).
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::data {

// Philox streams of the data pipeline, apart from dropout's (1, 2, ...) and initialisation's.
inline constexpr std::uint32_t kShuffleStream = 0x20000;
inline constexpr std::uint32_t kSplitStream = 0x20001;

struct TrainValidationSplit {
  std::vector<std::int32_t> train;       // ascending
  std::vector<std::int32_t> validation;  // ascending
};

// Holds `validation` of `count` images out at random (torch's random_split, seeded by kiln).
// std::invalid_argument unless 0 <= validation < count.
TrainValidationSplit split_train_validation(std::int64_t count, std::int64_t validation,
                                            std::uint64_t seed);

}  // namespace kiln::data
