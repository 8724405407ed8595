// The dropout mask, shared verbatim by the CPU reference and the CUDA kernels so that both draw
// the same mask for the same key (the only code the two backends share).
//
// Philox4x32-10 (Random123) is counter-based: its output is a pure function of a key and a
// counter, with no state to carry between calls or threads. Key = the run's 64-bit seed;
// counter = {group low, group high, mask_stream, step}, where element i belongs to group i / 4
// and takes lane i % 4 of that group's four 32-bit outputs. An element is kept when the top 24
// bits of its lane, read as a uniform number in [0, 1), are at least p.
// tests/golden/philox.py is the same function in Python, for the PyTorch fixtures.
#pragma once

#include <Random123/philox.h>

#include <cstdint>

#if defined(__CUDACC__)
#define KILN_HOST_DEVICE __host__ __device__
#else
#define KILN_HOST_DEVICE
#endif

namespace kiln {

// The four lanes of 32 random bits for elements 4 * group .. 4 * group + 3.
KILN_HOST_DEVICE inline r123::Philox4x32::ctr_type dropout_bits(std::uint64_t seed,
                                                                std::uint64_t step,
                                                                std::uint32_t mask_stream,
                                                                std::uint64_t group) {
  const r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const r123::Philox4x32::ctr_type counter = {{static_cast<std::uint32_t>(group),
                                               static_cast<std::uint32_t>(group >> 32), mask_stream,
                                               static_cast<std::uint32_t>(step)}};
  return r123::Philox4x32()(counter, key);
}

// 24 bits are all a float in [0, 1) can hold exactly.
KILN_HOST_DEVICE inline float dropout_uniform(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * 0x1p-24f;
}

KILN_HOST_DEVICE inline bool dropout_keeps(std::uint32_t bits, float p) {
  return dropout_uniform(bits) >= p;
}

// Kept elements are scaled so the expected value of the output equals the input.
KILN_HOST_DEVICE inline float dropout_scale(float p) { return 1.0f / (1.0f - p); }

}  // namespace kiln
