// Small host-vector helpers the op tests share.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <vector>

#include "tests/support/random.h"

namespace kiln::testing {

// Outputs start as NaN, so an element an op forgets to write (or adds to) fails the comparison.
inline std::vector<float> unwritten(std::int64_t count) {
  return std::vector<float>(static_cast<std::size_t>(count),
                            std::numeric_limits<float>::quiet_NaN());
}

inline std::vector<float> random_floats(std::int64_t count, std::mt19937_64& rng) {
  return uniform_floats(static_cast<std::size_t>(count), -1.0f, 1.0f, rng);
}

// True when `values` holds 0 .. size-1, each once.
inline bool is_permutation_of_range(std::vector<std::int32_t> values) {
  std::sort(values.begin(), values.end());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != static_cast<std::int32_t>(i)) return false;
  }
  return true;
}

// sum of a[i] * b[i], in double.
inline double inner_product(std::span<const float> a, std::span<const float> b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

inline std::vector<float> absolute(std::span<const float> values) {
  std::vector<float> result(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) result[i] = std::abs(values[i]);
  return result;
}

}  // namespace kiln::testing
