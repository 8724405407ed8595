// The dropout mask, a pure function of (seed, step, mask_stream, element index) drawn from
// kiln's Philox numbers (kernels/philox.h), so the CPU reference and the CUDA kernels draw the
// same mask and backward recomputes it instead of storing it. An element is kept when its
// uniform number is at least p.
#pragma once

#include "kernels/philox.h"

namespace kiln {

KILN_HOST_DEVICE inline bool dropout_keeps(std::uint32_t bits, float p) {
  return philox_uniform(bits) >= p;
}

// Kept elements are scaled so the expected value of the output equals the input.
KILN_HOST_DEVICE inline float dropout_scale(float p) { return 1.0f / (1.0f - p); }

}  // namespace kiln
