// The C++ side of tests/golden/compact_tensors.py, which keeps fixtures of full-size layers small:
// inputs are redrawn here instead of stored, and large expected outputs are stored as a sample.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/uniform_init.h"
#include "tests/support/fixtures.h"

namespace kiln::testing {

// Input `stream` of a case drawn under `seed`: 2u - 1 (exact in float), u being kiln's Philox
// uniform number for each element at step 0, as philox.uniform_init(shape, 1.0, seed, stream).
inline std::vector<float> drawn_input(std::int64_t count, std::uint64_t seed,
                                      std::uint32_t stream) {
  std::vector<float> values(static_cast<std::size_t>(count));
  cpu::uniform_init(values, 1.0, seed, stream);
  return values;
}

// The elements of `actual` that the fixture stored for `tensor`: all of them, or the sample
// listed in "<tensor>_indices". Compare the result with fixture.floats(case_name, tensor).
// The elements of `actual` at `indices` (a fixture's stored sample); `what` names the tensor
// in the error for an index outside it.
inline std::vector<float> sample_at(std::span<const std::int32_t> indices,
                                    std::span<const float> actual, const std::string& what) {
  std::vector<float> sample;
  for (const std::int32_t index : indices) {
    if (index < 0 || static_cast<std::size_t>(index) >= actual.size()) {
      throw std::out_of_range(what + ": sample index " + std::to_string(index) +
                              " outside the output");
    }
    sample.push_back(actual[static_cast<std::size_t>(index)]);
  }
  return sample;
}

inline std::vector<float> stored_elements(const Fixture& fixture, const std::string& case_name,
                                          const std::string& tensor,
                                          std::span<const float> actual) {
  if (!fixture.has(case_name, tensor + "_indices")) {
    return {actual.begin(), actual.end()};
  }
  return sample_at(fixture.ints(case_name, tensor + "_indices"), actual, case_name + "/" + tensor);
}

}  // namespace kiln::testing
