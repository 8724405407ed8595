// The random order of an epoch (and of the train/validation split), shared verbatim by the CPU
// reference and the CUDA shuffle: positions 0 .. count-1 sorted by a 64-bit Philox key each, ties
// by position. A sort by keys drawn independently per position is a uniform permutation (ties
// among 64-bit keys are vanishingly rare and broken the same way everywhere), and unlike a
// Fisher-Yates shuffle it parallelises: the GPU draws the keys and radix-sorts them.
#pragma once

#include <cstdint>

#include "kernels/philox.h"

namespace kiln {

// Position i takes lanes 2(i%2) and 2(i%2)+1 of Philox group i/2 at (seed, step, stream).
KILN_HOST_DEVICE inline std::uint64_t permutation_key(std::uint64_t seed, std::uint32_t stream,
                                                      std::uint64_t step, std::uint64_t position) {
  const auto bits = philox_bits(seed, step, stream, position / 2);
  const unsigned lane = 2 * static_cast<unsigned>(position % 2);
  return std::uint64_t{bits[lane]} << 32 | bits[lane + 1];
}

}  // namespace kiln
