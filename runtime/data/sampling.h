// Which images a run trains on, and in what order: the seeded train/validation split and each
// epoch's shuffle. Both are pure functions of (seed, stream, epoch) through kiln's Philox numbers,
// so a resumed run sees the same batches, and a device-side shuffle (a sort by the same keys) can
// reproduce them exactly.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::data {

// Philox streams of the data pipeline, apart from dropout's (1, 2, ...) and initialisation's.
inline constexpr std::uint32_t kShuffleStream = 0x20000;
inline constexpr std::uint32_t kSplitStream = 0x20001;

// A permutation of 0 .. count-1: the positions sorted by a 64-bit Philox key each (element i takes
// lanes 2(i%2) and 2(i%2)+1 of group i/2 at `step`), ties by position.
std::vector<std::int32_t> random_permutation(std::int64_t count, std::uint64_t seed,
                                             std::uint32_t stream, std::uint64_t step);

struct TrainValidationSplit {
  std::vector<std::int32_t> train;       // ascending
  std::vector<std::int32_t> validation;  // ascending
};

// Holds `validation` of `count` images out at random (torch's random_split, seeded by kiln).
// std::invalid_argument unless 0 <= validation < count.
TrainValidationSplit split_train_validation(std::int64_t count, std::int64_t validation,
                                            std::uint64_t seed);

}  // namespace kiln::data
