// Uniform parameter initialisation from kiln's Philox numbers (kernels/philox.h), so a seed gives
// the same weights whatever backend then trains them, and the PyTorch fixtures
// (tests/golden/philox.py: uniform_init) can start from the very same values.
#pragma once

#include <cstdint>
#include <span>

namespace kiln::cpu {

// values[i] = (2u - 1) * bound in double, rounded to float once, where u is the uniform number
// of element i of `stream` under `seed` at step 0.
void uniform_init(std::span<float> values, double bound, std::uint64_t seed, std::uint32_t stream);

}  // namespace kiln::cpu
