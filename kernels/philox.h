// kiln's random numbers, shared verbatim by the CPU reference and the CUDA kernels so that both
// draw the same numbers for the same key (the only code the two backends share). Dropout masks
// (kernels/dropout_mask.h) and parameter initialisation (kernels/cpu/uniform_init.h) use them.
//
// Philox4x32-10 (Random123) is counter-based: its output is a pure function of a key and a
// counter, with no state to carry between calls or threads. Key = the run's 64-bit seed;
// counter = {group low, group high, stream, step}, where element i belongs to group i / 4 and
// takes lane i % 4 of that group's four 32-bit outputs. tests/golden/philox.py is the same
// function in Python, for the PyTorch fixtures.
#pragma once

#include <Random123/philox.h>

#include <cstdint>

#if defined(__CUDACC__)
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln {

// The four lanes of 32 random bits for elements 4 * group .. 4 * group + 3 of `stream`.
KILN_HOST_DEVICE inline r123::Philox4x32::ctr_type philox_bits(std::uint64_t seed,
                                                               std::uint64_t step,
                                                               std::uint32_t stream,
                                                               std::uint64_t group) {
  const r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const r123::Philox4x32::ctr_type counter = {{static_cast<std::uint32_t>(group),
                                               static_cast<std::uint32_t>(group >> 32), stream,
                                               static_cast<std::uint32_t>(step)}};
  return r123::Philox4x32()(counter, key);
}

// A lane as a uniform number in [0, 1): its top 24 bits, all a float can hold exactly.
KILN_HOST_DEVICE inline float philox_uniform(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1p-24f;
}

}  // namespace kiln
