// Grid sizes for kernels with one thread per element, computed in 64 bits: `count + threads - 1`
// in int overflows for counts near INT32_MAX, which the launchers accept.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace kiln::cuda {

// The blocks of `threads` threads that cover `count` elements; std::invalid_argument when that
// exceeds gridDim.x's limit of 2^31 - 1.
inline unsigned blocks_covering(std::int64_t count, int threads) {
  const std::int64_t blocks = (count + threads - 1) / threads;
  if (count < 0 || threads <= 0 || blocks > INT32_MAX) {
    throw std::invalid_argument("cuda::blocks_covering: no grid of " + std::to_string(threads) +
                                "-thread blocks covers " + std::to_string(count) + " elements");
  }
  return static_cast<unsigned>(blocks);
}

}  // namespace kiln::cuda
